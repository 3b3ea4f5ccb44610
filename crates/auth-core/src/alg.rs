//! The algorithm policy: which JWS algorithms exist in this project.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A JWS signature algorithm (RFC 7518 §3.1) that this project signs and verifies with.
///
/// Only asymmetric algorithms are listed: a verifier must never accept `none` or an HMAC algorithm
/// for a key published in a JWKS (the classic "HS256 keyed with the RSA public key" confusion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); keys of 2048 bits or more.
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4); signatures are the 64-byte `r || s` form.
    #[serde(rename = "ES256")]
    Es256,
}

impl Alg {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Alg; 2] = [Alg::Es256, Alg::Rs256];

    /// The JOSE name (`"RS256"`, `"ES256"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    /// The JWK `kty` that keys of this algorithm have.
    pub fn key_type(self) -> &'static str {
        match self {
            Alg::Rs256 => "RSA",
            Alg::Es256 => "EC",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the supported algorithms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported algorithm {0:?} (supported: RS256, ES256)")]
pub struct UnknownAlg(pub String);

impl FromStr for Alg {
    type Err = UnknownAlg;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(Alg::Rs256),
            "ES256" => Ok(Alg::Es256),
            other => Err(UnknownAlg(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>(), Ok(alg));
            assert_eq!(serde_json::to_string(&alg).ok(), Some(format!("\"{alg}\"")));
        }
        for bad in ["none", "HS256", "rs256", "ES384", ""] {
            assert!(bad.parse::<Alg>().is_err(), "{bad} must be refused");
        }
    }
}
