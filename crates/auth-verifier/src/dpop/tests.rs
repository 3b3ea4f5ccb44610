//! One test per refusal of RFC 9449 §4.3, plus the accepted algorithms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, EdDSA, JwsSigner, PS256, RS256};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;

const NOW: i64 = 1_800_000_000;
const URI: &str = "https://api.example.com/orders";
const TOKEN: &str = "eyJ.access.token";

struct Key {
    signer: Box<dyn JwsSigner>,
    public: Value,
    private: Value,
}

fn es256() -> Key {
    let kp = ES256.generate_key_pair().unwrap();
    Key {
        signer: Box::new(ES256.signer_from_jwk(&kp.to_jwk_private_key()).unwrap()),
        public: Value::Object(kp.to_jwk_public_key().as_ref().clone()),
        private: Value::Object(kp.to_jwk_private_key().as_ref().clone()),
    }
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn claims() -> Value {
    json!({"jti": "e1j3V_bKic8-LAEB", "htm": "GET", "htu": URI, "iat": NOW, "ath": ath(TOKEN)})
}

fn header(alg: &str, key: &Key) -> Value {
    json!({"typ": "dpop+jwt", "alg": alg, "jwk": key.public})
}

fn sign(header: &Value, claims: &Value, signer: &dyn JwsSigner) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn check() -> ProofCheck<'static> {
    ProofCheck {
        method: "GET",
        uri: "https://API.example.com:443/orders?page=2",
        access_token: Some(TOKEN),
        now: NOW,
        ..ProofCheck::default()
    }
}

fn outcome(proof: &str, check: &ProofCheck<'_>) -> Result<VerifiedProof, DpopError> {
    Proof::parse(proof)?.verify(check)
}

