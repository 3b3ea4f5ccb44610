//! DPoP proofs (RFC 9449): one checker, used by resource services (through the [`crate::Verifier`]
//! and the axum layer) and by the IdP's token endpoint.
//!
//! Two steps, so that a replay costs no signature check:
//!
//! 1. [`Proof::parse`] decodes the `DPoP` header value without any cryptography and refuses what is
//!    structurally wrong (RFC 9449 §4.3 checks 2-5, 7, 8): not a compact JWS, `typ` other than
//!    `dpop+jwt`, `alg` not an accepted asymmetric algorithm ([`ProofAlg`]: ES256, PS256, RS256,
//!    EdDSA with Ed25519), no `jwk` or one with private members, a missing `jti`, `htm`, `htu` or
//!    `iat`. The caller can now look the [`Proof::jti`] up in its replay cache.
//! 2. [`Proof::verify`] checks the proof for the request described by a [`ProofCheck`]
//!    (RFC 9449 §4.3 checks 6, 9-12): `htm` equals the method, `htu` the request URI without query
//!    and fragment after RFC 3986 normalization ([`htu_matches`]), the server nonce if one is
//!    demanded (§8), `iat` within `[now - max_age - leeway, now + leeway]`, `ath` the base64url
//!    SHA-256 of the access token when one is presented, then the `jwk` against the `alg` (key type
//!    and curve, RSA of 2048 bits or more, the key's own `alg` if any) and the signature with it.
//!    It returns the [`VerifiedProof`], whose `jkt` (RFC 7638 thumbprint) is what a bound token's
//!    `cnf.jkt` must equal (§6.1). The caller then records the `jti` until
//!    [`VerifiedProof::replayable_until`].
//!
//! Every refusal is a [`DpopError`] with a stable [`DpopError::reason`] and the OAuth
//! [`DpopError::error_code`] to answer with.
//!
//! ```no_run
//! use auth_verifier::dpop::{Proof, ProofCheck};
//! # fn run(header: &str, token: &str, now: i64) -> Result<(), auth_verifier::dpop::DpopError> {
//! let proof = Proof::parse(header)?;
//! // ... refuse here if proof.jti() was seen in the last few minutes ...
//! let verified = proof.verify(&ProofCheck {
//!     method: "GET",
//!     uri: "https://orders.example.com/orders?page=2",
//!     access_token: Some(token),
//!     now,
//!     ..ProofCheck::default()
//! })?;
//! // ... remember verified.jti until verified.replayable_until; compare verified.jkt to cnf.jkt ...
//! # Ok(()) }
//! ```

mod error;
mod htu;
mod key;
mod key_cache;
mod proof;
mod replay;
#[cfg(test)]
mod tests;

pub use error::DpopError;
pub use htu::{htu_matches, normalize_htu};
pub use key::ProofAlg;
pub(crate) use key_cache::KeyCache;
pub use proof::{MAX_PROOF_BYTES, Proof};
pub(crate) use replay::{Remember, ReplayCache};

use auth_core::UnixTime;

/// Default age after which a proof is stale: its `iat` may be this many seconds in the past.
pub const DEFAULT_PROOF_MAX_AGE_SECS: i64 = 60;
/// Default clock-skew allowance on `iat`, in both directions.
pub const DEFAULT_PROOF_LEEWAY_SECS: i64 = 5;

/// What a proof must match: the request it came with, and the server's expectations.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The request's HTTP method (`htm`, compared exactly).
    pub method: &'a str,
    /// The request's absolute URI as the client saw it (`htu`); query and fragment are ignored.
    pub uri: &'a str,
    /// The access token presented with the proof (resource requests): `ath` is then required and
    /// must equal its hash. `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    /// The nonce the server demands (RFC 9449 §8, §9), if any.
    pub nonce: Option<&'a str>,
    /// The current time (from the injected clock).
    pub now: UnixTime,
    /// How old (`now - iat`) a proof may be, in seconds.
    pub max_age_secs: i64,
    /// Clock skew allowed on `iat`, in seconds, both ways.
    pub leeway_secs: i64,
}

impl Default for ProofCheck<'_> {
    fn default() -> Self {
        Self {
            method: "",
            uri: "",
            access_token: None,
            nonce: None,
            now: 0,
            max_age_secs: DEFAULT_PROOF_MAX_AGE_SECS,
            leeway_secs: DEFAULT_PROOF_LEEWAY_SECS,
        }
    }
}

impl ProofCheck<'_> {
    /// The last time a proof issued at `iat` is still accepted under this check's window: its
    /// `jti` must be remembered until then (RFC 9449 §11.1).
    pub fn replayable_until(&self, iat: i64) -> UnixTime {
        iat.saturating_add(self.max_age_secs.max(0))
            .saturating_add(self.leeway_secs.max(0))
    }
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint (base64url SHA-256) of the proof's key: the `cnf.jkt` of a token
    /// bound to it (RFC 9449 §6.1).
    pub jkt: String,
    /// The proof's `jti`, to remember until `replayable_until`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: i64,
    /// Until when (inclusive) the same proof would still pass the `iat` window: the replay cache
    /// must remember the `jti` at least this long.
    pub replayable_until: UnixTime,
}

/// The value of the `algs` parameter of a `DPoP` challenge (RFC 9449 §7.1) and of
/// `dpop_signing_alg_values_supported` (§5.1): the accepted algorithms, space-separated.
pub fn supported_algs() -> String {
    ProofAlg::ALL.map(ProofAlg::as_str).join(" ")
}
