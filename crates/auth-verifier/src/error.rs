//! Typed errors: one type for building a verifier, one for verifying a token.

/// Building the verifier failed (configuration; not a network outage, which is retried).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// A URL or setting is invalid.
    #[error("invalid verifier configuration: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Why a token was rejected. `Display` is safe to log; none of it should be echoed to the caller
/// beyond the RFC 6750 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Over the size cap (checked before any decoding).
    #[error("token exceeds {0} bytes")]
    TooLarge(usize),
    /// Not three base64url segments, or a segment is not valid JSON of the right shape.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header lacks a `kid`.
    #[error("token has no kid")]
    MissingKid,
    /// The header's `alg` is not the algorithm its key is bound to (includes `none` and HS*).
    #[error("alg {0:?} does not match the key")]
    AlgMismatch(String),
    /// The header names critical extensions (RFC 7515 §4.1.11), none of which is supported.
    #[error("unsupported critical header parameters")]
    UnsupportedCrit,
    /// `typ` is not `at+jwt` (RFC 9068 §2.1).
    #[error("typ is not at+jwt")]
    WrongType,
    /// `iss` is not a trusted issuer (no fetch was made).
    #[error("untrusted issuer")]
    UntrustedIssuer,
    /// No key with this `kid` (after at most one refetch per cooldown).
    #[error("unknown key id")]
    UnknownKid,
    /// The token's key was revoked by the issuer (its revocation feed lists the `kid`): it is no
    /// longer trusted, whatever a cached or fetched JWKS says.
    #[error("the signing key was revoked")]
    KeyRevoked,
    /// The signature does not verify, or has the wrong form (e.g. DER ECDSA, `r = 0`).
    #[error("invalid signature")]
    BadSignature,
    /// A registered claim is missing or of the wrong JSON type.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// A claim the [`crate::Policy`] requires ([`crate::Policy::require_claim`]) is absent.
    #[error("missing required claim {0}")]
    MissingClaim(String),
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `aud` does not contain this service.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp - iat` exceeds [`crate::Policy::max_token_lifetime`].
    #[error("token lifetime exceeds the maximum")]
    LifetimeTooLong,
    /// The token was revoked.
    #[error("token revoked")]
    Revoked,
    /// The issuer's keys are older than `max_stale` (the IdP has been unreachable too long).
    #[error("the issuer's keys are stale; failing closed")]
    KeysStale,
    /// The issuer's keys have never been fetched.
    #[error("the issuer's keys are not available yet")]
    KeysUnavailable,
    /// The issuer's revocation feed is required fresh and complete
    /// ([`crate::Policy::require_fresh_revocations`]), and the last complete poll is too old.
    #[error("the issuer's revocation feed is stale or incomplete; failing closed")]
    RevocationsStale,
    /// The token is DPoP-bound (`cnf.jkt`) but was presented as a bearer token (RFC 9449 §7.2).
    #[error("a DPoP-bound token was presented as a bearer token")]
    DpopBound,
    /// A token without `cnf.jkt` was presented with the `DPoP` scheme (RFC 9449 §7.1).
    #[error("a token that is not DPoP-bound was presented with the DPoP scheme")]
    NotDpopBound,
    /// The proof's key is not the one the token is bound to (RFC 9449 §7.1, §6.1).
    #[error("the DPoP proof's key is not the token's cnf.jkt")]
    DpopKeyMismatch,
    /// The DPoP proof was refused (RFC 9449 §4.3); the token itself may be valid.
    #[error("DPoP proof refused: {0}")]
    DpopProof(crate::dpop::DpopError),
}

impl VerifyError {
    /// Every value [`VerifyError::reason`] can take: a bounded set, fit for a metric label.
    pub const REASONS: [&'static str; 24] = [
        "too_large",
        "malformed",
        "missing_kid",
        "alg_mismatch",
        "unsupported_crit",
        "wrong_type",
        "untrusted_issuer",
        "unknown_kid",
        "key_revoked",
        "bad_signature",
        "invalid_claim",
        "missing_claim",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "revoked",
        "keys_stale",
        "keys_unavailable",
        "revocations_stale",
        "dpop_bound",
        "not_dpop_bound",
        "dpop_key_mismatch",
        "dpop_proof",
        "lifetime_too_long",
    ];

    /// Why, in one word from [`VerifyError::REASONS`] (no detail from the token: safe as a metric
    /// label or a log field).
    pub fn reason(&self) -> &'static str {
        Self::REASONS[self.reason_index()]
    }

    /// The index of [`VerifyError::reason`] in [`VerifyError::REASONS`].
    pub(crate) fn reason_index(&self) -> usize {
        match self {
            VerifyError::TooLarge(_) => 0,
            VerifyError::Malformed(_) => 1,
            VerifyError::MissingKid => 2,
            VerifyError::AlgMismatch(_) => 3,
            VerifyError::UnsupportedCrit => 4,
            VerifyError::WrongType => 5,
            VerifyError::UntrustedIssuer => 6,
            VerifyError::UnknownKid => 7,
            VerifyError::KeyRevoked => 8,
            VerifyError::BadSignature => 9,
            VerifyError::InvalidClaim(_) => 10,
            VerifyError::MissingClaim(_) => 11,
            VerifyError::Expired => 12,
            VerifyError::NotYetValid => 13,
            VerifyError::WrongAudience => 14,
            VerifyError::Revoked => 15,
            VerifyError::KeysStale => 16,
            VerifyError::KeysUnavailable => 17,
            VerifyError::RevocationsStale => 18,
            VerifyError::DpopBound => 19,
            VerifyError::NotDpopBound => 20,
            VerifyError::DpopKeyMismatch => 21,
            VerifyError::DpopProof(_) => 22,
            VerifyError::LifetimeTooLong => 23,
        }
    }
}
