//! A client's registered public keys (RFC 7517 JWK Set), parsed into verifiers for
//! `private_key_jwt` assertions (RFC 7523 §2.2).
//!
//! The algorithms form an allow-list: ES256 (EC P-256), RS256 and PS256 (RSA of at least 2048
//! bits), EdDSA (OKP Ed25519). Never `none`, never HMAC: an HMAC "key" from a JWK Set would be a
//! shared secret, and a public key used as an HMAC secret is the classic algorithm-confusion forgery.
//! Each key verifies only the algorithms its type fits (its `alg`, if it names one, narrows that to
//! one). A key that cannot be used (unknown type or curve, `use` other than `sig`, RSA under 2048
//! bits, malformed members) is skipped with a reason; only a set with no usable key at all is an
//! error at registration.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, EdDSA, JwsVerifier, PS256, RS256};

/// Smallest RSA modulus accepted (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted: a bigger one only makes each verification slower.
pub const MAX_RSA_BITS: usize = 4096;
/// Longest RSA public exponent accepted, in bytes (65537 is 3): a huge exponent makes each
/// verification cost about as much as a private-key operation.
pub const MAX_RSA_E_BYTES: usize = 4;

/// An algorithm a client assertion may be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlg {
    /// ECDSA P-256 SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    Rs256,
    /// RSASSA-PSS SHA-256.
    Ps256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl AssertionAlg {
    /// Every accepted algorithm, as advertised in discovery
    /// (`token_endpoint_auth_signing_alg_values_supported`, RFC 8414 §2).
    pub const ALL: [AssertionAlg; 4] = [
        AssertionAlg::Es256,
        AssertionAlg::Rs256,
        AssertionAlg::Ps256,
        AssertionAlg::EdDsa,
    ];

    /// The JWA name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            AssertionAlg::Es256 => "ES256",
            AssertionAlg::Rs256 => "RS256",
            AssertionAlg::Ps256 => "PS256",
            AssertionAlg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `name`, if it is on the allow-list.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// One usable key: its id (if any) and a verifier per algorithm it may verify.
pub struct ClientKey {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    verifiers: Vec<(AssertionAlg, Box<dyn JwsVerifier>)>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<_> = self.verifiers.iter().map(|(a, _)| a.as_str()).collect();
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .field("algs", &algs)
            .finish()
    }
}

impl ClientKey {
    /// Whether this key may verify `alg`.
    pub fn fits(&self, alg: AssertionAlg) -> bool {
        self.verifiers.iter().any(|(a, _)| *a == alg)
    }

    /// Checks `signature` over `message` with `alg`; false if the key does not fit `alg`.
    pub fn verify(&self, alg: AssertionAlg, message: &[u8], signature: &[u8]) -> bool {
        self.verifiers
            .iter()
            .any(|(a, v)| *a == alg && v.verify(message, signature).is_ok())
    }
}

/// The document is not a JWK Set, is too large, or has no usable key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeysError(pub String);

/// Parses a JWK Set of at most `max_keys` keys. Returns the usable keys and, per skipped key, why.
/// `private_ok = false` (registration) refuses a set that carries private key material: a client
/// registers only its public keys.
pub fn parse_client_jwks(
    body: &[u8],
    max_keys: usize,
    private_ok: bool,
) -> Result<(Vec<ClientKey>, Vec<String>), KeysError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        keys: Vec<serde_json::Value>,
    }
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| KeysError(format!("not a JWK Set: {e}")))?;
    if raw.keys.len() > max_keys {
        return Err(KeysError(format!(
            "the JWK Set has {} keys; at most {max_keys} are accepted",
            raw.keys.len()
        )));
    }
    let mut keys: Vec<ClientKey> = Vec::new();
    let mut skipped = Vec::new();
    for (i, value) in raw.keys.into_iter().enumerate() {
        if !private_ok
            && ["d", "p", "q", "dp", "dq", "qi", "k"]
                .iter()
                .any(|m| value.get(m).is_some())
        {
            return Err(KeysError(format!(
                "key {i} carries private key material: register public keys only"
            )));
        }
        match parse_key(&value) {
            Ok(key) => {
                if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) {
                    // Two keys with one kid make `kid -> key` ambiguous: use neither.
                    skipped.push(format!("key {i}: duplicate kid"));
                    keys.retain(|k| k.kid != key.kid);
                } else {
                    keys.push(key);
                }
            }
            Err(why) => skipped.push(format!("key {i}: {why}")),
        }
    }
    Ok((keys, skipped))
}

/// Checks a JWK Set at registration: JSON, at most `max_keys` keys, public only, at least one usable.
pub fn validate_registered_jwks(text: &str, max_keys: usize) -> Result<(), KeysError> {
    let (keys, skipped) = parse_client_jwks(text.as_bytes(), max_keys, false)?;
    if keys.is_empty() {
        return Err(KeysError(format!(
            "the JWK Set has no usable key ({})",
            if skipped.is_empty() {
                "it is empty".to_owned()
            } else {
                skipped.join("; ")
            }
        )));
    }
    Ok(())
}

