//! The attack suite: each forged token is refused with the right error. Every forgery starts from a
//! token that verifies (the positive control), so each refusal is due to the one thing changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::{Alg, Clock};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, HS256, JwsSigner};
use serde_json::{Value, json};
use tests::{Backend, TestServer};

use crate::verifier::{AUD, on_clock, verifier_for};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn forge(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// A fresh ES256 key pair: its public JWK under `kid` (as JSON) and its signer.
fn es256_key(kid: &str) -> (Value, impl JwsSigner) {
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(kid);
    let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
    (serde_json::to_value(public.as_ref()).unwrap(), signer)
}

/// The IdP's own active signer for `alg`, as if the attacker knew nothing but could reuse it: every
/// forgery below that uses it changes exactly one thing.
fn idp_signer(s: &TestServer, alg: Alg) -> (String, Arc<dyn JwsSigner>) {
    let snap = s.app.keys.ring().snapshot();
    let (key, signer) = snap.signing_key(alg, s.clock.now()).unwrap();
    (key.kid.clone(), signer.clone())
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "typ": "at+jwt", "kid": kid})
}

fn claims(s: &TestServer) -> Value {
    let now = s.clock.now();
    json!({"iss": s.base, "sub": "svc", "aud": AUD, "exp": now + 300, "iat": now, "jti": "j1",
           "client_id": "svc", "scope": "a"})
}

