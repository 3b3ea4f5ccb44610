//! The set-up most single sign-on tests start from: a server on a fresh database, the user `alice`
//! (password [`PW`]), a first-party web client `app` (no consent page), and alice's browser (or
//! another user and client options, [`Sso::on`]). The browser holds no session yet: the first
//! authorization signs the user in (see [`crate::sso_support::grant`]), so a test still sees every
//! step it asserts on.

use auth_server::config::Config;

use crate::oauth::{Agent, WebClient, WebClientOptions, first_party};
use crate::sso_support::PW;
use crate::{Backend, TestServer};

/// Server, user, client and browser: `let (s, app, mut browser) = Sso::start(b).await.into_parts()`.
#[allow(missing_debug_implementations)]
pub struct Sso {
    /// The IdP.
    pub s: TestServer,
    /// Alice's subject id.
    pub sub: String,
    /// The first-party client `app`.
    pub app: WebClient,
    /// Alice's browser, not signed in yet.
    pub browser: Agent,
}

impl Sso {
    /// On a fresh database with the base configuration.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// On a fresh database, letting the test adjust the configuration.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let s = TestServer::start_with(backend, tweak).await;
        Self::on(s, "alice", first_party()).await
    }

    /// Server, client and browser (the subject id dropped).
    pub fn into_parts(self) -> (TestServer, WebClient, Agent) {
        (self.s, self.app, self.browser)
    }

    /// On `s`, with `user` (password [`PW`]) and the client `app` registered with `options`.
    pub async fn on(s: TestServer, user: &str, options: WebClientOptions) -> Self {
        let sub = s.user(user, PW).await;
        let app = s.web_client("app", options).await;
        Self {
            s,
            sub,
            app,
            browser: Agent::new(),
        }
    }
}

/// Registers alice and the first-party client `app` on `s` (a replica, say); returns the client and
/// alice's browser, not signed in yet.
pub async fn alice_at_app(s: &TestServer) -> (WebClient, Agent) {
    s.user("alice", PW).await;
    (s.web_client("app", first_party()).await, Agent::new())
}

/// A server with `user` and two first-party clients, `app-a` and `app-b`, and the user's browser:
/// for what one client may do with another's code or tokens, and sign-on across clients.
pub async fn two_apps(backend: Backend, user: &str) -> (TestServer, WebClient, WebClient, Agent) {
    let s = TestServer::start(backend).await;
    s.user(user, PW).await;
    let a = s.web_client("app-a", first_party()).await;
    let b = s.web_client("app-b", first_party()).await;
    (s, a, b, Agent::new())
}