#[test]
fn a_valid_es256_proof_gives_the_key_thumbprint() {
    let key = es256();
    let proof = sign(&header("ES256", &key), &claims(), &*key.signer);
    let parsed = Proof::parse(&proof).unwrap();
    assert_eq!((parsed.jti(), parsed.iat()), ("e1j3V_bKic8-LAEB", NOW));
    let v = parsed.verify(&check()).unwrap();
    let jwk = key.public.as_object().unwrap();
    let expected =
        auth_core::jwk::Jwk::ec_p256(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .thumbprint()
            .unwrap();
    assert_eq!(v.jkt, expected);
    assert_eq!(v.jti, "e1j3V_bKic8-LAEB");
    assert_eq!(v.replayable_until, NOW + 65);
}

#[test]
fn rs256_ps256_and_eddsa_proofs_verify() {
    let rsa = RS256.generate_key_pair(2048).unwrap();
    let pss = PS256.generate_key_pair(2048).unwrap();
    let ed = EdDSA
        .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
        .unwrap();
    let cases: Vec<(&str, Box<dyn JwsSigner>, Value)> = vec![
        (
            "RS256",
            Box::new(RS256.signer_from_jwk(&rsa.to_jwk_private_key()).unwrap()),
            Value::Object(rsa.to_jwk_public_key().as_ref().clone()),
        ),
        // A PSS key pair's public JWK is a plain RSA key.
        (
            "PS256",
            Box::new(PS256.signer_from_jwk(&pss.to_jwk_private_key()).unwrap()),
            Value::Object(pss.to_jwk_public_key().as_ref().clone()),
        ),
        (
            "EdDSA",
            Box::new(EdDSA.signer_from_jwk(&ed.to_jwk_private_key()).unwrap()),
            Value::Object(ed.to_jwk_public_key().as_ref().clone()),
        ),
    ];
    for (alg, signer, public) in cases {
        let h = json!({"typ": "dpop+jwt", "alg": alg, "jwk": public});
        let v = outcome(&sign(&h, &claims(), &*signer), &check());
        assert!(v.is_ok(), "{alg}: {v:?}");
    }
}

#[test]
fn structural_refusals_happen_at_parse() {
    let key = es256();
    let good = sign(&header("ES256", &key), &claims(), &*key.signer);
    let reason = |p: &str| Proof::parse(p).err().map(|e| e.reason());
    assert_eq!(reason("a.b"), Some("malformed"));
    assert_eq!(reason(&format!("{good}.x")), Some("malformed"));
    assert_eq!(reason("!!.e30.e30"), Some("malformed"));
    assert_eq!(reason(&"a".repeat(MAX_PROOF_BYTES + 1)), Some("too_large"));
    let with = |h: Value| sign(&h, &claims(), &*key.signer);
    let mut h = header("ES256", &key);
    h["typ"] = json!("JWT");
    assert_eq!(reason(&with(h.clone())), Some("typ"), "wrong typ");
    h.as_object_mut().unwrap().remove("typ");
    assert_eq!(reason(&with(h)), Some("typ"), "no typ");
    for alg in ["none", "HS256", "ES384", ""] {
        assert_eq!(reason(&with(header(alg, &key))), Some("alg"), "{alg}");
    }
    let mut h = header("ES256", &key);
    h.as_object_mut().unwrap().remove("jwk");
    assert_eq!(reason(&with(h)), Some("jwk"), "no jwk");
    let mut h = header("ES256", &key);
    h["jwk"] = key.private.clone();
    assert_eq!(reason(&with(h)), Some("jwk_private"));
    let mut h = header("ES256", &key);
    h["crit"] = json!(["exp"]);
    assert_eq!(reason(&with(h)), Some("crit"));
    for claim in ["jti", "htm", "htu", "iat"] {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(claim);
        let p = sign(&header("ES256", &key), &c, &*key.signer);
        assert_eq!(Proof::parse(&p).err(), Some(DpopError::MissingClaim(claim)));
    }
    let mut c = claims();
    c["iat"] = json!("1800000000");
    let p = sign(&header("ES256", &key), &c, &*key.signer);
    assert_eq!(reason(&p), Some("malformed"), "iat of the wrong type");
}

#[test]
fn an_alg_that_does_not_fit_the_key_is_refused() {
    let key = es256();
    let p = sign(&header("RS256", &key), &claims(), &*key.signer);
    assert_eq!(outcome(&p, &check()).err(), Some(DpopError::AlgKeyMismatch));
    let mut h = header("ES256", &key);
    h["jwk"]["alg"] = json!("ES384");
    let p = sign(&h, &claims(), &*key.signer);
    assert_eq!(outcome(&p, &check()).err(), Some(DpopError::AlgKeyMismatch));
}

#[test]
fn a_signature_by_another_key_or_tampered_claims_is_refused() {
    let (key, other) = (es256(), es256());
    let p = sign(&header("ES256", &key), &claims(), &*other.signer);
    assert_eq!(outcome(&p, &check()).err(), Some(DpopError::BadSignature));
    let good = sign(&header("ES256", &key), &claims(), &*key.signer);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut c = claims();
    c["htu"] = json!("https://api.example.com/orders/");
    parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
    let tampered = parts.join(".");
    let moved = ProofCheck {
        uri: "https://api.example.com/orders/",
        ..check()
    };
    assert_eq!(
        outcome(&tampered, &moved).err(),
        Some(DpopError::BadSignature)
    );
    // A zero r || s is refused before the curve arithmetic.
    parts[1] = good.split('.').nth(1).unwrap().to_owned();
    parts[2] = URL_SAFE_NO_PAD.encode([0u8; 64]);
    assert_eq!(
        outcome(&parts.join("."), &check()).err(),
        Some(DpopError::BadSignature)
    );
}

#[test]
fn method_uri_and_nonce_must_match_the_request() {
    let key = es256();
    let p = sign(&header("ES256", &key), &claims(), &*key.signer);
    let post = ProofCheck {
        method: "POST",
        ..check()
    };
    assert_eq!(outcome(&p, &post).err(), Some(DpopError::MethodMismatch));
    let other = ProofCheck {
        uri: "https://api.example.com/admin",
        ..check()
    };
    assert_eq!(outcome(&p, &other).err(), Some(DpopError::UriMismatch));
    let nonce = ProofCheck {
        nonce: Some("n-1"),
        ..check()
    };
    assert_eq!(outcome(&p, &nonce).err(), Some(DpopError::NonceMissing));
    assert_eq!(DpopError::NonceMissing.error_code(), "use_dpop_nonce");
    let mut c = claims();
    c["nonce"] = json!("n-0");
    let p = sign(&header("ES256", &key), &c, &*key.signer);
    assert_eq!(outcome(&p, &nonce).err(), Some(DpopError::NonceMismatch));
    assert_eq!(Proof::parse(&p).unwrap().nonce(), Some("n-0"));
    c["nonce"] = json!("n-1");
    let p = sign(&header("ES256", &key), &c, &*key.signer);
    assert!(outcome(&p, &nonce).is_ok());
}

#[test]
fn iat_must_be_within_the_window() {
    let key = es256();
    let p = sign(&header("ES256", &key), &claims(), &*key.signer);
    let at = |now: i64| outcome(&p, &ProofCheck { now, ..check() }).err();
    assert_eq!(at(NOW + 65), None, "max age plus leeway is still accepted");
    assert_eq!(at(NOW + 66), Some(DpopError::Stale));
    assert_eq!(at(NOW + 100_000), Some(DpopError::Stale));
    assert_eq!(at(NOW - 5), None, "clock skew within the leeway");
    assert_eq!(at(NOW - 6), Some(DpopError::Future));
    let short = ProofCheck {
        now: NOW + 11,
        max_age_secs: 10,
        leeway_secs: 0,
        ..check()
    };
    assert_eq!(outcome(&p, &short).err(), Some(DpopError::Stale));
}

#[test]
fn ath_is_required_with_an_access_token_and_must_hash_it() {
    let key = es256();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("ath");
    let p = sign(&header("ES256", &key), &c, &*key.signer);
    assert_eq!(outcome(&p, &check()).err(), Some(DpopError::MissingAth));
    let token_endpoint = ProofCheck {
        access_token: None,
        ..check()
    };
    assert!(
        outcome(&p, &token_endpoint).is_ok(),
        "no ath without an access token"
    );
    c["ath"] = json!(ath("another.token"));
    let p = sign(&header("ES256", &key), &c, &*key.signer);
    assert_eq!(outcome(&p, &check()).err(), Some(DpopError::AthMismatch));
}

#[test]
fn reasons_are_distinct() {
    let all = [
        DpopError::Missing,
        DpopError::Multiple,
        DpopError::TooLarge(1),
        DpopError::Malformed("x"),
        DpopError::WrongType,
        DpopError::UnsupportedCrit,
        DpopError::UnsupportedAlg("x".into()),
        DpopError::BadKey("x"),
        DpopError::PrivateKey,
        DpopError::AlgKeyMismatch,
        DpopError::BadSignature,
        DpopError::MissingClaim("x"),
        DpopError::MethodMismatch,
        DpopError::UriMismatch,
        DpopError::Stale,
        DpopError::Future,
        DpopError::MissingAth,
        DpopError::AthMismatch,
        DpopError::NonceMissing,
        DpopError::NonceMismatch,
        DpopError::Replayed,
        DpopError::ReplayCacheFull,
    ];
    let reasons: std::collections::HashSet<_> = all.iter().map(DpopError::reason).collect();
    assert_eq!(reasons.len(), all.len());
    assert_eq!(supported_algs(), "ES256 PS256 RS256 EdDSA");
}

#[test]
fn the_key_cache_is_keyed_by_algorithm_and_thumbprint() {
    let cache = KeyCache::new(16);
    let key = es256();
    let mut c = claims();
    for jti in ["j1", "j2"] {
        c["jti"] = json!(jti);
        let p = Proof::parse(&sign(&header("ES256", &key), &c, &*key.signer)).unwrap();
        let k = cache.key_of(&p).unwrap();
        assert!(p.verify_with_key(&check(), &k).is_ok());
    }
    assert_eq!(cache.len(), 1, "one client key, parsed once");
    // One RSA key signing RS256 and PS256 proofs: two verifiers, each bound to its algorithm.
    let rsa = RS256.generate_key_pair(2048).unwrap();
    let (public, mut private) = (rsa.to_jwk_public_key(), rsa.to_jwk_private_key());
    let mut public = Value::Object(public.as_ref().clone());
    public.as_object_mut().unwrap().remove("alg");
    let mut map = private.as_ref().clone();
    map.remove("alg");
    private = josekit::jwk::Jwk::from_map(map).unwrap();
    let rs = RS256.signer_from_jwk(&private).unwrap();
    let ps = PS256.signer_from_jwk(&private).unwrap();
    let rs_proof = sign(
        &json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": public}),
        &c,
        &rs,
    );
    let ps_proof = sign(
        &json!({"typ": "dpop+jwt", "alg": "PS256", "jwk": public}),
        &c,
        &ps,
    );
    for p in [rs_proof, ps_proof] {
        let p = Proof::parse(&p).unwrap();
        let k = cache.key_of(&p).unwrap();
        assert!(p.verify_with_key(&check(), &k).is_ok(), "{:?}", p.alg());
    }
    assert_eq!(cache.len(), 3);
    // A cached key never verifies a proof whose thumbprint differs (another key).
    let other = es256();
    let p = Proof::parse(&sign(&header("ES256", &other), &c, &*other.signer)).unwrap();
    let first = Proof::parse(&sign(&header("ES256", &key), &c, &*key.signer)).unwrap();
    let k = cache.key_of(&first).unwrap();
    assert_eq!(
        p.verify_with_key(&check(), &k).err(),
        Some(DpopError::BadSignature)
    );
}

#[test]
fn rsa_keys_too_costly_to_verify_are_refused() {
    let key = |n: String, e: &str| {
        let jwk = json!({"kty": "RSA", "n": n, "e": e});
        super::key::parse_key(ProofAlg::Rs256, jwk.as_object().unwrap(), String::new()).err()
    };
    // 4104 bits.
    assert_eq!(
        key("_".repeat(684), "AQAB"),
        Some(DpopError::BadKey("RSA key over 4096 bits"))
    );
    // A 5-byte exponent on a 2064-bit modulus.
    assert_eq!(
        key("_".repeat(344), "AQAAAAE"),
        Some(DpopError::BadKey("RSA exponent longer than 4 bytes"))
    );
}
