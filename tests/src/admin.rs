//! The admin API under test: a [`TestServer`] plus its admin listener (the production
//! `admin_router`, on its own ephemeral port), admin clients and their tokens, and requests with a
//! bearer token.

use auth_core::Alg;
use auth_server::config::Config;
use reqwest::Method;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Backend, TestServer, new_client};

/// Both admin scopes.
pub const ADMIN_SCOPES: &[&str] = &["admin:read", "admin:write"];

/// An IdP with its admin listener.
#[allow(missing_debug_implementations)]
pub struct AdminServer {
    /// The IdP (its public listener).
    pub s: TestServer,
    /// `http://127.0.0.1:PORT/admin/v1` on the admin listener.
    pub api: String,
    task: JoinHandle<()>,
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AdminServer {
    /// On a fresh database with the base configuration.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// On a fresh database, letting the test adjust the configuration.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::on(TestServer::start_with(backend, tweak).await).await
    }

    /// Serves `s`'s admin router (as `App::serve` does: keys and revocation feed fetched from the
    /// public listener over loopback) on a new ephemeral port.
    pub async fn on(s: TestServer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}/admin/v1", listener.local_addr().unwrap());
        let state = s
            .app
            .http_state()
            .with_public_addr(s.addr().parse().unwrap());
        let router = auth_server::http::ops::admin_router(state);
        let limits = s.app.config.server.limits();
        let task = tokio::spawn(auth_server::http::serve(
            listener,
            router,
            limits,
            std::future::pending(),
        ));
        Self { s, api, task }
    }

    /// The configured admin audience.
    pub fn audience(&self) -> String {
        self.s.app.config.admin.audience.clone()
    }

    /// Registers client `id` with `scopes` for the admin audience; returns its secret.
    pub async fn admin_client(&self, id: &str, scopes: &[&str]) -> String {
        let audience = self.audience();
        let (_, secret) = self
            .s
            .app
            .clients
            .create(new_client(id, Alg::Es256, scopes, &[audience.as_str()]))
            .await
            .unwrap();
        secret.unwrap()
    }

    /// A client-credentials access token of a new admin client `id` with `scopes`.
    pub async fn token(&self, id: &str, scopes: &[&str]) -> String {
        let secret = self.admin_client(id, scopes).await;
        self.s.cc_access_token(id, &secret).await
    }

    /// `method path` (under `/admin/v1`) with `token` (if any) and a JSON `body` (if any).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.s.http.request(method, format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// `method path` with `token` and `body`, asserting status `want`; returns the JSON body (or
    /// `Null` when there is none).
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        want: u16,
    ) -> Value {
        let res = self.call(method.clone(), path, Some(token), body).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, want, "{method} {path}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }
}

/// Asserts `res` is an RFC 9457 problem of `status`; returns its body.
pub async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    body
}
