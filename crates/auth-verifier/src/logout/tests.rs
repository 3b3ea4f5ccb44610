//! Logout-token validation against a loopback issuer, with the attacks §2.6 guards against.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use auth_core::ManualClock;
use serde_json::{Value, json};

use super::*;
use crate::test_support::{TestIssuer, TestKey};
use crate::{IssuerConfig, Policy};

const NOW: i64 = 1_900_000_000;
const CLIENT: &str = "wiki";

struct Idp {
    iss: String,
    signer: TestKey,
}

impl Idp {
    async fn start() -> Idp {
        let TestIssuer {
            listener,
            iss,
            jwks,
            key: signer,
        } = TestIssuer::new().await;
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let body = jwks.clone();
                async move { body }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Idp { iss, signer }
    }

    /// The claims of a valid logout token.
    fn claims(&self, jti: &str) -> Value {
        json!({
            "iss": self.iss, "aud": CLIENT, "iat": NOW, "exp": NOW + 120, "jti": jti,
            "sub": "user-1", "sid": "session-1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        })
    }

    fn sign(&self, typ: Option<&str>, claims: &Value) -> String {
        self.signer.sign(typ, claims)
    }

    async fn verifier(&self, clock: &ManualClock) -> LogoutTokenVerifier {
        let keys = Verifier::builder(Policy::new("unused"))
            .issuer(IssuerConfig::new(&self.iss).jwks_uri(format!("{}/jwks", self.iss)))
            .clock(Arc::new(clock.clone()))
            .background_refresh(false)
            .build()
            .await
            .unwrap();
        LogoutTokenVerifier::new(keys, CLIENT)
    }
}

async fn setup() -> (Idp, LogoutTokenVerifier, ManualClock) {
    let idp = Idp::start().await;
    let clock = ManualClock::new(NOW);
    let v = idp.verifier(&clock).await;
    (idp, v, clock)
}

#[tokio::test]
async fn a_valid_logout_token_is_accepted_once() {
    let (idp, v, _) = setup().await;
    let token = idp.sign(Some("logout+jwt"), &idp.claims("j1"));
    let t = v.verify(&token).await.unwrap();
    assert_eq!(t.sid.as_deref(), Some("session-1"));
    assert_eq!(t.sub.as_deref(), Some("user-1"));
    assert_eq!((t.iss.as_str(), t.jti.as_str()), (idp.iss.as_str(), "j1"));
    assert_eq!(v.verify(&token).await, Err(LogoutTokenError::Replayed));
    // Another token with the same jti is a replay too.
    let mut again = idp.claims("j1");
    again["sid"] = json!("other");
    let again = idp.sign(Some("logout+jwt"), &again);
    assert_eq!(v.verify(&again).await, Err(LogoutTokenError::Replayed));
    // The application/ form of the type is accepted.
    let long = idp.sign(Some("application/logout+jwt"), &idp.claims("j2"));
    assert!(v.verify(&long).await.is_ok());
}

#[tokio::test]
async fn sid_or_sub_alone_is_enough_but_one_is_needed() {
    let (idp, v, _) = setup().await;
    for (i, drop) in [["sub"].as_slice(), &["sid"], &["sid", "sub"]]
        .iter()
        .enumerate()
    {
        let mut c = idp.claims(&format!("j{i}"));
        for name in *drop {
            c.as_object_mut().unwrap().remove(*name);
        }
        let got = v.verify(&idp.sign(Some("logout+jwt"), &c)).await;
        if drop.len() == 2 {
            assert_eq!(got, Err(LogoutTokenError::MissingSidAndSub));
        } else {
            assert!(got.is_ok(), "{drop:?}: {got:?}");
        }
    }
}

#[tokio::test]
async fn other_token_types_are_refused() {
    let (idp, v, _) = setup().await;
    let c = idp.claims("j1");
    for typ in [Some("JWT"), Some("at+jwt"), None] {
        let got = v.verify(&idp.sign(typ, &c)).await;
        assert_eq!(got, Err(LogoutTokenError::WrongType), "{typ:?}");
    }
    // An ID token passed as a logout token: typ JWT, a nonce, no events.
    let id_token = json!({"iss": idp.iss, "aud": CLIENT, "iat": NOW, "exp": NOW + 300,
        "sub": "user-1", "sid": "session-1", "nonce": "n", "jti": "j9"});
    let got = v.verify(&idp.sign(Some("JWT"), &id_token)).await;
    assert_eq!(got, Err(LogoutTokenError::WrongType));
    // The same claims even with the right typ: no event.
    let got = v.verify(&idp.sign(Some("logout+jwt"), &id_token)).await;
    assert_eq!(got, Err(LogoutTokenError::MissingEvent));
}

#[tokio::test]
async fn a_nonce_is_refused() {
    let (idp, v, _) = setup().await;
    let mut c = idp.claims("j1");
    c["nonce"] = json!("n");
    let got = v.verify(&idp.sign(Some("logout+jwt"), &c)).await;
    assert_eq!(got, Err(LogoutTokenError::NonceForbidden));
}

#[tokio::test]
async fn events_must_hold_the_backchannel_logout_member() {
    let (idp, v, _) = setup().await;
    for events in [
        None,
        Some(json!({})),
        Some(json!({"http://schemas.openid.net/event/other": {}})),
        Some(json!([BACKCHANNEL_LOGOUT_EVENT])),
        Some(json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" })),
    ] {
        let mut c = idp.claims("j1");
        match &events {
            Some(e) => c["events"] = e.clone(),
            None => {
                c.as_object_mut().unwrap().remove("events");
            }
        }
        let got = v.verify(&idp.sign(Some("logout+jwt"), &c)).await;
        assert_eq!(got, Err(LogoutTokenError::MissingEvent), "{events:?}");
    }
}

#[tokio::test]
async fn audience_issuer_and_times_are_checked() {
    let (idp, v, clock) = setup().await;
    let with = |name: &str, value: Value| {
        let mut c = idp.claims(&format!("j-{name}-{value}"));
        c[name] = value;
        idp.sign(Some("logout+jwt"), &c)
    };
    let cases = [
        (
            with("aud", json!("dashboard")),
            LogoutTokenError::WrongAudience,
        ),
        (
            with("aud", json!(["dashboard"])),
            LogoutTokenError::WrongAudience,
        ),
        (with("aud", json!(7)), LogoutTokenError::InvalidClaim("aud")),
        (with("exp", json!(NOW - 3600)), LogoutTokenError::Expired),
        (
            with("exp", json!("later")),
            LogoutTokenError::InvalidClaim("exp"),
        ),
        (with("iat", json!(NOW + 3600)), LogoutTokenError::IssuedAt),
        (with("iat", json!(NOW - 3600)), LogoutTokenError::IssuedAt),
        (with("jti", json!(5)), LogoutTokenError::InvalidClaim("jti")),
        (
            with("iss", json!("https://evil.example")),
            LogoutTokenError::Token(VerifyError::UntrustedIssuer),
        ),
    ];
    for (token, want) in cases {
        assert_eq!(v.verify(&token).await, Err(want));
    }
    assert!(v.verify(&with("aud", json!(["x", CLIENT]))).await.is_ok());
    // A valid token presented after its expiry (past the leeway).
    let late = idp.sign(Some("logout+jwt"), &idp.claims("late"));
    clock.advance(120 + 61);
    assert_eq!(v.verify(&late).await, Err(LogoutTokenError::Expired));
}

#[tokio::test]
async fn forged_signatures_are_refused() {
    let (idp, v, _) = setup().await;
    let other = Idp::start().await;
    // Signed by another key under the same kid, claiming our issuer.
    let forged = other.sign(Some("logout+jwt"), &idp.claims("j1"));
    assert_eq!(
        v.verify(&forged).await,
        Err(LogoutTokenError::Token(VerifyError::BadSignature))
    );
    // alg none.
    let good = idp.sign(Some("logout+jwt"), &idp.claims("j2"));
    let payload = good.split('.').nth(1).unwrap();
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"alg":"none","typ":"logout+jwt","kid":"k1"}"#);
    let none = format!("{header}.{payload}.AAAA");
    assert_eq!(
        v.verify(&none).await,
        Err(LogoutTokenError::Token(VerifyError::AlgMismatch(
            "none".into()
        )))
    );
    // The tampered token was never accepted, so the real one still is.
    assert!(v.verify(&good).await.is_ok());
}

#[tokio::test]
async fn a_full_replay_cache_refuses_and_forgets_only_expired_entries() {
    let (idp, v, clock) = setup().await;
    let v = v.replay_capacity(2);
    for j in ["a", "b"] {
        assert!(
            v.verify(&idp.sign(Some("logout+jwt"), &idp.claims(j)))
                .await
                .is_ok()
        );
    }
    let c = idp.sign(Some("logout+jwt"), &idp.claims("c"));
    assert_eq!(v.verify(&c).await, Err(LogoutTokenError::ReplayCacheFull));
    // Once the remembered tokens can no longer be accepted, their entries make room.
    clock.advance(120 + 61);
    let mut fresh = idp.claims("d");
    fresh["iat"] = json!(NOW + 181);
    fresh["exp"] = json!(NOW + 301);
    assert!(
        v.verify(&idp.sign(Some("logout+jwt"), &fresh))
            .await
            .is_ok()
    );
}
