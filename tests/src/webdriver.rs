//! A minimal W3C WebDriver client over reqwest, driving a headless Chromium through `chromedriver`
//! (Debian's `chromium` and `chromium-driver`; `scripts/test.sh` installs them).
//!
//! Without `chromedriver` on `PATH` the browser tests are skipped, unless `AUTH_TEST_REQUIRE_BROWSER`
//! is set, in which case they fail ([`Driver::start_or_skip`]). Every wait polls with a deadline.

use std::fmt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod capture;
mod element;
mod process;
mod webauthn;

pub use capture::{ColorScheme, Screenshots};
use process::{free_port, on_path};
pub use webauthn::VirtualAuthenticator;

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

    /// Types `text` into the first element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        self.find(css).await?.send_keys(text).await
    }

    /// Clicks the first element matching `css` and waits, for at most `timeout`, until it is gone
    /// from the page ([`Element::wait_stale`]): the submit button of a form.
    pub async fn submit_by(&self, css: &str, timeout: Duration) -> Result<()> {
        let button = self.find(css).await?;
        button.click().await?;
        button.wait_stale(timeout).await
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

    /// Waits for one of `selectors` ([`Driver::wait_for_any`]) and asserts it is `expected`.
    /// Listing the wrong pages too makes a wrong turn fail at once, with the page it led to.
    ///
    /// # Panics
    /// When another selector matched, or none did, naming the page the browser is on.
    pub async fn expect_page(
        &self,
        expected: &str,
        selectors: &[&str],
        timeout: Duration,
    ) -> Element<'_> {
        let (found, element) = self
            .wait_for_any(selectors, timeout)
            .await
            .unwrap_or_else(|e| panic!("waiting for {expected}: {e}"));
        if found != expected {
            let url = self.current_url().await.unwrap_or_default();
            let source = self.page_source().await.unwrap_or_default();
            panic!("expected {expected}, got {found} at {url}:\n{source}");
        }
        element
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
