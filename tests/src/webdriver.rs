//! A minimal W3C WebDriver client over reqwest, driving a headless Chromium through `chromedriver`
//! (Debian's `chromium` and `chromium-driver`; `scripts/test.sh` installs them).
//!
//! Without `chromedriver` on `PATH` the browser tests are skipped, unless `AUTH_TEST_REQUIRE_BROWSER`
//! is set, in which case they fail ([`Driver::start_or_skip`]). Every wait polls with a deadline.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference (W3C WebDriver §12.1).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to answer `/status` with `ready: true`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the waits poll.
const POLL: Duration = Duration::from_millis(50);
/// The longest a single WebDriver command may take (a page load included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong talking to the browser.
#[derive(Debug)]
pub enum WebDriverError {
    /// `chromedriver` is not on `PATH`.
    NotInstalled,
    /// `chromedriver` could not be started, or never said it was ready.
    Start(String),
    /// The HTTP exchange with `chromedriver` failed.
    Http(reqwest::Error),
    /// WebDriver answered with an error (W3C WebDriver §6.6), e.g. `no such element`.
    Protocol {
        /// HTTP status.
        status: u16,
        /// The WebDriver error code.
        error: String,
        /// Its message.
        message: String,
    },
    /// A wait passed its deadline.
    Timeout(String),
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInstalled => write!(
                f,
                "chromedriver is not on PATH (apt-get install chromium chromium-driver)"
            ),
            Self::Start(m) => write!(f, "cannot start chromedriver: {m}"),
            Self::Http(e) => write!(f, "WebDriver HTTP error: {e}"),
            Self::Protocol {
                status,
                error,
                message,
            } => write!(f, "WebDriver error {status} {error}: {message}"),
            Self::Timeout(m) => write!(f, "timed out: {m}"),
        }
    }
}

impl std::error::Error for WebDriverError {}

impl From<reqwest::Error> for WebDriverError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

/// A WebDriver result.
pub type Result<T, E = WebDriverError> = std::result::Result<T, E>;

