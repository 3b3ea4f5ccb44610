//! DPoP at the resource services, for `tests/e2e/dpop_verifier_*.rs`: a client key that signs
//! proofs (RFC 9449 §4.2), access tokens bound to it (`cnf.jkt`, §6.1) minted with the IdP's own
//! active signing key, and both example services started with their external URL.

use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::{Alg, Clock};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, JwsSigner};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::TestServer;
use crate::services_env::{INVENTORY, ORDERS};

/// A client's DPoP key pair (ES256): its public and private JWKs and its signer.
#[allow(missing_debug_implementations)]
pub struct DpopKey {
    pub public: Value,
    pub private: Value,
    signer: Box<dyn JwsSigner>,
}

static NEXT_JTI: AtomicU64 = AtomicU64::new(0);

/// A `jti` no other proof of this process has.
pub fn fresh_jti() -> String {
    let random = URL_SAFE_NO_PAD.encode(josekit::util::random_bytes(12));
    format!("{random}-{}", NEXT_JTI.fetch_add(1, Ordering::Relaxed))
}

/// `base64url(SHA-256(token))`, the `ath` of a proof sent with `token` (RFC 9449 §4.2).
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A compact JWS of `header` and `claims` signed by `signer`, whatever they say.
pub fn sign(header: &Value, claims: &Value, signer: &dyn JwsSigner) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

impl DpopKey {
    /// A fresh ES256 key.
    pub fn es256() -> Self {
        let pair = ES256.generate_key_pair().unwrap();
        Self {
            public: serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap(),
            private: serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap(),
            signer: Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
        }
    }

    /// The RFC 7638 thumbprint of the public key: a bound token's `cnf.jkt`.
    pub fn jkt(&self) -> String {
        let (x, y) = (self.public["x"].as_str(), self.public["y"].as_str());
        auth_core::jwk::Jwk::ec_p256(x.unwrap(), y.unwrap())
            .thumbprint()
            .unwrap()
    }

    /// The header of a proof by this key.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.public})
    }

    /// The claims of a proof for `method uri` at `iat`, with `ath` for `token` if given.
    pub fn claims(&self, method: &str, uri: &str, token: Option<&str>, iat: i64) -> Value {
        let mut c = json!({"jti": fresh_jti(), "htm": method, "htu": uri, "iat": iat});
        if let Some(t) = token {
            c["ath"] = json!(ath(t));
        }
        c
    }

    /// A valid proof for `method uri` now (system clock), sent with `token`.
    pub fn proof(&self, method: &str, uri: &str, token: &str) -> String {
        let now = auth_core::SystemClock.now();
        self.sign(&self.header(), &self.claims(method, uri, Some(token), now))
    }

    /// `header` and `claims` signed by this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        sign(header, claims, &*self.signer)
    }
}

/// An access token for `aud` with `scope`, bound to `jkt` when given, signed by the IdP's own
/// active ES256 key (the IdP's issuing of bound tokens is tested on its side).
pub fn mint(s: &TestServer, aud: &str, scope: &str, jkt: Option<&str>) -> String {
    let now = s.clock.now();
    let snap = s.app.keys.ring().snapshot();
    let (key, signer) = snap.signing_key(Alg::Es256, now).unwrap();
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid});
    let mut claims = json!({"iss": s.base, "sub": "partner", "aud": aud, "exp": now + 300,
        "iat": now, "jti": fresh_jti(), "client_id": "partner", "scope": scope});
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    sign(&header, &claims, &**signer)
}

/// orders-service and inventory-service, each told its external URL (`http://127.0.0.1:PORT`,
/// the address the tests call), against the IdP `s`.
#[allow(missing_debug_implementations)]
pub struct DpopServices {
    pub orders: String,
    pub inventory: String,
    pub inventory_state: inventory_service::AppState,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DpopServices {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

fn spawn(listener: TcpListener, router: axum::Router) -> JoinHandle<()> {
    let limits = http_serve::Limits::default();
    tokio::spawn(http_serve::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ))
}

impl DpopServices {
    /// Starts both services (orders reserves stock in inventory with its own client `orders-svc`).
    pub async fn start(s: &TestServer) -> Self {
        let scopes = ["inventory:reserve"];
        let (svc_id, svc_secret) = s
            .client("orders-svc", Alg::Es256, &scopes, &[INVENTORY])
            .await;
        let (inv_listener, inventory) = listener().await;
        let inventory_state = inventory_service::build(inventory_service::Config {
            issuer: s.base.clone(),
            audience: INVENTORY.into(),
            stock: inventory_service::parse_levels("widget=10").unwrap(),
            metrics: None,
            external_url: Some(inventory.clone()),
        })
        .await
        .unwrap();
        let inv_task = spawn(
            inv_listener,
            inventory_service::router(inventory_state.clone()),
        );
        let (ord_listener, orders) = listener().await;
        let mut config = orders_service::Config::new(svc_id, svc_secret);
        // These tests are about the service's own token; the on-behalf-of path has its own.
        config.inventory_auth = orders_service::InventoryAuth::AsItself;
        config.issuer = s.base.clone();
        config.inventory_url = inventory.clone();
        config.external_url = Some(orders.clone());
        let state = orders_service::build(config).await.unwrap();
        let ord_task = spawn(ord_listener, orders_service::router(state));
        Self {
            orders,
            inventory,
            inventory_state,
            tasks: vec![inv_task, ord_task],
        }
    }
}

/// The orders-service audience (re-exported for the tests).
pub const ORDERS_AUD: &str = ORDERS;
