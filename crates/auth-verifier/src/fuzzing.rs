//! Entry points for the fuzz targets in `fuzz/` (not part of the supported API; may change at any
//! time). They run the same private steps as [`crate::Verifier::verify`], in the same order, but
//! synchronously against a given `KeySet`: no key store, clock, audience, cache or revocations.

use auth_core::Alg;

pub use crate::keys::{KeySet, MIN_RSA_BITS, VerifyingKey, parse_jwks};
use crate::{Claims, VerifyError, claims, validate};

/// What [`check_token`] accepted.
#[derive(Debug)]
pub struct Checked {
    /// The `alg` of the token's JOSE header.
    pub header_alg: String,
    /// The `kid` of the token's JOSE header.
    pub kid: String,
    /// The algorithm of the key that verified the signature.
    pub key_alg: Alg,
    /// The parsed claims.
    pub claims: Claims,
}

/// Splits `token`, checks its header, parses its claims, finds the key named by `kid` in `keys`
/// and checks the signature with it: the structural and cryptographic part of
/// [`crate::Verifier::verify`] (time, issuer, audience and revocation checks are left out).
pub fn check_token(token: &str, keys: &KeySet) -> Result<Checked, VerifyError> {
    let parts = validate::split(token)?;
    let kid = validate::check_header(&parts.header)?.to_owned();
    let claims = claims::parse(&parts.payload)?;
    let key = keys.get(&kid).ok_or(VerifyError::UnknownKid)?;
    validate::check_signature(&parts, key)?;
    Ok(Checked {
        header_alg: parts.header.alg,
        kid,
        key_alg: key.alg,
        claims,
    })
}

/// Parses a token payload with the verifier's strict claim types.
pub fn parse_claims(payload: &[u8]) -> Result<Claims, VerifyError> {
    claims::parse(payload)
}
