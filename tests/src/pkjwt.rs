//! `private_key_jwt` as a client does it (RFC 7523 §2.2): client key pairs, signed client
//! assertions (and forged ones), registration of a client with its keys, and a JWK Set server on
//! 127.0.0.1 whose answer a test changes (keys, redirect, oversized body).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use auth_server::domain::clients::{AuthMethod, NewClient};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsSigner, PS256, RS256};
use serde_json::{Value, json};

use crate::TestServer;

/// RFC 7523 §2.2 `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's key pair: it signs assertions; its public JWK goes in a JWK Set.
pub struct ClientKeyPair {
    /// `kid` (`None`: the public JWK has none and assertions carry none).
    pub kid: Option<String>,
    /// The JWA algorithm it signs with.
    pub alg: &'static str,
    /// The public JWK.
    pub public: Value,
    signer: Box<dyn JwsSigner>,
}

impl std::fmt::Debug for ClientKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKeyPair")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

fn strip(jwk: &Jwk, kid: Option<&str>, private: bool) -> Jwk {
    let mut m = jwk.as_ref().clone();
    m.remove("alg");
    m.remove("kid");
    if !private {
        for k in ["d", "p", "q", "dp", "dq", "qi"] {
            m.remove(k);
        }
    }
    if let Some(kid) = kid {
        m.insert("kid".into(), json!(kid));
    }
    Jwk::from_map(m).unwrap()
}

impl ClientKeyPair {
    /// A fresh key for `alg` (ES256, RS256, PS256 or EdDSA).
    pub fn new(alg: &'static str, kid: Option<&str>) -> Self {
        let pair: Jwk = match alg {
            "ES256" => ES256.generate_key_pair().unwrap().to_jwk_key_pair(),
            "RS256" | "PS256" => RS256.generate_key_pair(2048).unwrap().to_jwk_key_pair(),
            "EdDSA" => EdDSA
                .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                .unwrap()
                .to_jwk_key_pair(),
            other => panic!("no key type for {other}"),
        };
        let private = strip(&pair, kid, true);
        let signer: Box<dyn JwsSigner> = match alg {
            "ES256" => Box::new(ES256.signer_from_jwk(&private).unwrap()),
            "RS256" => Box::new(RS256.signer_from_jwk(&private).unwrap()),
            "PS256" => Box::new(PS256.signer_from_jwk(&private).unwrap()),
            _ => Box::new(EdDSA.signer_from_jwk(&private).unwrap()),
        };
        let public = Value::Object(strip(&pair, kid, false).as_ref().clone());
        Self {
            kid: kid.map(str::to_owned),
            alg,
            public,
            signer,
        }
    }

    /// A JWK Set of these keys' public halves.
    pub fn set(keys: &[&ClientKeyPair]) -> Value {
        json!({"keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>()})
    }

    /// A compact JWS of `claims` with this key's `alg` and `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = json!({"alg": self.alg, "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        self.sign_with_header(&header, claims)
    }

    /// A compact JWS of `claims` under `header` (whatever it says), signed with this key.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!("{}.{}", b64(header), b64(claims));
        let sig = self.signer.sign(message.as_bytes()).unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// Base64url of a JSON value.
pub fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// Base64url of bytes.
pub fn b64_bytes(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// An assertion's claims for `client_id` and audience `aud`, valid for 60 s from `now`, with a fresh
/// `jti`.
pub fn claims(client_id: &str, aud: &str, now: i64) -> Value {
    json!({
        "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
        "jti": auth_server::domain::random::token(16),
    })
}

/// The form fields of a `private_key_jwt` authentication, followed by `extra` (`&a=b...`).
pub fn form(assertion: &str, extra: &str) -> String {
    crate::oauth::encode_form(&[
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]) + extra
}

/// Registers a `private_key_jwt` client `id` (scope `read`) with an inline `jwks`.
pub async fn register_with_jwks(s: &TestServer, id: &str, jwks: &Value) {
    register(s, id, Some(jwks.to_string()), None).await;
}

/// Registers a `private_key_jwt` client `id` (scope `read`) with keys inline or by URL.
pub async fn register(s: &TestServer, id: &str, jwks: Option<String>, jwks_uri: Option<String>) {
    let new = NewClient {
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks,
        jwks_uri,
        allowed_resources: vec!["https://api.example".into()],
        ..crate::new_client(id, auth_core::Alg::Es256, &["read"], &[])
    };
    let (_, secret) = s.app.clients.create(new).await.unwrap();
    assert_eq!(secret, None, "a private_key_jwt client gets no secret");
}

/// POSTs `body` to `path` and returns the status and JSON body (`Null` if none), checking that a
/// 401 carries `WWW-Authenticate`.
pub async fn post(s: &TestServer, path: &str, body: String) -> (u16, Value) {
    let res = s.post_raw(path, body, &[]).await;
    let status = res.status().as_u16();
    if status == 401 {
        assert!(res.headers().contains_key("www-authenticate"));
    }
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// How the JWK Set server answers.
#[derive(Debug, Clone)]
pub enum JwksAnswer {
    /// 200 with this document and `Cache-Control: max-age=60`.
    Keys(Value),
    /// 302 to this location.
    Redirect(String),
    /// 200 with a JSON body of a little more than this many bytes.
    Oversized(usize),
}

/// A JWK Set server on 127.0.0.1 that counts its hits.
#[derive(Debug, Clone)]
pub struct JwksServer {
    /// `http://127.0.0.1:<port>/jwks`.
    pub url: String,
    answer: Arc<Mutex<JwksAnswer>>,
    hits: Arc<AtomicU64>,
}

impl JwksServer {
    /// Starts serving `answer`.
    pub async fn start(answer: JwksAnswer) -> Self {
        let answer = Arc::new(Mutex::new(answer));
        let hits = Arc::new(AtomicU64::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (a, h) = (a.clone(), h.clone());
                async move {
                    use axum::response::IntoResponse;
                    h.fetch_add(1, Ordering::SeqCst);
                    let answer = a.lock().unwrap().clone();
                    match answer {
                        JwksAnswer::Keys(doc) => (
                            [
                                ("content-type", "application/json"),
                                ("cache-control", "max-age=60"),
                            ],
                            doc.to_string(),
                        )
                            .into_response(),
                        JwksAnswer::Redirect(to) => {
                            (axum::http::StatusCode::FOUND, [("location", to)]).into_response()
                        }
                        JwksAnswer::Oversized(n) => {
                            let mut body = br#"{"keys":[],"pad":""#.to_vec();
                            body.resize(n, b'x');
                            body.extend_from_slice(br#""}"#);
                            body.into_response()
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, answer, hits }
    }

    /// Answers `answer` from now on.
    pub fn set(&self, answer: JwksAnswer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Requests served so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}
