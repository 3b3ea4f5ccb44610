//! The proof's `jwk` header: the algorithm allow-list, the key checks, the josekit verifier and the
//! RFC 7638 thumbprint (`jkt`, RFC 9449 §6.1).

use auth_core::jwk::Jwk;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, EdDSA, JwsVerifier, PS256, RS256};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::DpopError;

/// Smallest RSA modulus accepted in a proof (RFC 7518 §3.3 requires 2048).
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted: a bigger one only makes each verification slower.
const MAX_RSA_BITS: usize = 4096;
/// Longest RSA public exponent accepted, in bytes (65537 is 3): a huge exponent makes each
/// verification cost about as much as a private-key operation.
const MAX_RSA_E_BYTES: usize = 4;

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A JWS algorithm accepted for DPoP proofs: asymmetric only (RFC 9449 §4.3 check 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofAlg {
    /// ECDSA P-256 SHA-256 (RFC 7518 §3.4).
    Es256,
    /// RSASSA-PKCS1-v1_5 SHA-256 (RFC 7518 §3.3), keys of 2048 bits or more.
    Rs256,
    /// RSASSA-PSS SHA-256 (RFC 7518 §3.5), keys of 2048 bits or more.
    Ps256,
    /// EdDSA with Ed25519 (RFC 8037 §3.1).
    EdDsa,
}

impl ProofAlg {
    /// Every accepted algorithm, in the order advertised (`dpop_signing_alg_values_supported`,
    /// the `algs` parameter of the `DPoP` challenge).
    pub const ALL: [ProofAlg; 4] = [
        ProofAlg::Es256,
        ProofAlg::Ps256,
        ProofAlg::Rs256,
        ProofAlg::EdDsa,
    ];

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this JOSE name, if it is accepted (`none` and `HS*` never are).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// The proof's public key, parsed and checked: a verifier bound to the proof's algorithm and the
/// key's RFC 7638 thumbprint.
pub(crate) struct ProofKey {
    pub(crate) jkt: String,
    pub(crate) signature_len: usize,
    verifier: Box<dyn JwsVerifier>,
}

impl std::fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKey")
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

impl ProofKey {
    /// Whether `signature` over `message` verifies with this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(message, signature).is_ok()
    }
}

/// Refuses a `jwk` with private members (cheap; done at parse time).
pub(crate) fn check_public(jwk: &Map<String, Value>) -> Result<(), DpopError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKey);
    }
    Ok(())
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, DpopError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or(DpopError::BadKey(
            "a required member is missing or not a string",
        ))
}

fn decoded_len(v: &str) -> Result<usize, DpopError> {
    URL_SAFE_NO_PAD
        .decode(v)
        .map(|b| b.len())
        .map_err(|_| DpopError::BadKey("a member is not base64url"))
}

/// The RFC 7638 thumbprint of the key `jwk` describes, computed from its required members only;
/// for RSA and EC through [`Jwk::thumbprint`], for OKP per RFC 8037 §2 (`crv`, `kty`, `x`).
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Result<String, DpopError> {
    let bad = |_| DpopError::BadKey("no thumbprint");
    match member(jwk, "kty")? {
        "RSA" => Jwk::rsa(member(jwk, "n")?, member(jwk, "e")?)
            .thumbprint()
            .map_err(bad),
        "EC" => {
            let mut k = Jwk::ec_p256(member(jwk, "x")?, member(jwk, "y")?);
            k.crv = Some(member(jwk, "crv")?.to_owned());
            k.thumbprint().map_err(bad)
        }
        "OKP" => {
            let s = |v: &str| Value::from(v).to_string();
            let canonical = format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                s(member(jwk, "crv")?),
                s(member(jwk, "x")?)
            );
            Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
        }
        _ => Err(DpopError::BadKey("unsupported kty")),
    }
}

/// Parses the proof's `jwk` for `alg`: the key type and curve must fit the algorithm, a key `alg`
/// member must equal it, coordinates must have their exact length and RSA keys 2048 bits or more.
/// The verifier is built from the public members only.
pub(crate) fn parse_key(
    alg: ProofAlg,
    jwk: &Map<String, Value>,
    jkt: String,
) -> Result<ProofKey, DpopError> {
    check_public(jwk)?;
    if let Some(a) = jwk.get("alg")
        && a.as_str() != Some(alg.as_str())
    {
        return Err(DpopError::AlgKeyMismatch);
    }
    let kty = member(jwk, "kty")?;
    let crv = jwk.get("crv").and_then(Value::as_str);
    let (public, signature_len) = match (alg, kty, crv) {
        (ProofAlg::Es256, "EC", Some("P-256")) => {
            let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
            if decoded_len(x)? != 32 || decoded_len(y)? != 32 {
                return Err(DpopError::BadKey("P-256 coordinates must be 32 bytes"));
            }
            (
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                64,
            )
        }
        (ProofAlg::Rs256 | ProofAlg::Ps256, "RSA", _) => {
            let (n, e) = (member(jwk, "n")?, member(jwk, "e")?);
            if decoded_len(e)? > MAX_RSA_E_BYTES {
                return Err(DpopError::BadKey("RSA exponent longer than 4 bytes"));
            }
            let n_bytes = URL_SAFE_NO_PAD
                .decode(n)
                .map_err(|_| DpopError::BadKey("n is not base64url"))?;
            let bits = n_bytes.iter().position(|b| *b != 0).map_or(0, |i| {
                (n_bytes.len() - i) * 8 - n_bytes[i].leading_zeros() as usize
            });
            if bits < MIN_RSA_BITS {
                return Err(DpopError::BadKey("RSA key under 2048 bits"));
            }
            if bits > MAX_RSA_BITS {
                return Err(DpopError::BadKey("RSA key over 4096 bits"));
            }
            (
                serde_json::json!({"kty": "RSA", "n": n, "e": e}),
                bits.div_ceil(8),
            )
        }
        (ProofAlg::EdDsa, "OKP", Some("Ed25519")) => {
            let x = member(jwk, "x")?;
            if decoded_len(x)? != 32 {
                return Err(DpopError::BadKey("Ed25519 x must be 32 bytes"));
            }
            (
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                64,
            )
        }
        _ => return Err(DpopError::AlgKeyMismatch),
    };
    let Value::Object(map) = public else {
        return Err(DpopError::BadKey("internal: not an object"));
    };
    let jose = josekit::jwk::Jwk::from_map(map).map_err(|_| DpopError::BadKey("rejected"))?;
    let rejected = |_| DpopError::BadKey("rejected by josekit");
    let verifier: Box<dyn JwsVerifier> = match alg {
        ProofAlg::Es256 => Box::new(ES256.verifier_from_jwk(&jose).map_err(rejected)?),
        ProofAlg::Rs256 => Box::new(RS256.verifier_from_jwk(&jose).map_err(rejected)?),
        ProofAlg::Ps256 => Box::new(PS256.verifier_from_jwk(&jose).map_err(rejected)?),
        ProofAlg::EdDsa => Box::new(EdDSA.verifier_from_jwk(&jose).map_err(rejected)?),
    };
    Ok(ProofKey {
        jkt,
        signature_len,
        verifier,
    })
}
