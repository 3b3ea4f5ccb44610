//! Token exchange (RFC 8693) for the tests: a user's app whose tokens are addressed to a service,
//! an exchanging client registered with a policy, and the exchange itself.
//!
//! ```ignore
//! let app = user_app(&s, "shop", &["openid", "orders:write", "inventory:reserve"], &[ORDERS]).await;
//! let user_token = user_access_token(&s, &mut Agent::new(), &app, "openid orders:write inventory:reserve").await;
//! let orders = register_exchanger(&s, "orders", &Policy::delegation(&[ORDERS], &[INVENTORY], &["inventory:reserve"])).await;
//! let (status, body) = exchange(&s, &orders, &user_token, &[("resource", INVENTORY)]).await;
//! ```

use serde_json::Value;

use crate::TestServer;
use crate::oauth::{Agent, WebClient};

/// The grant type (RFC 8693 §2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The access-token token type (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The audience of the orders service in these tests.
pub const ORDERS: &str = "https://orders.example";
/// The audience of the inventory service in these tests.
pub const INVENTORY: &str = "https://inventory.example";
/// The audience of a third service, for chains.
pub const SHIPPING: &str = "https://shipping.example";

/// A token-exchange policy, as [`register_exchanger`] sets it.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Subject tokens must be addressed to one of these.
    pub subject_audiences: &'a [&'a str],
    /// The audiences the client may ask for.
    pub audiences: &'a [&'a str],
    /// The scopes that may pass.
    pub scopes: &'a [&'a str],
    /// Impersonation (no `act`) instead of delegation.
    pub impersonation: bool,
}

impl<'a> Policy<'a> {
    /// Delegation from `subject_audiences` to `audiences`, letting `scopes` pass.
    pub fn delegation(
        subject_audiences: &'a [&'a str],
        audiences: &'a [&'a str],
        scopes: &'a [&'a str],
    ) -> Self {
        Self {
            subject_audiences,
            audiences,
            scopes,
            impersonation: false,
        }
    }

    /// The same, as impersonation.
    pub fn impersonating(self) -> Self {
        Self {
            impersonation: true,
            ..self
        }
    }
}

/// Registers a first-party web client `id` (redirect `https://{id}.example/cb`) that may ask for
/// `scopes`, whose users' access tokens are addressed to `resources` (plus the userinfo endpoint
/// with `openid`).
pub async fn user_app(s: &TestServer, id: &str, scopes: &[&str], resources: &[&str]) -> WebClient {
    let redirect_uri = format!("https://{id}.example/cb");
    let new = auth_server::domain::clients::NewClient {
        redirect_uris: vec![redirect_uri.clone()],
        first_party: true,
        ..crate::new_client(id, auth_core::Alg::Es256, scopes, resources)
    };
    let (c, secret) = s.app.clients.create(new).await.unwrap();
    WebClient {
        id: c.id,
        secret,
        redirect_uri,
    }
}

/// Alice's access token from `app` for `scope` (she is created on first use, password
/// [`crate::sso_support::PW`], and signed in unless `browser` has a session).
pub async fn user_access_token(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    scope: &str,
) -> String {
    if s.app.users.find("alice").await.unwrap().is_none() {
        s.user("alice", crate::sso_support::PW).await;
    }
    let t = crate::sso_support::grant(s, browser, app, scope, "alice").await;
    t.raw["access_token"].as_str().unwrap().to_owned()
}

/// Registers a confidential client `id` (ES256) and gives it `policy`; returns it with its secret.
pub async fn register_exchanger(s: &TestServer, id: &str, policy: &Policy<'_>) -> WebClient {
    let (id, secret) = s.client(id, auth_core::Alg::Es256, &[], &[]).await;
    set_exchange_policy(s, &id, Some(policy)).await;
    WebClient {
        id,
        secret: Some(secret),
        redirect_uri: String::new(),
    }
}

/// Sets (or, with `None`, removes) client `id`'s token-exchange policy as an administrator would.
pub async fn set_exchange_policy(s: &TestServer, id: &str, policy: Option<&Policy<'_>>) {
    use auth_server::domain::clients::token_exchange_policy::NewTokenExchangePolicy;
    let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let new = policy.map(|p| NewTokenExchangePolicy {
        subject_audiences: owned(p.subject_audiences),
        audiences: owned(p.audiences),
        scopes: owned(p.scopes),
        impersonation: p.impersonation,
    });
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    let set = s
        .app
        .clients
        .set_token_exchange_policy(id, new, &admin, &meta)
        .await;
    assert!(matches!(set, Ok(Some(_))), "{set:?}");
}

/// The form of an exchange of `subject_token` (an access token), with `extra` parameters.
pub fn exchange_form<'a>(
    subject_token: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("grant_type", GRANT_TYPE),
        ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// Exchanges `subject_token` as `client` (Basic authentication) with `extra` parameters (say
/// `("resource", INVENTORY)`, `("scope", "...")`); returns status and JSON body.
pub async fn exchange(
    s: &TestServer,
    client: &WebClient,
    subject_token: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    s.token_as(client, &exchange_form(subject_token, extra))
        .await
}

/// As [`exchange`], asserting success (RFC 8693 §2.2.1); returns the issued access token.
pub async fn exchanged(
    s: &TestServer,
    client: &WebClient,
    subject_token: &str,
    extra: &[(&str, &str)],
) -> String {
    let (status, body) = exchange(s, client, subject_token, extra).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}
