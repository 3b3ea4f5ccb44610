//! JWKS parsing: the shared serde types (`auth_core::jwk`) and the verifier's key-set parser
//! (`auth_verifier::fuzzing::parse_jwks`).
//!
//! - A `JwkSet` (or a single `Jwk`) that parses re-serialises to JSON that parses to the same
//!   value, with the same RFC 7638 thumbprint.
//! - `parse_jwks` never panics; every usable key has a kid, an allowed algorithm matching its
//!   `kty`, and the signature length of that algorithm; parsing the same document twice gives the
//!   same keys; a key is usable only if `auth_core` could parse it too.
//! - Structured mode: a set assembled from real public keys and altered members (wrong `alg`,
//!   `use`, short coordinates, small moduli, duplicate kids) to get past the JSON layer.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::Alg;
use auth_core::jwk::{Jwk, JwkSet};
use auth_verifier::fuzzing::{MIN_RSA_BITS, parse_jwks};
use josekit::jwk::KeyPair;
use josekit::jws::{ES256, RS256};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Public members of one real ES256 and one real RS256 key.
fn real_keys() -> &'static [Jwk; 2] {
    static K: OnceLock<[Jwk; 2]> = OnceLock::new();
    K.get_or_init(|| {
        let parse = |j: josekit::jwk::Jwk| -> Jwk {
            serde_json::from_value(Value::Object(j.as_ref().clone()))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let es = ES256.generate_key_pair().unwrap_or_else(|e| panic!("{e}"));
        let rs = RS256
            .generate_key_pair(2048)
            .unwrap_or_else(|e| panic!("{e}"));
        [parse(es.to_jwk_public_key()), parse(rs.to_jwk_public_key())]
    })
}

#[derive(Debug, Arbitrary)]
enum Member {
    Keep,
    Drop,
    Pick(u8),
    Any(String),
}

const VALUES: [&str; 12] = [
    "ES256", "RS256", "none", "HS256", "sig", "enc", "P-256", "P-384", "EC", "RSA", "AQAB", "",
];

fn member(m: Member, current: &Option<String>) -> Option<String> {
    match m {
        Member::Keep => current.clone(),
        Member::Drop => None,
        Member::Pick(i) => Some(VALUES[usize::from(i) % VALUES.len()].to_owned()),
        Member::Any(s) => Some(s),
    }
}

#[derive(Debug, Arbitrary)]
struct KeyEdit {
    rsa: bool,
    kid: Member,
    use_: Member,
    alg: Member,
    crv: Member,
    kty: Option<String>,
    /// Truncate `n`/`x` to this many characters.
    truncate: Option<u16>,
}

fn check(body: &[u8], allowed: &[Alg]) {
    // auth-core's serde types round-trip.
    if let Ok(set) = serde_json::from_slice::<JwkSet>(body) {
        let again = serde_json::to_vec(&set).unwrap_or_else(|e| panic!("{e}"));
        let set2: JwkSet = serde_json::from_slice(&again).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set, set2);
        for (a, b) in set.keys.iter().zip(&set2.keys) {
            assert_eq!(a.thumbprint(), b.thumbprint());
        }
    }
    if let Ok(jwk) = serde_json::from_slice::<Jwk>(body) {
        let again = serde_json::to_vec(&jwk).unwrap_or_else(|e| panic!("{e}"));
        let jwk2: Jwk = serde_json::from_slice(&again).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jwk, jwk2);
    }
    // The verifier's parser.
    let Ok((keys, skipped)) = parse_jwks(body, allowed) else {
        return;
    };
    let raw: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}"));
    let total = raw["keys"].as_array().map_or(0, Vec::len);
    assert!(keys.len() + skipped.len() <= total);
    for kid in keys.kids() {
        let Some(k) = keys.get(kid) else {
            panic!("kid {kid:?} listed but not found");
        };
        assert_eq!(k.kid, kid);
        assert!(allowed.contains(&k.alg), "{:?} not allowed", k.alg);
        match k.alg {
            Alg::Es256 => assert_eq!(k.signature_len, 64),
            Alg::Rs256 => assert!(k.signature_len >= MIN_RSA_BITS / 8),
        }
        // The key came from a member of `keys` that auth-core parses, with this kid.
        let from_core = raw["keys"].as_array().into_iter().flatten().any(|v| {
            serde_json::from_value::<Jwk>(v.clone())
                .is_ok_and(|j| j.kid.as_deref() == Some(kid) && j.kty == k.alg.key_type())
        });
        assert!(from_core, "key {kid:?} has no auth-core counterpart");
    }
    let (again, _) = parse_jwks(body, allowed).unwrap_or_else(|e| panic!("{e}"));
    assert!(keys.same_keys(&again) && again.same_keys(&keys));
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(mode) = u8::arbitrary(&mut u) else {
        return;
    };
    let allowed: &[Alg] = match mode % 3 {
        0 => &Alg::ALL,
        1 => &[Alg::Es256],
        _ => &[Alg::Rs256],
    };
    if mode < 128 {
        check(u.take_rest(), allowed);
        return;
    }
    let Ok(edits) = Vec::<KeyEdit>::arbitrary(&mut u) else {
        return;
    };
    let real = real_keys();
    let keys: Vec<Jwk> = edits
        .into_iter()
        .map(|e| {
            let mut k = real[usize::from(e.rsa)].clone();
            k.kid = member(e.kid, &Some("k".into()));
            k.use_ = member(e.use_, &Some("sig".into()));
            k.alg = member(e.alg, &Some(if e.rsa { "RS256" } else { "ES256" }.into()));
            k.crv = member(e.crv, &k.crv);
            if let Some(t) = e.kty {
                k.kty = t;
            }
            if let Some(n) = e.truncate {
                let cut = |s: &mut Option<String>| {
                    if let Some(s) = s {
                        let n = usize::from(n) % (s.len() + 1);
                        s.truncate(n);
                    }
                };
                cut(&mut k.n);
                cut(&mut k.x);
            }
            k
        })
        .collect();
    let body = serde_json::to_vec(&JwkSet { keys }).unwrap_or_else(|e| panic!("{e}"));
    check(&body, allowed);
});
