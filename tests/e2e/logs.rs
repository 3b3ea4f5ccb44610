//! The logs: with everything logged at TRACE, in JSON, a whole flow (client credentials with both
//! client authentication methods and both algorithms, sign-in, code, refresh, introspection,
//! userinfo, revocation, logout) leaves no secret it used in any line; and every request leaves
//! exactly one access-log line with its route, status and, where a client authenticated, its id.
//!
//! The capturing subscriber is the production one ([`http_serve::log_dispatch`], JSON) writing to
//! a buffer. It is installed process-wide when it can be (nextest runs each test in its own
//! process), with the `log` crate's records routed to it, so lines from the signing and hashing
//! threads are searched too; and for the test's thread in any case: the flow runs on that one
//! thread (a current-thread runtime), server included.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_core::Alg;
use base64::Engine;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use tests::oauth::{Agent, Pkce, encode_form, first_party};
use tests::responses::TokenResponse;
use tests::sso_support::userinfo;
use tests::{Backend, TestServer, basic};

mod no_secret_in_any_line {
    #[test]
    fn sqlite() {
        super::run(::tests::Backend::Sqlite);
    }
    #[test]
    fn postgres() {
        if ::tests::postgres_available() {
            super::run(::tests::Backend::Postgres);
        }
    }
}

/// A password no other test uses, with characters that change when form-encoded.
const PASSWORD: &str = "Leak canary/7f3k+2 ü";

/// The log lines written so far.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
            .collect()
    }
}

fn run(backend: Backend) {
    let capture = Capture::default();
    let writer = capture.clone();
    let dispatch =
        http_serve::log_dispatch(http_serve::LogFormat::Json, "trace", move || writer.clone());
    let global = http_serve::install_dispatch(dispatch.clone()).is_ok();
    if !global {
        eprintln!("a global subscriber is set already: capturing this thread only");
    }
    let _this_thread = tracing::dispatcher::set_default(&dispatch);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(flow(backend, &capture));
}

/// What the flow used that must stay out of the logs, and the requests it made.
#[derive(Default)]
struct Record {
    secrets: Vec<(String, String)>,
    requests: Vec<(&'static str, &'static str, u16, Option<String>)>,
}

impl Record {
    fn secret(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 8, "{what} is too short to search for");
        self.secrets.push((what.to_owned(), value.to_owned()));
    }

    fn token(&mut self, what: &str, token: &str) {
        self.secret(what, token);
        // A JWT's signature alone is as unique as the token.
        if let Some(sig) = token.split('.').nth(2) {
            self.secret(&format!("{what} signature"), sig);
        }
    }

    fn request(
        &mut self,
        method: &'static str,
        route: &'static str,
        status: u16,
        client: Option<&str>,
    ) {
        self.requests
            .push((method, route, status, client.map(str::to_owned)));
    }
}

