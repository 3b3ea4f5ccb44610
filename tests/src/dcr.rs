//! Dynamic client registration under test (RFC 7591, RFC 7592): an IdP with registration on,
//! initial access tokens made through the registry, and registration requests as a partner's
//! automation sends them.

use auth_server::domain::audit::{Actor, RequestMeta};
use auth_server::domain::clients::NewRegistrationToken;
use reqwest::Method;
use serde_json::Value;

use crate::{Backend, TestServer};

/// An IdP with `registration.enabled`.
pub async fn dcr_server(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |c| c.registration.enabled = true).await
}

/// The resource indicator every initial access token of these tests allows.
pub const RESOURCE: &str = "https://api.partner.example";

/// An initial access token allowing `scopes` (and [`RESOURCE`]), `max_uses` registrations, for
/// `expires_in` seconds; returns `(token id, token)`.
pub async fn initial_token(
    s: &TestServer,
    scopes: &[&str],
    max_uses: Option<i64>,
    expires_in: Option<i64>,
) -> (String, String) {
    let new = NewRegistrationToken {
        expires_in_secs: expires_in,
        max_uses,
        allowed_scopes: crate::owned(scopes),
        allowed_resources: vec![RESOURCE.to_owned()],
    };
    let (record, token) = s
        .app
        .clients
        .create_registration_token(new, &Actor::Admin("test".into()), &RequestMeta::default())
        .await
        .unwrap();
    (record.id, token)
}

/// An answer: status, `WWW-Authenticate` (if any), JSON body (`Null` if none).
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The `WWW-Authenticate` header.
    pub challenge: Option<String>,
    /// The `Cache-Control` header.
    pub cache_control: Option<String>,
    /// The body.
    pub body: Value,
}

impl Answer {
    /// The string `field` of the body.
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.body))
            .to_owned()
    }

    /// Asserts an RFC 6750 `invalid_token` refusal (401 with a `Bearer` challenge).
    #[track_caller]
    pub fn assert_invalid_token(&self) {
        assert_eq!(self.status, 401, "{}", self.body);
        assert_eq!(self.body["error"], "invalid_token", "{}", self.body);
        let c = self.challenge.as_deref().unwrap_or_default();
        assert!(c.starts_with("Bearer"), "{c:?}");
    }

    /// Asserts a 400 with RFC 7591 §3.2.2 error `error`.
    #[track_caller]
    pub fn assert_refused(&self, error: &str) {
        assert_eq!(self.status, 400, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert!(self.body["error_description"].is_string(), "{}", self.body);
    }
}

/// `method url` with bearer `token` (if any) and JSON `body` (if any).
pub async fn call(
    s: &TestServer,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut req = s.http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    send(req).await
}

/// Sends `req` and reads its answer.
pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    let res = req.send().await.unwrap();
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (challenge, cache_control) = (header("www-authenticate"), header("cache-control"));
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    Answer {
        status,
        challenge,
        cache_control,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// `POST /register` with `token` and `metadata`.
pub async fn register(s: &TestServer, token: Option<&str>, metadata: &Value) -> Answer {
    let url = format!("{}/register", s.base);
    call(s, Method::POST, &url, token, Some(metadata)).await
}