/// ECDSA raw `r || s` to DER `SEQUENCE { INTEGER r, INTEGER s }`.
fn to_der(raw: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x = &x[x.iter().position(|b| *b != 0).unwrap_or(x.len() - 1)..];
        let mut v = vec![0x02];
        if x[0] & 0x80 != 0 {
            v.push(u8::try_from(x.len() + 1).unwrap());
            v.push(0);
        } else {
            v.push(u8::try_from(x.len()).unwrap());
        }
        v.extend_from_slice(x);
        v
    };
    let body = [int(&raw[..32]), int(&raw[32..])].concat();
    [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_refused_with_the_right_error() {
    let s = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b.token_cache(0)).await;
    let (es_kid, es) = idp_signer(&s, Alg::Es256);
    let (rs_kid, rs) = idp_signer(&s, Alg::Rs256);
    let sign_es = |m: &[u8]| es.sign(m).unwrap();
    let sign_rs = |m: &[u8]| rs.sign(m).unwrap();
    let good = claims(&s);

    // Positive controls: the unmodified forgeries verify.
    assert!(
        v.verify(&forge(&header("ES256", &es_kid), &good, sign_es))
            .await
            .is_ok()
    );
    assert!(
        v.verify(&forge(&header("RS256", &rs_kid), &good, sign_rs))
            .await
            .is_ok()
    );

    let expect = |token: String, err: VerifyError, what: &'static str| {
        let v = v.clone();
        async move { assert_eq!(v.verify(&token).await.err(), Some(err), "{what}") }
    };

    // alg: none, with and without a signature segment.
    let none = format!(
        "{}.{}.",
        b64(header("none", &es_kid).to_string()),
        b64(good.to_string())
    );
    expect(
        none,
        VerifyError::Malformed("empty segment"),
        "alg none, empty signature",
    )
    .await;
    expect(
        forge(&header("none", &es_kid), &good, |_| vec![0]),
        VerifyError::AlgMismatch("none".into()),
        "alg none",
    )
    .await;
    // HS256 keyed with the RSA public key (the JWKS entry itself) as the HMAC secret.
    let jwks = s.jwks().await;
    let rsa_jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == rs_kid.as_str())
        .unwrap();
    let hmac = HS256
        .signer_from_bytes(rsa_jwk.to_string().as_bytes())
        .unwrap();
    expect(
        forge(&header("HS256", &rs_kid), &good, |m| hmac.sign(m).unwrap()),
        VerifyError::AlgMismatch("HS256".into()),
        "HS256 with the public key as secret",
    )
    .await;
    // alg swapped between the issuer's own keys.
    expect(
        forge(&header("RS256", &es_kid), &good, sign_rs),
        VerifyError::AlgMismatch("RS256".into()),
        "alg/key swap",
    )
    .await;
    // Unknown crit, wrong or missing typ, no kid.
    let mut h = header("ES256", &es_kid);
    h["crit"] = json!(["exp-ext"]);
    h["exp-ext"] = json!(1);
    expect(
        forge(&h, &good, sign_es),
        VerifyError::UnsupportedCrit,
        "unknown crit",
    )
    .await;
    let mut h = header("ES256", &es_kid);
    h["typ"] = json!("JWT");
    expect(forge(&h, &good, sign_es), VerifyError::WrongType, "typ JWT").await;
    h.as_object_mut().unwrap().remove("typ");
    expect(forge(&h, &good, sign_es), VerifyError::WrongType, "no typ").await;
    let mut h = header("ES256", &es_kid);
    h.as_object_mut().unwrap().remove("kid");
    expect(forge(&h, &good, sign_es), VerifyError::MissingKid, "no kid").await;
    let mut h = header("ES256", &es_kid);
    h["typ"] = json!("application/AT+JWT");
    assert!(
        v.verify(&forge(&h, &good, sign_es)).await.is_ok(),
        "RFC 9068 media type, case-insensitive"
    );

    // Claims: each change refused with its error, or accepted. Extreme numbers: no overflow, no
    // panic (an IdP-signed far-future exp is simply valid).
    let with = |k: &str, val: Value| {
        let mut c = good.clone();
        c[k] = val;
        c
    };
    let now = s.clock.now();
    let h = header("ES256", &es_kid);
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let evil = json!("https://evil.example");
    let refused = [
        (with("iss", evil), VerifyError::UntrustedIssuer, "wrong iss"),
        (
            with("iss", json!(format!("{}/", s.base))),
            VerifyError::UntrustedIssuer,
            "iss not exact",
        ),
        (
            with("aud", json!("https://other.example")),
            VerifyError::WrongAudience,
            "wrong aud",
        ),
        (
            with("aud", json!(["https://a", "https://b"])),
            VerifyError::WrongAudience,
            "aud list without us",
        ),
        (
            with("exp", json!(now - 31)),
            VerifyError::Expired,
            "expired",
        ),
        (
            with("nbf", json!(now + 120)),
            VerifyError::NotYetValid,
            "nbf in the future",
        ),
        (
            with("iat", json!(now + 120)),
            VerifyError::NotYetValid,
            "iat in the future",
        ),
        (
            with("exp", json!((now + 300).to_string())),
            VerifyError::InvalidClaim("exp"),
            "exp as a string",
        ),
        (no_exp, VerifyError::InvalidClaim("exp"), "no exp"),
        (
            with("aud", json!(7)),
            VerifyError::InvalidClaim("aud"),
            "aud as a number",
        ),
        (
            with("exp", json!(i64::MIN)),
            VerifyError::Expired,
            "exp MIN",
        ),
        (
            with("nbf", json!(i64::MAX)),
            VerifyError::NotYetValid,
            "nbf MAX",
        ),
        (
            with("exp", json!(1e300)),
            VerifyError::InvalidClaim("exp"),
            "exp 1e300",
        ),
    ];
    for (claims, err, what) in refused {
        expect(forge(&h, &claims, sign_es), err, what).await;
    }
    let accepted = [
        (with("aud", json!(["https://a", AUD])), "aud list with us"),
        (with("exp", json!(now - 29)), "within the leeway"),
        (with("exp", json!(i64::MAX)), "exp MAX"),
    ];
    for (claims, what) in accepted {
        let token = forge(&h, &claims, sign_es);
        assert!(v.verify(&token).await.is_ok(), "{what}");
    }

    // Shape.
    let ok = forge(&h, &good, sign_es);
    expect(
        format!("{ok}.extra"),
        VerifyError::Malformed("not three segments"),
        "four segments",
    )
    .await;
    expect(
        ok.replacen('.', "", 1),
        VerifyError::Malformed("not three segments"),
        "two segments",
    )
    .await;
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(50_000),
        "b".repeat(50_000),
        "c".repeat(500)
    );
    expect(
        huge,
        VerifyError::TooLarge(auth_verifier::DEFAULT_MAX_TOKEN_BYTES),
        "100 KB token",
    )
    .await;
    expect(
        format!("{}.%%%.{}", b64(h.to_string()), b64([1u8; 64])),
        VerifyError::Malformed("payload is not base64url"),
        "bad base64",
    )
    .await;

    // ECDSA signature forms.
    expect(
        forge(&h, &good, |_| vec![0u8; 64]),
        VerifyError::BadSignature,
        "r = s = 0",
    )
    .await;
    expect(
        forge(&h, &good, |m| to_der(&es.sign(m).unwrap())),
        VerifyError::BadSignature,
        "DER-encoded ECDSA",
    )
    .await;
    let mut flipped = es.sign(b"x").unwrap();
    flipped[10] ^= 1;
    expect(
        forge(&h, &good, |_| flipped),
        VerifyError::BadSignature,
        "signature of something else",
    )
    .await;
}