async fn flow(backend: Backend, capture: &Capture) {
    // The search finds what is there: a marker logged at TRACE is captured.
    let marker = format!("capture-marker-{}", auth_server::domain::random::token(8));
    tracing::trace!(%marker, "self-check");
    assert!(
        capture
            .lines()
            .iter()
            .any(|l| l["marker"] == marker.as_str())
    );

    let s = TestServer::start(backend).await;
    let mut rec = Record::default();

    // Client credentials: Basic with ES256, client_secret_post with RS256.
    let (es, es_secret) = s
        .client("svc-es", Alg::Es256, &["x"], &["https://api"])
        .await;
    let (rs, rs_secret) = s
        .client("svc-rs", Alg::Rs256, &["x"], &["https://api"])
        .await;
    rec.secret("client secret (ES256 client)", &es_secret);
    rec.secret("client secret (RS256 client)", &rs_secret);
    let auth = basic(&es, &es_secret);
    rec.secret("Authorization header", &auth);
    rec.secret("Basic credentials", auth.trim_start_matches("Basic "));
    let cc = s.cc_token(&es, &es_secret, "").await;
    rec.token(
        "client-credentials access token (ES256)",
        cc["access_token"].as_str().unwrap(),
    );
    rec.request("POST", "/token", 200, Some(&es));
    let res = s
        .post_token(
            encode_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &rs),
                ("client_secret", &rs_secret),
            ]),
            &[],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    rec.token(
        "client-credentials access token (RS256)",
        body["access_token"].as_str().unwrap(),
    );
    rec.request("POST", "/token", 200, Some(&rs));
    // A wrong secret: refused, and the claimed client is not logged as authenticated.
    let res = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic(&es, "wrong-secret-value"))],
        )
        .await;
    assert_eq!(res.status(), 401);
    rec.secret("wrong client secret", "wrong-secret-value");
    rec.request("POST", "/token", 401, None);

    // Sign-in and the code.
    s.user("logan", PASSWORD).await;
    rec.secret("password", PASSWORD);
    let app = s
        .web_client("app", first_party().post_logout("https://app.example/bye"))
        .await;
    let app_secret = app.secret.clone().unwrap();
    rec.secret("web client secret", &app_secret);
    rec.secret(
        "web client Authorization header",
        &basic(&app.id, &app_secret),
    );
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    rec.secret("code_verifier", &pkce.verifier);
    let login = browser
        .get(&s.authorize_url(&app, &pkce, "openid offline_access", &[]))
        .await;
    assert_eq!(login.status, 200);
    rec.request("GET", "/authorize", 200, None);
    rec.secret("login CSRF token", &login.hidden("csrf").unwrap());
    let cookies_before = browser.cookies.clone();
    let done = s.sign_in(&mut browser, &login, "logan", PASSWORD).await;
    rec.request("POST", "/login", done.status, None);
    let code = done.location_param("code").expect("a code");
    rec.secret("authorization code", &code);
    for (name, value) in cookies_before.iter().chain(browser.cookies.iter()) {
        rec.secret(&format!("cookie {name}"), value);
    }

    // Code, refresh, introspection, userinfo.
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    rec.request("POST", "/token", 200, Some(&app.id));
    let first = TokenResponse::parse(&body);
    rec.token("access token", &first.access_token);
    rec.token("ID token", first.id());
    rec.secret("refresh token", first.refresh());
    let (status, body) = s.refresh(&app, first.refresh(), None).await;
    assert_eq!(status, 200, "{body}");
    rec.request("POST", "/token", 200, Some(&app.id));
    let second = TokenResponse::parse(&body);
    rec.token("refreshed access token", &second.access_token);
    rec.token("refreshed ID token", second.id());
    rec.secret("rotated refresh token", second.refresh());
    assert_eq!(
        s.introspect(&app, &second.access_token).await["active"],
        true
    );
    rec.request("POST", "/introspect", 200, Some(&app.id));
    assert_eq!(s.introspect(&app, second.refresh()).await["active"], true);
    rec.request("POST", "/introspect", 200, Some(&app.id));
    let (status, _) = userinfo(&s, &second.access_token).await;
    assert_eq!(status, 200);
    rec.request("GET", "/userinfo", 200, None);
    rec.secret(
        "bearer Authorization header",
        &format!("Bearer {}", second.access_token),
    );

    // Revocation; the revoked token refused; reuse of the first refresh token detected.
    let (status, _) = s
        .endpoint_as("/revoke", &app, &[("token", second.refresh())])
        .await;
    assert_eq!(status, 200);
    rec.request("POST", "/revoke", 200, Some(&app.id));
    let (status, _) = s.refresh(&app, second.refresh(), None).await;
    assert_eq!(status, 400);
    rec.request("POST", "/token", 400, Some(&app.id));
    let (status, _) = s.refresh(&app, first.refresh(), None).await;
    assert_eq!(status, 400);
    rec.request("POST", "/token", 400, Some(&app.id));

    // The code replayed: refused, and logged as an attack (inside the request's span).
    let (status, _) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 400);
    rec.request("POST", "/token", 400, Some(&app.id));

    // Logout: the confirmation page and its form (CSRF), then with an ID token hint.
    let confirm = browser.get(&format!("{}/logout", s.base)).await;
    assert_eq!(confirm.status, 200);
    rec.request("GET", "/logout", 200, None);
    rec.secret("logout CSRF token", &confirm.hidden("csrf").unwrap());
    for (name, value) in &browser.cookies {
        rec.secret(&format!("cookie {name} at logout"), value);
    }
    let out = browser
        .submit(&confirm, &format!("{}/logout", s.base), &[])
        .await;
    assert!(out.status < 400, "{} {}", out.status, out.body);
    rec.request("POST", "/logout", out.status, None);
    let hinted = browser
        .get(&tests::sso_support::logout_url(
            &s,
            first.id(),
            "https://app.example/bye",
            "st",
        ))
        .await;
    assert_eq!(hinted.status, 302, "{}", hinted.body);
    rec.request("GET", "/logout", 302, None);

    let lines = capture.lines();
    if std::env::var("DUMP_LOGS").is_ok() {
        for l in &lines {
            eprintln!("{l}");
        }
    }
    assert_no_secret(&lines, &rec.secrets);
    assert_access_log(&lines, &rec.requests);
    // Debug logging was on for the server's own modules (not only the access log).
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "DEBUG" || l["level"] == "TRACE"),
        "nothing below INFO was captured"
    );
}

