//! DPoP attacks against a real resource service (inventory-service over HTTP, its verifier
//! fetching the IdP's keys): each starts from a request that is accepted (the positive control)
//! and changes one thing. Tokens are minted with the IdP's own key and bound to the client's key
//! (`cnf.jkt`); storage is not involved, so SQLite only.

use auth_core::Clock;
use serde_json::{Value, json};
use tests::dpop_verifier_support::{DpopKey, DpopServices, ath, fresh_jti, mint};
use tests::services_env::INVENTORY;
use tests::{Backend, TestServer};

/// What a service answered: status, every `WWW-Authenticate` value, the JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub challenges: Vec<String>,
    pub body: Value,
}

/// Sends `method url` with `Authorization: <auth>` (if any) and one `DPoP` header per proof.
pub async fn send(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    auth: Option<String>,
    proofs: &[&str],
) -> Reply {
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    for p in proofs {
        req = req.header("dpop", *p);
    }
    if method == "POST" {
        req = req.json(&json!({"sku": "widget", "quantity": 1}));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenges = res
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    Reply {
        status,
        challenges,
        body: res.json().await.unwrap(),
    }
}

pub const ALGS: &str = r#"algs="ES256 PS256 RS256 EdDSA""#;

/// A 401 in the `DPoP` scheme with `error` and `description`, and a plain `Bearer` challenge.
pub fn assert_dpop_refusal(r: &Reply, error: &str, description: &str, what: &str) {
    assert_eq!(r.status, 401, "{what}: {r:?}");
    let expected = format!(r#"DPoP error="{error}", error_description="{description}", {ALGS}"#);
    assert_eq!(r.challenges, [expected, "Bearer".to_owned()], "{what}");
    assert_eq!(r.body["error"], error, "{what}");
}

struct Case {
    s: TestServer,
    svc: DpopServices,
    key: DpopKey,
    token: String,
    url: String,
}

impl Case {
    async fn start() -> Self {
        let s = TestServer::start(Backend::Sqlite).await;
        let svc = DpopServices::start(&s).await;
        let key = DpopKey::es256();
        let token = mint(&s, INVENTORY, "inventory:read", Some(&key.jkt()));
        let url = format!("{}/items/widget", svc.inventory);
        Self {
            s,
            svc,
            key,
            token,
            url,
        }
    }

    fn dpop(&self) -> Option<String> {
        Some(format!("DPoP {}", self.token))
    }

    /// A proof by `self.key` with `claims` changed by `f`.
    fn proof_with(&self, f: impl FnOnce(&mut Value)) -> String {
        let now = auth_core::SystemClock.now();
        let mut claims = self.key.claims("GET", &self.url, Some(&self.token), now);
        f(&mut claims);
        self.key.sign(&self.key.header(), &claims)
    }

    async fn get(&self, proofs: &[&str]) -> Reply {
        send(&self.s.http, "GET", &self.url, self.dpop(), proofs).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_token_needs_its_proof_and_a_proof_is_used_once() {
    let c = Case::start().await;
    let proof = c.key.proof("GET", &c.url, &c.token);
    let ok = c.get(&[&proof]).await;
    assert_eq!(
        (ok.status, &ok.body["sku"]),
        (200, &json!("widget")),
        "{ok:?}"
    );

    // The same proof again: refused, whatever else is right.
    let replay = c.get(&[&proof]).await;
    assert_dpop_refusal(
        &replay,
        "invalid_dpop_proof",
        "DPoP proof replayed",
        "replay",
    );
    // The replay is found before the signature is looked at: a replay with a broken signature is
    // refused as a replay, not as a bad signature.
    let (input, _) = proof.rsplit_once('.').unwrap();
    let broken = format!("{input}.{}", "A".repeat(86));
    let r = c.get(&[&broken]).await;
    assert_dpop_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof replayed",
        "replay, bad sig",
    );

    // The bound token as a bearer token: refused, with or without a proof beside it.
    let bearer = Some(format!("Bearer {}", c.token));
    let fresh = c.key.proof("GET", &c.url, &c.token);
    for proofs in [vec![], vec![fresh.as_str()]] {
        let r = send(&c.s.http, "GET", &c.url, bearer.clone(), &proofs).await;
        assert_eq!(r.status, 401, "{r:?}");
        let expected = r#"Bearer error="invalid_token", error_description="the access token is DPoP-bound: present it with the DPoP scheme and a proof""#;
        assert_eq!(r.challenges, [expected.to_owned(), format!("DPoP {ALGS}")]);
    }
    // That proof was not consumed by the refused bearer request: it still works once.
    assert_eq!(c.get(&[&fresh]).await.status, 200);

    // No proof, or two.
    let r = c.get(&[]).await;
    assert_dpop_refusal(&r, "invalid_dpop_proof", "no DPoP proof", "no proof");
    let (a, b) = (
        c.key.proof("GET", &c.url, &c.token),
        c.key.proof("GET", &c.url, &c.token),
    );
    let r = c.get(&[&a, &b]).await;
    assert_dpop_refusal(
        &r,
        "invalid_dpop_proof",
        "more than one DPoP proof",
        "two proofs",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_must_match_the_request_the_time_and_the_token() {
    let c = Case::start().await;
    let refused = |what: &'static str, description: &'static str, proof: String| {
        let c = &c;
        async move {
            let r = c.get(&[&proof]).await;
            assert_dpop_refusal(&r, "invalid_dpop_proof", description, what);
        }
    };
    let htu_mismatch = "htu does not match the request URI";
    let other_path = format!("{}/items/gadget", c.svc.inventory);
    refused(
        "another URL",
        htu_mismatch,
        c.proof_with(|p| p["htu"] = json!(other_path)),
    )
    .await;
    let other_service = format!("{}/items/widget", c.svc.orders);
    let p = c.proof_with(|p| p["htu"] = json!(other_service));
    refused("another service", htu_mismatch, p).await;
    let p = c.proof_with(|p| p["htm"] = json!("POST"));
    refused("another method", "htm does not match the request method", p).await;
    let p = c.proof_with(|p| p["iat"] = json!(p["iat"].as_i64().unwrap() - 3600));
    refused("stale", "DPoP proof is too old", p).await;
    let p = c.proof_with(|p| p["iat"] = json!(p["iat"].as_i64().unwrap() + 3600));
    refused("future", "DPoP proof is issued in the future", p).await;
    let p = c.proof_with(|p| drop(p.as_object_mut().unwrap().remove("ath")));
    refused("missing ath", "DPoP proof lacks ath", p).await;
    let p = c.proof_with(|p| p["ath"] = json!(ath("another.access.token")));
    refused("wrong ath", "ath does not match the access token", p).await;
    let p = c.proof_with(|p| drop(p.as_object_mut().unwrap().remove("jti")));
    refused("no jti", "DPoP proof lacks a valid jti claim", p).await;

    // The query is not part of htu: a proof for the bare URL is good for `?x=1`.
    let p = c.key.proof("GET", &c.url, &c.token);
    let url = format!("{}?x=1", c.url);
    let r = send(&c.s.http, "GET", &url, c.dpop(), &[&p]).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_must_be_a_dpop_jwt_signed_by_the_bound_public_key() {
    let c = Case::start().await;
    let claims = || {
        let now = auth_core::SystemClock.now();
        c.key.claims("GET", &c.url, Some(&c.token), now)
    };
    let refused =
        |what: &'static str, error: &'static str, description: &'static str, p: String| {
            let c = &c;
            async move { assert_dpop_refusal(&c.get(&[&p]).await, error, description, what) }
        };
    // Another key, whose proof is otherwise perfect: the token is not bound to it.
    let other = DpopKey::es256();
    let p = other.sign(&other.header(), &claims());
    refused(
        "another key",
        "invalid_token",
        "Invalid DPoP key binding",
        p,
    )
    .await;
    // The bound key in the header, the signature by another key.
    let p = other.sign(&c.key.header(), &claims());
    refused(
        "forged signature",
        "invalid_dpop_proof",
        "invalid DPoP proof signature",
        p,
    )
    .await;
    let mut h = c.key.header();
    h["typ"] = json!("JWT");
    refused(
        "typ JWT",
        "invalid_dpop_proof",
        "typ is not dpop+jwt",
        c.key.sign(&h, &claims()),
    )
    .await;
    let alg_refused = "the DPoP proof's alg is not accepted";
    let mut h = c.key.header();
    h["alg"] = json!("none");
    let unsigned = format!("{}.", c.key.sign(&h, &claims()).rsplit_once('.').unwrap().0);
    refused(
        "alg none, no signature",
        "invalid_dpop_proof",
        "malformed DPoP proof: empty segment",
        unsigned,
    )
    .await;
    refused(
        "alg none",
        "invalid_dpop_proof",
        alg_refused,
        c.key.sign(&h, &claims()),
    )
    .await;
    h["alg"] = json!("HS256");
    refused(
        "alg HS256",
        "invalid_dpop_proof",
        alg_refused,
        c.key.sign(&h, &claims()),
    )
    .await;
    let mut h = c.key.header();
    h["jwk"] = c.key.private.clone();
    let private = "the jwk header contains a private key";
    refused(
        "private key",
        "invalid_dpop_proof",
        private,
        c.key.sign(&h, &claims()),
    )
    .await;

    // A forged proof does not use up its jti: the client's real proof with that jti still works.
    let mut shared = claims();
    shared["jti"] = json!(fresh_jti());
    let forged = other.sign(&c.key.header(), &shared);
    assert_eq!(c.get(&[&forged]).await.status, 401);
    let real = c.key.sign(&c.key.header(), &shared);
    let r = c.get(&[&real]).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbound_token_with_the_dpop_scheme_is_refused_and_still_works_as_bearer() {
    let c = Case::start().await;
    let unbound = mint(&c.s, INVENTORY, "inventory:read", None);
    let p = c.key.proof("GET", &c.url, &unbound);
    let auth = Some(format!("DPoP {unbound}"));
    let r = send(&c.s.http, "GET", &c.url, auth, &[&p]).await;
    assert_dpop_refusal(
        &r,
        "invalid_token",
        "Invalid DPoP key binding",
        "unbound as DPoP",
    );
    let r = send(
        &c.s.http,
        "GET",
        &c.url,
        Some(format!("Bearer {unbound}")),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
}
