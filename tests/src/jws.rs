//! Reading what the IdP signed, as an independent client would: verifying a compact JWS against a
//! JWKS with josekit, decoding segments, and picking fields out of JSON lists.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, RS256};
use serde_json::Value;

/// Verifies `token` against the keys in `jwks` (chosen by `kid`, with the algorithm the key is bound
/// to), returning `(header, claims)`. Panics if it does not verify.
pub fn verify(token: &str, jwks: &Value) -> (Value, Value) {
    let header = decode_segment(token, 0);
    let kid = header["kid"].as_str().expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let jose = josekit::jwk::Jwk::from_bytes(serde_json::to_vec(jwk).unwrap()).unwrap();
    let payload = match jwk["alg"].as_str().unwrap() {
        "ES256" => {
            josekit::jws::deserialize_compact(token, &ES256.verifier_from_jwk(&jose).unwrap())
        }
        "RS256" => {
            josekit::jws::deserialize_compact(token, &RS256.verifier_from_jwk(&jose).unwrap())
        }
        other => panic!("unexpected alg {other}"),
    }
    .expect("signature verifies")
    .0;
    (header, serde_json::from_slice(&payload).unwrap())
}

/// The `kid`s of a JWKS.
pub fn kids(jwks: &Value) -> std::collections::BTreeSet<String> {
    let keys = jwks["keys"].as_array().unwrap();
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The string `field` of every object in the JSON array `list`.
pub fn field_of<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

/// Decodes segment `i` of a compact JWS as JSON, without verifying.
pub fn decode_segment(token: &str, i: usize) -> Value {
    let seg = token.split('.').nth(i).expect("segment");
    let bytes = URL_SAFE_NO_PAD.decode(seg).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