/// Every way a secret could be written: as is, form-encoded, percent-encoded, base64.
fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_owned(),
        encode_form(&[("x", secret)])
            .trim_start_matches("x=")
            .to_owned(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        // As a JSON string escapes it (quotes and non-ASCII stay readable in serde_json).
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_owned(),
    ];
    out.sort();
    out.dedup();
    out
}

fn assert_no_secret(lines: &[Value], secrets: &[(String, String)]) {
    let texts: Vec<String> = lines.iter().map(Value::to_string).collect();
    let raw: Vec<String> = lines
        .iter()
        .map(|l| serde_json::to_string(l).unwrap())
        .collect();
    assert!(texts.len() > 50, "only {} lines captured", texts.len());
    for (what, secret) in secrets {
        for spelling in spellings(secret) {
            for line in texts.iter().chain(&raw) {
                assert!(
                    !line.contains(&spelling),
                    "the {what} reached the log: {line}"
                );
            }
        }
    }
}

fn assert_access_log(
    lines: &[Value],
    expected: &[(&'static str, &'static str, u16, Option<String>)],
) {
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "auth_server::access")
        .collect();
    let got: Vec<(String, String, u16, Option<String>)> = access
        .iter()
        .map(|l| {
            assert_eq!(l["level"], "INFO", "{l}");
            assert!(l["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{l}");
            (
                l["method"].as_str().unwrap().to_owned(),
                l["route"].as_str().unwrap().to_owned(),
                u16::try_from(l["status"].as_u64().unwrap()).unwrap(),
                l["client_id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let want: Vec<(String, String, u16, Option<String>)> = expected
        .iter()
        .map(|(m, r, s, c)| ((*m).to_owned(), (*r).to_owned(), *s, c.clone()))
        .collect();
    assert_eq!(got, want, "one access-log line per request, in order");
    // Every request has its own id, and lines logged while it was answered carry it.
    let ids: BTreeMap<&str, usize> = access
        .iter()
        .map(|l| l["request_id"].as_str().unwrap())
        .fold(BTreeMap::new(), |mut m, id| {
            *m.entry(id).or_default() += 1;
            m
        });
    assert_eq!(ids.len(), access.len(), "request ids are unique: {ids:?}");
    assert!(
        lines.iter().any(|l| l["span"]["request_id"]
            .as_str()
            .is_some_and(|id| ids.contains_key(id))),
        "lines logged inside a request name it"
    );
}
