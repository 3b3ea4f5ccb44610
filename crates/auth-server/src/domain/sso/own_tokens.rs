//! Verifying the JWTs this issuer signed (for userinfo, introspection and `id_token_hint`), against
//! the key ring in memory: no network, no database.

use auth_core::Alg;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::domain::keys::KeyManager;

/// Longest token considered.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token is not one of ours, or not valid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OwnTokenError {
    /// Malformed, unknown key, bad signature, wrong `iss` or `typ`.
    #[error("invalid token")]
    Invalid,
    /// Past `exp`.
    #[error("expired token")]
    Expired,
}

/// Verifies `token` as signed by one of our keys (published now), with header `typ` and our `iss`.
/// `exp` is checked unless `allow_expired` (an `id_token_hint` may have expired, OIDC RP-Initiated
/// Logout §2). Returns the claims.
pub fn verify(
    keys: &KeyManager,
    issuer: &str,
    token: &str,
    typ: &str,
    now: i64,
    allow_expired: bool,
) -> Result<Map<String, Value>, OwnTokenError> {
    use OwnTokenError::Invalid;
    if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
        return Err(Invalid);
    }
    let header_b64 = token.split('.').next().ok_or(Invalid)?;
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Invalid)?;
    if header.contains_key("crit") || header.get("typ").and_then(Value::as_str) != Some(typ) {
        return Err(Invalid);
    }
    let alg: Alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or(Invalid)?;
    let kid = header.get("kid").and_then(Value::as_str).ok_or(Invalid)?;
    let snapshot = keys.ring().snapshot();
    let key = snapshot
        .keys
        .iter()
        .find(|k| k.kid == kid && k.alg == alg)
        .ok_or(Invalid)?;
    let jwk_json = serde_json::to_vec(&key.jwk).map_err(|_| Invalid)?;
    let jwk = josekit::jwk::Jwk::from_bytes(&jwk_json).map_err(|_| Invalid)?;
    let payload = match alg {
        Alg::Es256 => {
            let v = josekit::jws::ES256
                .verifier_from_jwk(&jwk)
                .map_err(|_| Invalid)?;
            josekit::jws::deserialize_compact(token, &v)
        }
        Alg::Rs256 => {
            let v = josekit::jws::RS256
                .verifier_from_jwk(&jwk)
                .map_err(|_| Invalid)?;
            josekit::jws::deserialize_compact(token, &v)
        }
    }
    .map_err(|_| Invalid)?
    .0;
    let claims: Map<String, Value> = serde_json::from_slice(&payload).map_err(|_| Invalid)?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(Invalid);
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or(Invalid)?;
    if !allow_expired && now >= exp {
        return Err(OwnTokenError::Expired);
    }
    Ok(claims)
}

/// A string claim.
pub fn str_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// `aud` as a list (a string or an array of strings).
pub fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}
