//! The verifier's token parsing and validation (`auth_verifier` `validate.rs`, `claims.rs`),
//! through `auth_verifier::fuzzing::check_token`, against a fixed key set of one ES256 and one
//! RS256 key (generated once per process), so that signature checks run.
//!
//! - Raw strings as compact JWS: never a panic; nothing unsigned is accepted.
//! - Tokens built from an arbitrary header (`alg`, `kid`, `typ`, `crit`) and payload, really signed
//!   with one of the keys (or with a key outside the set), then possibly altered in one byte: a
//!   token is accepted only if it is unaltered, its `kid` names the key that signed it, and its
//!   `alg` is that key's algorithm (never `none`, `HS256` or the other key's algorithm).
//! - Claims: a payload that parses re-serialises (from `Claims::extra`) to one that parses to the
//!   same claims; `iss` and `exp` are always present.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::Alg;
use auth_verifier::fuzzing::{KeySet, check_token, parse_claims, parse_jwks};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::KeyPair;
use josekit::jws::{ES256, JwsSigner, RS256};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

struct Fixture {
    keys: KeySet,
    es: Box<dyn JwsSigner>,
    rs: Box<dyn JwsSigner>,
    /// An ES256 key that is not in the set.
    stranger: Box<dyn JwsSigner>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let es = ES256.generate_key_pair().unwrap_or_else(|e| panic!("{e}"));
        let rs = RS256.generate_key_pair(2048).unwrap_or_else(|e| panic!("{e}"));
        let stranger = ES256.generate_key_pair().unwrap_or_else(|e| panic!("{e}"));
        let mut es_pub = es.to_jwk_public_key();
        let mut rs_pub = rs.to_jwk_public_key();
        let _ = es_pub.set_key_id("es");
        let _ = rs_pub.set_key_id("rs");
        let jwks = json!({"keys": [Value::Object(es_pub.as_ref().clone()), Value::Object(rs_pub.as_ref().clone())]});
        let (keys, skipped) = parse_jwks(jwks.to_string().as_bytes(), &Alg::ALL)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((keys.len(), skipped.len()), (2, 0), "{skipped:?}");
        let signer = |alg: &str, k: &josekit::jwk::Jwk| -> Box<dyn JwsSigner> {
            match alg {
                "ES256" => Box::new(ES256.signer_from_jwk(k).unwrap_or_else(|e| panic!("{e}"))),
                _ => Box::new(RS256.signer_from_jwk(k).unwrap_or_else(|e| panic!("{e}"))),
            }
        };
        Fixture {
            keys,
            es: signer("ES256", &es.to_jwk_private_key()),
            rs: signer("RS256", &rs.to_jwk_private_key()),
            stranger: signer("ES256", &stranger.to_jwk_private_key()),
        }
    })
}

#[derive(Debug, Arbitrary)]
enum Text {
    Pick(u8),
    Any(String),
}

