//! Parsing a JWKS into ready verifiers, each bound to exactly one algorithm.
//!
//! Every key is parsed once, here, into a josekit verifier. A key this library cannot or must not use
//! (unknown `kty`, `use` other than `sig`, an algorithm outside the allow-list, RSA under 2048 bits,
//! malformed members) is skipped with a reason; it never fails the whole set.

use std::collections::HashMap;
use std::sync::Arc;

use auth_core::Alg;
use auth_core::jwk::Jwk;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, JwsVerifier, RS256};

/// Smallest RSA modulus accepted (NIST SP 800-131A; RFC 7518 §3.3 requires 2048).
pub const MIN_RSA_BITS: usize = 2048;

/// A public key ready to verify, bound to one algorithm.
pub struct VerifyingKey {
    /// Key id.
    pub kid: String,
    /// The only algorithm this key verifies.
    pub alg: Alg,
    /// The signature length this key produces (64 for ES256, the modulus length for RS256).
    pub signature_len: usize,
    /// The algorithm and public members, as one string: two keys with equal material are the same
    /// key (a kid that comes back with other material is another key).
    pub material: String,
    verifier: Box<dyn JwsVerifier>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Checks `signature` over `message` with this key's algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(message, signature).is_ok()
    }
}

/// The usable keys of one JWKS, by `kid`.
#[derive(Debug, Default, Clone)]
pub struct KeySet {
    by_kid: HashMap<String, Arc<VerifyingKey>>,
}

impl KeySet {
    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.by_kid.get(kid)
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.by_kid.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    /// The key ids, in no particular order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.by_kid.keys().map(String::as_str)
    }

    /// The same set without the keys whose kid `drop` selects.
    pub(crate) fn without(&self, drop: impl Fn(&str) -> bool) -> KeySet {
        KeySet {
            by_kid: self
                .by_kid
                .iter()
                .filter(|(kid, _)| !drop(kid))
                .map(|(kid, k)| (kid.clone(), Arc::clone(k)))
                .collect(),
        }
    }

    /// Whether `other` holds exactly the same keys: the same kids with the same material.
    pub fn same_keys(&self, other: &KeySet) -> bool {
        self.by_kid.len() == other.by_kid.len()
            && self.by_kid.iter().all(|(kid, k)| {
                other
                    .by_kid
                    .get(kid)
                    .is_some_and(|o| o.material == k.material)
            })
    }
}

/// The document is not a JWKS at all (a single bad key is never this error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a JWK Set: {0}")]
pub struct JwksError(pub String);

/// Parses a JWKS document. Returns the usable keys and, for each skipped key, why.
pub fn parse_jwks(body: &[u8], allowed: &[Alg]) -> Result<(KeySet, Vec<String>), JwksError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        keys: Vec<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_slice(body).map_err(|e| JwksError(e.to_string()))?;
    let mut set = KeySet::default();
    let mut skipped = Vec::new();
    let mut duplicated = std::collections::HashSet::new();
    for (i, value) in raw.keys.into_iter().enumerate() {
        match parse_key(value, allowed) {
            Ok(key) => {
                if duplicated.contains(&key.kid) || set.by_kid.contains_key(&key.kid) {
                    skipped.push(format!("key {i} ({}): duplicate kid", key.kid));
                    // Two keys with one kid make `kid -> key` ambiguous: use none of them.
                    set.by_kid.remove(&key.kid);
                    duplicated.insert(key.kid);
                } else {
                    set.by_kid.insert(key.kid.clone(), Arc::new(key));
                }
            }
            Err(why) => skipped.push(format!("key {i}: {why}")),
        }
    }
    Ok((set, skipped))
}

fn parse_key(value: serde_json::Value, allowed: &[Alg]) -> Result<VerifyingKey, String> {
    let jwk: Jwk = serde_json::from_value(value).map_err(|e| format!("malformed: {e}"))?;
    let kid = jwk.kid.clone().ok_or("no kid")?;
    if let Some(u) = &jwk.use_
        && u != "sig"
    {
        return Err(format!("use {u:?} is not sig"));
    }
    // The algorithm comes from the key: its `alg` if present, else its type and curve.
    let alg = match (&jwk.alg, jwk.kty.as_str(), jwk.crv.as_deref()) {
        (Some(a), kty, _) => {
            let alg: Alg = a.parse().map_err(|_| format!("alg {a:?} not supported"))?;
            if alg.key_type() != kty {
                return Err(format!("alg {a} does not fit kty {kty}"));
            }
            alg
        }
        (None, "EC", Some("P-256")) => Alg::Es256,
        (None, "RSA", _) => Alg::Rs256,
        (None, kty, crv) => return Err(format!("kty {kty:?} crv {crv:?} not supported")),
    };
    if !allowed.contains(&alg) {
        return Err(format!("{alg} is not in the allow-list"));
    }
    let b64 = |v: &Option<String>, name: &str| -> Result<Vec<u8>, String> {
        URL_SAFE_NO_PAD
            .decode(v.as_deref().ok_or(format!("no {name}"))?)
            .map_err(|_| format!("{name} is not base64url"))
    };
    // Rebuild the JWK from its public members only, whatever else the document carried.
    let (public, signature_len) = match alg {
        Alg::Es256 => {
            if jwk.crv.as_deref() != Some("P-256") {
                return Err("ES256 needs crv P-256".into());
            }
            let (x, y) = (b64(&jwk.x, "x")?, b64(&jwk.y, "y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".into());
            }
            (
                serde_json::json!({"kty":"EC","crv":"P-256","x":jwk.x,"y":jwk.y}),
                64,
            )
        }
        Alg::Rs256 => {
            let n = b64(&jwk.n, "n")?;
            b64(&jwk.e, "e")?;
            let bits = n
                .iter()
                .position(|b| *b != 0)
                .map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is under {MIN_RSA_BITS}"));
            }
            (
                serde_json::json!({"kty":"RSA","n":jwk.n,"e":jwk.e}),
                bits.div_ceil(8),
            )
        }
    };
    let material = format!("{alg}|{public}");
    let jose = josekit::jwk::Jwk::from_map(match public {
        serde_json::Value::Object(m) => m,
        _ => return Err("internal: not an object".into()),
    })
    .map_err(|e| format!("rejected by josekit: {e}"))?;
    let verifier: Box<dyn JwsVerifier> = match alg {
        Alg::Es256 => Box::new(ES256.verifier_from_jwk(&jose).map_err(|e| format!("{e}"))?),
        Alg::Rs256 => Box::new(RS256.verifier_from_jwk(&jose).map_err(|e| format!("{e}"))?),
    };
    Ok(VerifyingKey {
        kid,
        alg,
        signature_len,
        material,
        verifier,
    })
}
