//! JSON Web Keys (RFC 7517) as our own serde types, and the RFC 7638 thumbprint.
//!
//! Only public keys are modelled: nothing in this crate can carry a private JWK member, so a JWKS built
//! from these types cannot leak one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The modulus of the example RSA key in RFC 7638 §3.1 (exponent `AQAB`), for tests and docs.
pub const RFC7638_EXAMPLE_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/// A public JSON Web Key (RFC 7517 §4, RFC 7518 §6).
///
/// Members are optional so that a verifier can parse keys it will then decide not to use; the
/// issuer always fills `kid`, `use` and `alg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `"RSA"` or `"EC"` (RFC 7517 §4.1).
    pub kty: String,
    /// Key id (RFC 7517 §4.5); the issuer uses the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use (RFC 7517 §4.2): `"sig"` for every key this project publishes.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The one algorithm this key is used with (RFC 7517 §4.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// RSA modulus, base64url big-endian (RFC 7518 §6.3.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url big-endian (RFC 7518 §6.3.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC curve: `"P-256"` (RFC 7518 §6.2.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, base64url, full field length (RFC 7518 §6.2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url, full field length (RFC 7518 §6.2.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, in publication order.
    pub keys: Vec<Jwk>,
}

/// A JWK lacks a member its thumbprint needs, or has an unsupported `kty`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThumbprintError {
    /// A required member (`n`, `e`, `crv`, `x` or `y`) is absent.
    #[error("JWK lacks the required member `{0}`")]
    MissingMember(&'static str),
    /// The key type is neither RSA nor EC.
    #[error("unsupported JWK key type {0:?}")]
    UnsupportedKeyType(String),
}

impl Jwk {
    /// An RSA public key from its base64url modulus and exponent.
    pub fn rsa(n: impl Into<String>, e: impl Into<String>) -> Self {
        Self {
            kty: "RSA".into(),
            n: Some(n.into()),
            e: Some(e.into()),
            ..Self::empty()
        }
    }

    /// A P-256 public key from its base64url coordinates.
    pub fn ec_p256(x: impl Into<String>, y: impl Into<String>) -> Self {
        Self {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(x.into()),
            y: Some(y.into()),
            ..Self::empty()
        }
    }

    fn empty() -> Self {
        Self {
            kty: String::new(),
            kid: None,
            use_: None,
            alg: None,
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url without padding).
    ///
    /// RFC 7638 §3.2: the hash input is the JSON object of the *required* members only, in
    /// lexicographic order, with no whitespace: `{"e","kty","n"}` for RSA and
    /// `{"crv","kty","x","y"}` for EC.
    pub fn thumbprint(&self) -> Result<String, ThumbprintError> {
        let canonical = self.thumbprint_input()?;
        Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }

    /// The canonical JSON the RFC 7638 thumbprint hashes (RFC 7638 §3.2, §3.3): the required
    /// public members only, lexicographically ordered, no whitespace. It identifies the public key
    /// exactly, whatever optional members (`kid`, `use`, `alg`) the JWK carries.
    pub fn thumbprint_input(&self) -> Result<String, ThumbprintError> {
        fn req<'a>(v: &'a Option<String>, name: &'static str) -> Result<&'a str, ThumbprintError> {
            v.as_deref().ok_or(ThumbprintError::MissingMember(name))
        }
        // Members written out in lexicographic order by hand (a JSON map's order depends on serde_json
        // features); each value is escaped by serde_json, as RFC 7638 §3.3 requires.
        let s = |v: &str| serde_json::Value::from(v).to_string();
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                s(req(&self.e, "e")?),
                s(req(&self.n, "n")?)
            ),
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                s(req(&self.crv, "crv")?),
                s(req(&self.x, "x")?),
                s(req(&self.y, "y")?)
            ),
            other => return Err(ThumbprintError::UnsupportedKeyType(other.to_owned())),
        };
        Ok(canonical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk = Jwk::rsa(RFC7638_EXAMPLE_N, "AQAB");
        assert_eq!(
            jwk.thumbprint().ok().as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn thumbprint_ignores_optional_members() {
        let mut a = Jwk::ec_p256("AAAA", "BBBB");
        let b = a.clone();
        a.kid = Some("k".into());
        a.alg = Some("ES256".into());
        a.use_ = Some("sig".into());
        assert_eq!(a.thumbprint(), b.thumbprint());
    }

    #[test]
    fn thumbprint_errors_name_the_problem() {
        let mut jwk = Jwk::rsa("n", "AQAB");
        jwk.e = None;
        assert_eq!(jwk.thumbprint(), Err(ThumbprintError::MissingMember("e")));
        jwk.kty = "oct".into();
        assert!(matches!(
            jwk.thumbprint(),
            Err(ThumbprintError::UnsupportedKeyType(_))
        ));
    }

    #[test]
    fn serialises_public_members_only_with_use_renamed() {
        let mut jwk = Jwk::ec_p256("x1", "y1");
        jwk.kid = Some("k1".into());
        jwk.use_ = Some("sig".into());
        jwk.alg = Some("ES256".into());
        let json = serde_json::to_value(&jwk).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"kty":"EC","kid":"k1","use":"sig","alg":"ES256","crv":"P-256","x":"x1","y":"y1"})
        );
    }
}
