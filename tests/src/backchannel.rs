//! Back-channel logout in the end-to-end tests: a receiver standing in for the clients'
//! `backchannel_logout_uri`s (one path per client, answering a status the test chooses and
//! recording every POST), clients registered with it, and sign-ins that give several clients
//! tokens in one SSO session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_server::domain::clients::NewClient;
use auth_verifier::{IssuerConfig, LogoutTokenVerifier, Policy, Verifier};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use reqwest::Url;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::oauth::{Agent, Pkce, WebClient};
use crate::responses::TokenResponse;
use crate::sso_support::PW;
use crate::{TestServer, decode_segment, new_client};

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The client path it came to.
    pub client: String,
    /// The `logout_token` form field.
    pub token: String,
    /// Its header, decoded (not verified).
    pub header: Value,
    /// Its claims, decoded (not verified).
    pub claims: Value,
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    status: Mutex<HashMap<String, u16>>,
}

/// Stands in for the clients' back-channel logout endpoints: `POST /bcl/{client}`.
#[derive(Debug)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Listens on an ephemeral port; answers 200 until told otherwise.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/bcl/{client}", post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { base, shared, task }
    }

    /// The URI of `client`'s endpoint.
    pub fn uri(&self, client: &str) -> String {
        format!("{}/bcl/{client}", self.base)
    }

    /// Makes `client`'s endpoint answer `status`.
    pub fn answer(&self, client: &str, status: u16) {
        self.shared
            .status
            .lock()
            .unwrap()
            .insert(client.to_owned(), status);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// What `client` received.
    pub fn for_client(&self, client: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.client == client)
            .collect()
    }

    /// Waits (polling, at most 20 s) until `done` holds for what was received; panics otherwise.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Received]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if done(&self.received()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; received {:?}",
                self.received()
                    .iter()
                    .map(|r| (&r.client, &r.claims))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(client): Path<String>,
    body: String,
) -> StatusCode {
    let form: HashMap<String, String> = Url::parse(&format!("http://x/?{body}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let token = form.get("logout_token").cloned().unwrap_or_default();
    let status = shared
        .status
        .lock()
        .unwrap()
        .get(&client)
        .copied()
        .unwrap_or(200);
    let (header, claims) = if token.split('.').count() == 3 {
        (decode_segment(&token, 0), decode_segment(&token, 1))
    } else {
        (Value::Null, Value::Null)
    };
    shared.received.lock().unwrap().push(Received {
        client,
        token,
        header,
        claims,
    });
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Registers a first-party client `id` for the code flow (redirect `https://{id}.example/cb`,
/// scopes `openid profile offline_access`) whose back-channel logout URI is `bcl` (if any).
pub async fn bcl_client(s: &TestServer, id: &str, bcl: Option<String>) -> WebClient {
    let redirect_uri = format!("https://{id}.example/cb");
    let scopes = ["openid", "profile", "offline_access"];
    let new = NewClient {
        name: format!("App {id}"),
        default_scopes: vec!["openid".to_owned()],
        redirect_uris: vec![redirect_uri.clone()],
        first_party: true,
        backchannel_logout_uri: bcl,
        ..new_client(id, auth_core::Alg::Es256, &scopes, &[])
    };
    let (c, secret) = s.app.clients.create(new).await.unwrap();
    WebClient {
        id: c.id,
        secret,
        redirect_uri,
    }
}

/// Signs `user` in (unless `browser` has a session) and redeems a code for each of `apps`;
/// returns the token responses and the session id (the ID tokens' `sid`).
pub async fn sign_in_to(
    s: &TestServer,
    browser: &mut Agent,
    user: &str,
    apps: &[&WebClient],
) -> (Vec<TokenResponse>, String) {
    let mut out = Vec::new();
    for app in apps {
        let pkce = Pkce::new();
        let code = s
            .code_for(browser, app, &pkce, "openid profile", user, PW)
            .await;
        let (status, body) = s.redeem(app, &code, &pkce.verifier).await;
        assert_eq!(status, 200, "{body}");
        out.push(TokenResponse::parse(&body));
    }
    let sid = decode_segment(out[0].id_token.as_deref().unwrap(), 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    (out, sid)
}

/// A logout-token verifier for `client` against the IdP `s`, on the IdP's clock.
pub async fn logout_verifier(s: &TestServer, client: &str) -> LogoutTokenVerifier {
    let keys = Verifier::builder(Policy::new(client))
        .issuer(IssuerConfig::auth_server(&s.base))
        .clock(Arc::new(s.clock.clone()))
        .build()
        .await
        .unwrap();
    LogoutTokenVerifier::new(keys, client)
}

/// Drains `s`'s outbox until a pass claims nothing; returns how many rows were claimed in all.
pub async fn drain(s: &TestServer) -> usize {
    let mut total = 0;
    loop {
        let n = s.app.backchannel.drain_once().await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}
