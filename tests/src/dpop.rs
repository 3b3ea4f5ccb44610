//! DPoP proofs (RFC 9449 §4.2) as a client makes them, for the IdP's end-to-end tests: a key
//! pair, its RFC 7638 thumbprint computed here independently of the server, and proofs for a
//! method and URL at a given time, with or without a nonce and `ath`. Plus the token requests
//! that carry them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsHeader, JwsSigner};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::oauth::{WebClient, encode_form};
use crate::{TestServer, basic};

/// A client's DPoP key (ES256, P-256), made fresh for each test.
pub struct DpopKey {
    signer: Box<dyn JwsSigner>,
    public: Jwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").field("jkt", &self.jkt()).finish()
    }
}

impl Default for DpopKey {
    fn default() -> Self {
        Self::new()
    }
}

/// What a proof says besides its key.
#[derive(Debug, Clone, Copy)]
pub struct Claims<'a> {
    /// `htm`.
    pub htm: &'a str,
    /// `htu`.
    pub htu: &'a str,
    /// `iat`.
    pub iat: i64,
    /// `nonce`, if any.
    pub nonce: Option<&'a str>,
    /// The access token whose hash goes in `ath`, if any.
    pub token: Option<&'a str>,
}

impl DpopKey {
    /// A new P-256 key pair.
    pub fn new() -> Self {
        let pair = ES256.generate_key_pair().unwrap();
        let signer = Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap());
        Self {
            signer,
            public: pair.to_jwk_public_key(),
        }
    }

    /// RFC 7638 §3: base64url SHA-256 of `{"crv","kty","x","y"}` in that order, no spaces.
    pub fn jkt(&self) -> String {
        let p = |k: &str| {
            self.public
                .parameter(k)
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        };
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            p("crv"),
            p("x"),
            p("y")
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof with `claims` and a fresh `jti`.
    pub fn proof(&self, c: Claims<'_>) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(self.public.clone());
        let mut body = json!({
            "jti": auth_server::domain::random::token(16),
            "htm": c.htm,
            "htu": c.htu,
            "iat": c.iat,
        });
        if let Some(n) = c.nonce {
            body["nonce"] = json!(n);
        }
        if let Some(t) = c.token {
            body["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
        }
        let payload = serde_json::to_vec(&body).unwrap();
        josekit::jws::serialize_compact(&payload, &header, &*self.signer).unwrap()
    }

    /// A proof for `POST {base}/token` now (by `s`'s clock), with `nonce` if given.
    pub fn for_token(&self, s: &TestServer, nonce: Option<&str>) -> String {
        let htu = format!("{}/token", s.base);
        self.proof(Claims {
            htm: "POST",
            htu: &htu,
            iat: crate::now(&s.clock),
            nonce,
            token: None,
        })
    }

    /// A proof for `method {base}/userinfo` with `token`, now.
    pub fn for_userinfo(&self, s: &TestServer, method: &str, token: &str) -> String {
        let htu = format!("{}/userinfo", s.base);
        self.proof(Claims {
            htm: method,
            htu: &htu,
            iat: crate::now(&s.clock),
            nonce: None,
            token: Some(token),
        })
    }
}

/// The answer of a token request: status, `DPoP-Nonce` header if any, JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `DPoP-Nonce` response header.
    pub nonce: Option<String>,
    /// The JSON body (Null if none).
    pub body: Value,
}

impl Answer {
    /// The body's `error`.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// POSTs `pairs` to `/token` as `client` (Basic, or `client_id` for a public client), with each
/// of `proofs` as a `DPoP` header.
pub async fn token_with(
    s: &TestServer,
    client: &WebClient,
    pairs: &[(&str, &str)],
    proofs: &[&str],
) -> Answer {
    let mut pairs = pairs.to_vec();
    let mut req = s
        .http
        .post(format!("{}/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded");
    match &client.secret {
        Some(secret) => req = req.header("authorization", basic(&client.id, secret)),
        None => pairs.push(("client_id", client.id.as_str())),
    }
    for p in proofs {
        req = req.header("dpop", *p);
    }
    let res = req.body(encode_form(&pairs)).send().await.unwrap();
    let status = res.status().as_u16();
    let nonce = res
        .headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    Answer {
        status,
        nonce,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// The claims of a JWT (not verified: the caller verifies what it relies on).
pub fn claims(jwt: &str) -> Value {
    crate::decode_segment(jwt, 1)
}

/// Registers a confidential client-credentials client `id` (scope `read`, resource
/// `https://api.example`) and returns it as a [`WebClient`] (no redirect URI).
pub async fn cc_client(s: &TestServer, id: &str) -> WebClient {
    let (id, secret) = s
        .client(
            id,
            auth_core::Alg::Es256,
            &["read"],
            &["https://api.example"],
        )
        .await;
    WebClient {
        id,
        secret: Some(secret),
        redirect_uri: String::new(),
    }
}

/// Sets client `id`'s DPoP policy, as an administrator would.
pub async fn set_policy(s: &TestServer, id: &str, policy: auth_server::domain::values::DpopPolicy) {
    let update = auth_server::domain::clients::ClientUpdate {
        dpop: Some(policy),
        ..Default::default()
    };
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    let updated = s.app.clients.update_by(id, update, &admin, &meta).await;
    assert!(matches!(updated, Ok(Some(_))), "{updated:?}");
}

/// The `client_credentials` grant as `client` with `proofs`.
pub async fn cc_with(s: &TestServer, client: &WebClient, proofs: &[&str]) -> Answer {
    token_with(s, client, &[("grant_type", "client_credentials")], proofs).await
}

/// Asserts a successful DPoP-bound token response for `key`: `token_type` `DPoP`, and an access
/// token whose verified claims carry `cnf.jkt` = the key's thumbprint. Returns the access token.
pub async fn assert_bound(s: &TestServer, a: &Answer, key: &DpopKey) -> String {
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP", "{}", a.body);
    let token = a.body["access_token"].as_str().unwrap().to_owned();
    let (_, claims) = crate::verify(&token, &s.jwks().await);
    assert_eq!(claims["cnf"], json!({ "jkt": key.jkt() }), "{claims}");
    token
}

/// Asserts a successful bearer token response: `token_type` `Bearer`, no `cnf`.
pub async fn assert_bearer(s: &TestServer, a: &Answer) -> String {
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "Bearer", "{}", a.body);
    let token = a.body["access_token"].as_str().unwrap().to_owned();
    let (_, claims) = crate::verify(&token, &s.jwks().await);
    assert!(claims.get("cnf").is_none(), "{claims}");
    token
}