fn parse_key(value: &serde_json::Value) -> Result<ClientKey, String> {
    let s = |name: &str| -> Result<Option<&str>, String> {
        match value.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(v)) => Ok(Some(v)),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    let kty = s("kty")?.ok_or("no kty")?;
    let kid = s("kid")?.map(str::to_owned);
    if let Some(u) = s("use")?
        && u != "sig"
    {
        return Err(format!("use {u:?} is not sig"));
    }
    let named = match s("alg")? {
        Some(a) => Some(AssertionAlg::from_name(a).ok_or(format!("alg {a:?} is not allowed"))?),
        None => None,
    };
    let b64 = |name: &str| -> Result<Vec<u8>, String> {
        URL_SAFE_NO_PAD
            .decode(s(name)?.ok_or(format!("no {name}"))?)
            .map_err(|_| format!("{name} is not base64url"))
    };
    // Rebuild the JWK from its public members only, whatever else the document carried.
    let (public, fitting): (serde_json::Value, &[AssertionAlg]) = match (kty, s("crv")?) {
        ("EC", Some("P-256")) => {
            let (x, y) = (b64("x")?, b64("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".into());
            }
            let j = serde_json::json!({"kty":"EC","crv":"P-256","x":s("x")?,"y":s("y")?});
            (j, &[AssertionAlg::Es256])
        }
        ("RSA", _) => {
            let n = b64("n")?;
            if b64("e")?.len() > MAX_RSA_E_BYTES {
                return Err(format!("RSA exponent longer than {MAX_RSA_E_BYTES} bytes"));
            }
            let bits = n
                .iter()
                .position(|b| *b != 0)
                .map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is under {MIN_RSA_BITS}"));
            }
            if bits > MAX_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is over {MAX_RSA_BITS}"));
            }
            let j = serde_json::json!({"kty":"RSA","n":s("n")?,"e":s("e")?});
            (j, &[AssertionAlg::Rs256, AssertionAlg::Ps256])
        }
        ("OKP", Some("Ed25519")) => {
            if b64("x")?.len() != 32 {
                return Err("an Ed25519 key must be 32 bytes".into());
            }
            let j = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":s("x")?});
            (j, &[AssertionAlg::EdDsa])
        }
        (kty, crv) => return Err(format!("kty {kty:?} crv {crv:?} is not supported")),
    };
    let algs: Vec<AssertionAlg> = match named {
        Some(a) if fitting.contains(&a) => vec![a],
        Some(a) => return Err(format!("alg {} does not fit kty {kty}", a.as_str())),
        None => fitting.to_vec(),
    };
    let serde_json::Value::Object(map) = public else {
        return Err("not an object".into());
    };
    let jose = josekit::jwk::Jwk::from_map(map).map_err(|e| format!("rejected: {e}"))?;
    let mut verifiers: Vec<(AssertionAlg, Box<dyn JwsVerifier>)> = Vec::new();
    for alg in algs {
        let v: Box<dyn JwsVerifier> = match alg {
            AssertionAlg::Es256 => {
                Box::new(ES256.verifier_from_jwk(&jose).map_err(|e| e.to_string())?)
            }
            AssertionAlg::Rs256 => {
                Box::new(RS256.verifier_from_jwk(&jose).map_err(|e| e.to_string())?)
            }
            AssertionAlg::Ps256 => {
                Box::new(PS256.verifier_from_jwk(&jose).map_err(|e| e.to_string())?)
            }
            AssertionAlg::EdDsa => {
                Box::new(EdDSA.verifier_from_jwk(&jose).map_err(|e| e.to_string())?)
            }
        };
        verifiers.push((alg, v));
    }
    Ok(ClientKey { kid, verifiers })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ec_jwk(kid: &str) -> serde_json::Value {
        let (_, public) = josekit::jws::ES256
            .generate_key_pair()
            .map(|k| {
                let mut p = k.to_jwk_public_key();
                p.set_key_id(kid);
                (k, p)
            })
            .unwrap();
        serde_json::Value::Object(public.as_ref().clone())
    }

    #[test]
    fn skips_unusable_and_refuses_private() {
        let good = ec_jwk("a");
        let doc = serde_json::json!({"keys": [
            good,
            {"kty":"oct","k":"c2VjcmV0","kid":"h"},
            {"kty":"EC","crv":"P-384","x":"AA","y":"AA","kid":"b"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"small"},
            // 4104 bits, and a 2048-bit modulus with a 5-byte exponent: both too costly to verify.
            {"kty":"RSA","n": "_".repeat(684),"e":"AQAB","kid":"huge"},
            {"kty":"RSA","n": "_".repeat(344),"e":"AQAAAAE","kid":"long-e"},
        ]});
        let err = parse_client_jwks(doc.to_string().as_bytes(), 10, false).unwrap_err();
        assert!(err.0.contains("private"), "{err}");
        let (keys, skipped) = parse_client_jwks(doc.to_string().as_bytes(), 10, true).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(skipped.len(), 5, "{skipped:?}");
        assert!(
            skipped.iter().any(|s| s.contains("over 4096")),
            "{skipped:?}"
        );
        assert!(
            skipped.iter().any(|s| s.contains("exponent")),
            "{skipped:?}"
        );
        assert!(keys[0].fits(AssertionAlg::Es256));
        assert!(!keys[0].fits(AssertionAlg::Rs256));
    }

    #[test]
    fn caps_and_emptiness() {
        let doc = serde_json::json!({"keys": [ec_jwk("a"), ec_jwk("b")]}).to_string();
        assert!(validate_registered_jwks(&doc, 1).is_err());
        assert!(validate_registered_jwks(&doc, 2).is_ok());
        assert!(validate_registered_jwks(r#"{"keys":[]}"#, 2).is_err());
        assert!(validate_registered_jwks("[]", 2).is_err());
        let dup = serde_json::json!({"keys": [ec_jwk("a"), ec_jwk("a")]}).to_string();
        assert!(validate_registered_jwks(&dup, 5).is_err());
        let hs = r#"{"keys":[{"kty":"EC","crv":"P-256","alg":"HS256","x":"","y":""}]}"#;
        assert!(validate_registered_jwks(hs, 5).is_err());
    }
}
