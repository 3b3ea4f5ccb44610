//! What the unit tests of several modules share: a fake issuer's ES256 key (`kid` `k1`), its JWKS
//! document, a loopback listener to serve it from, and signing with that key.
#![allow(clippy::unwrap_used)]

use josekit::jws::{ES256, JwsHeader, JwsSigner};
use serde_json::{Value, json};

/// A fake issuer before it serves: its listener (bound on loopback), issuer identifier
/// (`http://<address>`), JWKS document and key.
pub(crate) struct TestIssuer {
    pub listener: tokio::net::TcpListener,
    pub iss: String,
    pub jwks: String,
    pub key: TestKey,
}

impl TestIssuer {
    /// A new key pair and a listener on a free loopback port.
    pub async fn new() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let iss = format!("http://{}", listener.local_addr().unwrap());
        let pair = ES256.generate_key_pair().unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("k1");
        public.set_algorithm("ES256");
        let jwks = json!({ "keys": [public.as_ref()] }).to_string();
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        Self {
            listener,
            iss,
            jwks,
            key: TestKey(Box::new(signer)),
        }
    }
}

/// The fake issuer's signing key.
pub(crate) struct TestKey(Box<dyn JwsSigner>);

impl TestKey {
    /// `claims` signed with `kid` `k1`, with header `typ` when given.
    pub fn sign(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut h = JwsHeader::new();
        if let Some(t) = typ {
            h.set_token_type(t);
        }
        h.set_key_id("k1");
        josekit::jws::serialize_compact(claims.to_string().as_bytes(), &h, &*self.0).unwrap()
    }

    /// An access token (`typ` `at+jwt`) with `claims`.
    pub fn access_token(&self, claims: &Value) -> String {
        self.sign(Some("at+jwt"), claims)
    }
}