/// A browser session on a `chromedriver` this process started. Dropping it ends the session (the
/// browser exits) and kills `chromedriver`.
#[derive(Debug)]
pub struct Driver {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT` of chromedriver.
    base: String,
    /// `{base}/session/{id}`.
    session: String,
    child: Child,
}

/// An element found on the current page.
#[derive(Debug)]
pub struct Element<'a> {
    driver: &'a Driver,
    id: String,
}

/// `name` found in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A port nothing listens on right now.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| WebDriverError::Start(format!("no free port: {e}")))
}

impl Driver {
    /// Starts `chromedriver` and a headless Chromium session, or returns `None` (the test is then
    /// skipped) when `chromedriver` is not installed and `AUTH_TEST_REQUIRE_BROWSER` is not set.
    ///
    /// # Panics
    /// When the browser is required but missing, or is installed but does not start.
    pub async fn start_or_skip() -> Option<Self> {
        match Self::start().await {
            Ok(d) => Some(d),
            Err(WebDriverError::NotInstalled)
                if std::env::var_os("AUTH_TEST_REQUIRE_BROWSER").is_none() =>
            {
                eprintln!(
                    "chromedriver is not on PATH: browser test skipped (scripts/test.sh installs it)"
                );
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts `chromedriver` on a free port, waits until it is ready, and opens a headless Chromium
    /// session.
    pub async fn start() -> Result<Self> {
        let binary = on_path("chromedriver").ok_or(WebDriverError::NotInstalled)?;
        // The free port may be taken between our probe and chromedriver's bind: then chromedriver
        // exits at once, and another port is tried.
        let mut attempts = 3;
        loop {
            attempts -= 1;
            match Self::start_on(&binary, free_port()?).await {
                Err(WebDriverError::Start(m)) if attempts > 0 && m.contains("exited") => {
                    eprintln!("{m}; trying another port");
                }
                done => return done,
            }
        }
    }

    async fn start_on(binary: &Path, port: u16) -> Result<Self> {
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| WebDriverError::Start(format!("{}: {e}", binary.display())))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        // From here on, Drop kills chromedriver whatever happens.
        let mut driver = Self {
            http,
            base,
            session: String::new(),
            child,
        };
        driver.wait_ready().await?;
        let mut options = json!({
            // The background-networking flags keep Chromium from dialling Google's hosts at start,
            // which a machine without internet access refuses (slowly, many connections at once).
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"
            ],
        });
        if Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let caps = json!({
            "capabilities": {
                "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": options }
            }
        });
        let created = driver
            .send(
                reqwest::Method::POST,
                &format!("{}/session", driver.base),
                Some(caps),
            )
            .await?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| WebDriverError::Start(format!("no sessionId in {created}")))?;
        driver.session = format!("{}/session/{id}", driver.base);
        Ok(driver)
    }

    /// Polls `/status` until chromedriver says it is ready (or exits, or the deadline passes).
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = format!("{}/status", self.base);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(WebDriverError::Start(format!(
                    "chromedriver exited: {status}"
                )));
            }
            if let Ok(res) = self.http.get(&url).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(WebDriverError::Start(format!(
                    "not ready after {START_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends one command and returns the `value` of the answer.
    async fn send(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value> {
        let mut req = self.http.request(method.clone(), url);
        // W3C WebDriver: POST bodies are JSON objects, even empty ones.
        if method == reqwest::Method::POST {
            req = req.json(&body.unwrap_or_else(|| json!({})));
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let mut answer: Value = res.json().await?;
        let value = answer["value"].take();
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(WebDriverError::Protocol {
                status,
                error: value["error"].as_str().unwrap_or("?").to_owned(),
                message: value["message"].as_str().unwrap_or("").to_owned(),
            })
        }
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.send(
            reqwest::Method::GET,
            &format!("{}{path}", self.session),
            None,
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.send(
            reqwest::Method::POST,
            &format!("{}{path}", self.session),
            Some(body),
        )
        .await
    }

    /// Navigates to `url` and waits until the page has loaded (redirects followed).
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> Result<String> {
        Ok(self
            .get("/url")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The current page's HTML as the browser now has it.
    pub async fn page_source(&self) -> Result<String> {
        Ok(self
            .get("/source")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The first element matching the CSS selector; `no such element` if there is none.
    pub async fn find(&self, css: &str) -> Result<Element<'_>> {
        let found = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await?;
        let id = found[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| WebDriverError::Protocol {
                status: 200,
                error: "bad element reference".into(),
                message: found.to_string(),
            })?;
        Ok(Element {
            driver: self,
            id: id.to_owned(),
        })
    }

    /// The first element matching the CSS selector, if there is one now.
    pub async fn try_find(&self, css: &str) -> Result<Option<Element<'_>>> {
        match self.find(css).await {
            Ok(e) => Ok(Some(e)),
            Err(WebDriverError::Protocol { error, .. }) if error == "no such element" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls until an element matches the CSS selector, for at most `timeout`. The error names the
    /// page the browser is on and its HTML, to show what appeared instead.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.try_find(css).await? {
                return Ok(e);
            }
            if Instant::now() >= deadline {
                let url = self.current_url().await.unwrap_or_default();
                let source = self.page_source().await.unwrap_or_default();
                return Err(WebDriverError::Timeout(format!(
                    "no `{css}` after {timeout:?}; the browser is on {url}:\n{source}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until one of `selectors` matches, for at most `timeout`, and returns the first that
    /// does, with its element. For pages without scripts, whose content is final once loaded: a page
    /// that has finished loading (`document.readyState` is `complete`) and matches none of them ends
    /// the wait at once with a [`WebDriverError::Timeout`] naming the page and its HTML.
    pub async fn wait_for_any(
        &self,
        selectors: &[&str],
        timeout: Duration,
    ) -> Result<(String, Element<'_>)> {
        let deadline = Instant::now() + timeout;
        loop {
            // Read the state first: a page complete before the search cannot change under it.
            let complete = self
                .execute("return document.readyState;", Vec::new())
                .await?
                == "complete";
            for css in selectors {
                if let Some(e) = self.try_find(css).await? {
                    return Ok(((*css).to_owned(), e));
                }
            }
            if complete || Instant::now() >= deadline {
                let url = self.current_url().await.unwrap_or_default();
                let source = self.page_source().await.unwrap_or_default();
                let why = if complete {
                    "the page has loaded".to_owned()
                } else {
                    format!("after {timeout:?}")
                };
                return Err(WebDriverError::Timeout(format!(
                    "none of {selectors:?} ({why}); the browser is on {url}:\n{source}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The cookies visible to the current page (HttpOnly ones included), as WebDriver serialises
    /// them: `name`, `value`, `path`, `domain`, `secure`, `httpOnly`, `expiry`, `sameSite`.
    pub async fn cookies(&self) -> Result<Vec<Value>> {
        Ok(match self.get("/cookie").await? {
            Value::Array(all) => all,
            _ => Vec::new(),
        })
    }

    /// The cookie named `name` visible to the current page, if any.
    pub async fn cookie(&self, name: &str) -> Result<Option<Value>> {
        Ok(self
            .cookies()
            .await?
            .into_iter()
            .find(|c| c["name"] == name))
    }

    /// Deletes the cookies visible to the current page (W3C "Delete All Cookies": the current
    /// document's domain only).
    pub async fn delete_cookies(&self) -> Result<()> {
        self.send(
            reqwest::Method::DELETE,
            &format!("{}/cookie", self.session),
            None,
        )
        .await
        .map(drop)
    }

    /// Ends the session (the browser exits); chromedriver is killed when the driver is dropped.
    pub async fn quit(mut self) -> Result<()> {
        let session = std::mem::take(&mut self.session);
        self.send(reqwest::Method::DELETE, &session, None)
            .await
            .map(drop)
    }
}

impl Element<'_> {
    /// Types `text` into the element.
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.driver
            .post(
                &format!("/element/{}/value", self.id),
                json!({ "text": text }),
            )
            .await
            .map(drop)
    }

    /// Clicks the element.
    pub async fn click(&self) -> Result<()> {
        self.driver
            .post(&format!("/element/{}/click", self.id), json!({}))
            .await
            .map(drop)
    }

    /// The element's rendered text.
    pub async fn text(&self) -> Result<String> {
        Ok(self
            .driver
            .get(&format!("/element/{}/text", self.id))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Polls until the element is no longer in the page, for at most `timeout`: after a click that
    /// submits a form, this is the old page gone (the next page may still be loading).
    pub async fn wait_stale(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.driver.get(&format!("/element/{}/name", self.id)).await {
                Ok(_) => {}
                // The element's document is gone ("no such element" when the reference belongs to
                // a document the browser no longer has).
                Err(WebDriverError::Protocol { error, .. })
                    if error == "stale element reference" || error == "no such element" =>
                {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                let url = self.driver.current_url().await.unwrap_or_default();
                return Err(WebDriverError::Timeout(format!(
                    "the element is still on {url} after {timeout:?}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The value of the attribute or property `name` (W3C "Get Element Property").
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.driver
            .get(&format!("/element/{}/property/{name}", self.id))
            .await
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Drop cannot await: end the session with a blocking request on a plain socket so that
            // chromedriver closes the browser before it is killed (killed first, it leaves Chromium
            // running).
            delete_session_blocking(&self.base, &self.session);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `DELETE {session}` with std's blocking socket, bounded by timeouts.
fn delete_session_blocking(base: &str, session: &str) {
    use std::io::{Read, Write};
    let Some(addr) = base.strip_prefix("http://") else {
        return;
    };
    let path = session.strip_prefix(base).unwrap_or(session);
    let Ok(addr) = addr.parse::<std::net::SocketAddr>() else {
        return;
    };
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        // Read the answer: chromedriver answers once the browser is closed.
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}