impl Text {
    fn get(self, choices: &[&str]) -> String {
        match self {
            Text::Pick(i) => choices[usize::from(i) % choices.len()].to_owned(),
            Text::Any(s) => s,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Number {
    Int(i64),
    Float(f64),
    Str(String),
    Null,
}

impl Number {
    fn json(self) -> Value {
        match self {
            Number::Int(i) => json!(i),
            Number::Float(f) => json!(f),
            Number::Str(s) => json!(s),
            Number::Null => Value::Null,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Built {
    alg: Option<Text>,
    kid: Option<Text>,
    typ: Option<Text>,
    crit: bool,
    /// 0: the ES256 key, 1: the RS256 key (rarely: RSA signing is slow), else a key outside the set.
    signer: u8,
    iss: Option<Text>,
    exp: Option<Number>,
    nbf: Option<Number>,
    iat: Option<Number>,
    aud: Option<Vec<String>>,
    scope: Option<Text>,
    extra: Option<(String, String)>,
    raw_payload: Option<Vec<u8>>,
    /// Alter the byte at this index (xor with the second value), if any.
    alter: Option<(u16, u8)>,
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn check_claims_round_trip(payload: &[u8]) {
    let Ok(c) = parse_claims(payload) else {
        return;
    };
    let again = serde_json::to_vec(&c.extra).unwrap_or_else(|e| panic!("{e}"));
    // Not `c == c2`: serde_json (without its `float_roundtrip` feature) may read a re-serialised
    // float one ULP off (first run of this target), so floats in `extra`, and a NumericDate within
    // one ULP of an integer, may differ by that much.
    let c2 = match parse_claims(&again) {
        Ok(c2) => c2,
        Err(e) => panic!("re-serialised claims refused: {e:?}"),
    };
    assert_eq!(
        (&c.iss, &c.sub, &c.aud, &c.jti, &c.client_id, &c.scopes),
        (
            &c2.iss,
            &c2.sub,
            &c2.aud,
            &c2.jti,
            &c2.client_id,
            &c2.scopes
        )
    );
    let near = |a: i64, b: i64| a.abs_diff(b) <= 1;
    assert!(near(c.exp, c2.exp));
    for (a, b) in [(c.nbf, c2.nbf), (c.iat, c2.iat)] {
        assert!(a.is_some() == b.is_some() && near(a.unwrap_or(0), b.unwrap_or(0)));
    }
    assert!(c.extra.keys().eq(c2.extra.keys()));
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut u = Unstructured::new(data);
    let Ok(built) = bool::arbitrary(&mut u) else {
        return;
    };
    if !built {
        // Raw token text (and the same bytes as a payload).
        let rest = u.take_rest();
        check_claims_round_trip(rest);
        if let Ok(token) = std::str::from_utf8(rest)
            && let Ok(ok) = check_token(token, &f.keys)
        {
            panic!("an unsigned fuzz input was accepted: {ok:?}");
        }
        return;
    }
    let Ok(b) = Built::arbitrary(&mut u) else {
        return;
    };
    let mut header = serde_json::Map::new();
    if let Some(a) = b.alg {
        header.insert(
            "alg".into(),
            json!(a.get(&["ES256", "RS256", "none", "HS256", "es256"])),
        );
    }
    if let Some(k) = b.kid {
        header.insert("kid".into(), json!(k.get(&["es", "rs", "other", ""])));
    }
    if let Some(t) = b.typ {
        header.insert(
            "typ".into(),
            json!(t.get(&["at+jwt", "application/at+jwt", "JWT", "AT+JWT"])),
        );
    }
    if b.crit {
        header.insert("crit".into(), json!(["exp"]));
    }
    let payload = match b.raw_payload {
        Some(p) => p,
        None => {
            let mut c = serde_json::Map::new();
            if let Some(i) = b.iss {
                c.insert("iss".into(), json!(i.get(&["https://idp.example"])));
            }
            for (name, v) in [("exp", b.exp), ("nbf", b.nbf), ("iat", b.iat)] {
                if let Some(v) = v {
                    c.insert(name.into(), v.json());
                }
            }
            if let Some(a) = b.aud {
                c.insert("aud".into(), json!(a));
            }
            if let Some(s) = b.scope {
                c.insert("scope".into(), json!(s.get(&["a b", " a  b ", ""])));
            }
            if let Some((k, v)) = b.extra {
                c.insert(k, json!(v));
            }
            serde_json::to_vec(&c).unwrap_or_default()
        }
    };
    check_claims_round_trip(&payload);
    let signing_input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header).unwrap_or_default()),
        b64(&payload)
    );
    let (signer, signer_kid): (&dyn JwsSigner, &str) = match b.signer {
        0..=127 => (&*f.es, "es"),
        128..=131 => (&*f.rs, "rs"),
        _ => (&*f.stranger, "stranger"),
    };
    let Ok(sig) = signer.sign(signing_input.as_bytes()) else {
        return;
    };
    let token = format!("{signing_input}.{}", b64(&sig));
    let mut altered = token.clone().into_bytes();
    if let Some((i, x)) = b.alter
        && !altered.is_empty()
    {
        let i = usize::from(i) % altered.len();
        altered[i] ^= x;
    }
    let Ok(altered) = String::from_utf8(altered) else {
        return;
    };
    match check_token(&altered, &f.keys) {
        Ok(ok) => {
            assert_eq!(altered, token, "an altered token was accepted");
            assert_eq!(
                ok.kid, signer_kid,
                "accepted under a key that did not sign it"
            );
            assert_eq!(
                ok.header_alg,
                ok.key_alg.as_str(),
                "alg differs from the key's"
            );
            let key = f.keys.get(&ok.kid).map(|k| k.alg);
            assert_eq!(key, Some(ok.key_alg));
        }
        Err(_) => {}
    }
});