/// A TCP listener that counts connections: where a `jku`/`x5u` would point.
async fn trap() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_named_by_the_token_itself_are_never_used() {
    let s = TestServer::start(Backend::Sqlite).await;
    let other = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b.token_cache(0)).await;
    let (es_kid, _) = idp_signer(&s, Alg::Es256);
    let good = claims(&s);
    let (attacker_jwk, attacker_signer) = es256_key("attacker");
    let (trap_url, trap_hits) = trap().await;

    for (name, value) in [
        ("jku", json!(trap_url)),
        ("x5u", json!(trap_url)),
        ("jwk", attacker_jwk),
        ("x5c", json!(["MIIBszCCAVmgAwIBAgIUQ"])),
    ] {
        for kid in ["attacker", es_kid.as_str()] {
            let mut h = header("ES256", kid);
            h[name] = value.clone();
            let token = forge(&h, &good, |m| attacker_signer.sign(m).unwrap());
            let expected = if kid == "attacker" {
                VerifyError::UnknownKid
            } else {
                VerifyError::BadSignature
            };
            assert_eq!(
                v.verify(&token).await.err(),
                Some(expected),
                "{name} with kid {kid}"
            );
        }
    }
    assert_eq!(
        trap_hits.load(Ordering::SeqCst),
        0,
        "the verifier never contacted a URL from the token"
    );

    // A kid (and valid signature) from another issuer, claiming to be from ours.
    let (other_kid, other_signer) = idp_signer(&other, Alg::Es256);
    let token = forge(&header("ES256", &other_kid), &good, |m| {
        other_signer.sign(m).unwrap()
    });
    assert_eq!(v.verify(&token).await.err(), Some(VerifyError::UnknownKid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_with_bad_keys_still_serves_its_good_ones() {
    let (good_json, signer) = es256_key("good-ec");
    let mut enc = good_json.clone();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    let mut oaep = good_json.clone();
    oaep["kid"] = json!("oaep");
    oaep["alg"] = json!("RSA-OAEP");
    let jwks = json!({"keys": [
        enc,
        oaep,
        {"kty": "RSA", "kid": "weak-rsa", "alg": "RS256", "n": b64([0xC1u8; 128]), "e": "AQAB"},
        {"kty": "EC", "kid": "garbage", "crv": "P-256", "x": "!!!", "y": "?"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        42,
        good_json,
    ]});
    let body = jwks.to_string();
    let (issuer, clock, v) = jwks_verifier(axum::routing::get(move || async move { body })).await;
    assert_eq!(
        v.issuer_keys(&issuer).unwrap().kids(),
        vec!["good-ec".to_owned()]
    );
    let now = clock.now();
    let claims = json!({"iss": issuer, "aud": AUD, "exp": now + 60, "sub": "x", "iat": now,
        "jti": "j-skipped", "client_id": "x"});
    let ok = forge(&header("ES256", "good-ec"), &claims, |m| {
        signer.sign(m).unwrap()
    });
    assert!(v.verify(&ok).await.is_ok());
    for kid in ["enc-key", "oaep", "weak-rsa", "garbage", "hmac"] {
        let t = forge(&header("ES256", kid), &claims, |m| signer.sign(m).unwrap());
        assert_eq!(
            v.verify(&t).await.err(),
            Some(VerifyError::UnknownKid),
            "{kid} must have been skipped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_removed_from_the_jwks_is_not_trusted_through_the_cache() {
    let key_a = ES256.generate_key_pair().unwrap();
    let key_b = ES256.generate_key_pair().unwrap();
    let public = |k: &josekit::jwk::alg::ec::EcKeyPair, kid: &str| {
        let mut j = k.to_jwk_public_key();
        j.set_key_id(kid);
        serde_json::to_value(j.as_ref()).unwrap()
    };
    let (pa, pb) = (public(&key_a, "a"), public(&key_b, "b"));
    let served = Arc::new(std::sync::Mutex::new(json!({"keys": [pa, pb]}).to_string()));
    let body = served.clone();
    let (issuer, clock, v) = jwks_verifier(axum::routing::get(move || {
        let body = body.clone();
        async move { body.lock().unwrap().clone() }
    }))
    .await;
    let signer_a = ES256.signer_from_jwk(&key_a.to_jwk_private_key()).unwrap();
    let claims = json!({"iss": issuer, "aud": AUD, "exp": clock.now() + 600, "sub": "x",
        "iat": clock.now(), "jti": "j-removed", "client_id": "x"});
    let token = forge(&header("ES256", "a"), &claims, |m| {
        signer_a.sign(m).unwrap()
    });
    assert!(v.verify(&token).await.is_ok());
    assert!(v.verify(&token).await.is_ok(), "now a cache hit");

    // The issuer replaces key "a" with new material under the same kid: the cached verification
    // was made with the old key, so it is not reused.
    let key_c = ES256.generate_key_pair().unwrap();
    *served.lock().unwrap() = json!({"keys": [public(&key_c, "a"), pb.clone()]}).to_string();
    v.refresh().await;
    assert_eq!(
        v.verify(&token).await.err(),
        Some(VerifyError::BadSignature),
        "a kid with new material is another key"
    );

    // The issuer withdraws key "a" (say it leaked); the verifier's next refresh sees it gone.
    *served.lock().unwrap() = json!({"keys": [pa, pb.clone()]}).to_string();
    v.refresh().await;
    assert!(v.verify(&token).await.is_ok());
    assert!(v.verify(&token).await.is_ok(), "a cache hit again");
    *served.lock().unwrap() = json!({"keys": [pb]}).to_string();
    v.refresh().await;
    assert_eq!(
        v.verify(&token).await.err(),
        Some(VerifyError::UnknownKid),
        "the cached verification is not reused"
    );
}

/// Serves `keys` as `GET <issuer>/keys` on a loopback port, and a verifier trusting that issuer
/// with that JWKS (no discovery), on a manual clock: the issuer, the clock and the verifier.
async fn jwks_verifier(
    keys: axum::routing::MethodRouter,
) -> (String, tests::ManualClock, Verifier) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/keys", keys);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let clock = tests::ManualClock::new(auth_core::SystemClock.now());
    let trusted = IssuerConfig::new(&issuer).jwks_uri(format!("{issuer}/keys"));
    let builder = Verifier::builder(Policy::new(AUD)).issuer(trusted);
    let v = on_clock(builder, &clock).build().await.unwrap();
    (issuer, clock, v)
}
