//! Why a DPoP proof was refused: one typed error with a stable, loggable `reason()`.

/// A DPoP proof (RFC 9449 §4) was refused. `Display` is safe to log; callers answer with
/// [`DpopError::error_code`] (RFC 9449 §7.1, §8), never with the details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header where one is needed (RFC 9449 §4.3 check 1).
    #[error("no DPoP proof")]
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3 check 1: "not more than one").
    #[error("more than one DPoP proof")]
    Multiple,
    /// Over the size cap (checked before any decoding).
    #[error("DPoP proof exceeds {0} bytes")]
    TooLarge(usize),
    /// Not a compact JWS of three base64url segments, or a segment of the wrong shape
    /// (RFC 9449 §4.3 checks 2 and 3).
    #[error("malformed DPoP proof: {0}")]
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt` (RFC 9449 §4.2, §4.3 check 4).
    #[error("typ is not dpop+jwt")]
    WrongType,
    /// The header names critical extensions (RFC 7515 §4.1.11), none of which is supported.
    #[error("unsupported critical header parameters")]
    UnsupportedCrit,
    /// `alg` is missing, `none`, symmetric or not in the allow-list (RFC 9449 §4.3 check 5).
    #[error("alg {0:?} is not accepted for DPoP proofs")]
    UnsupportedAlg(String),
    /// The `jwk` header is missing or not a usable public key (RFC 9449 §4.3 check 7).
    #[error("invalid jwk header: {0}")]
    BadKey(&'static str),
    /// The `jwk` header carries private key members (RFC 9449 §4.3 check 7: "does not contain a
    /// private key").
    #[error("the jwk header contains a private key")]
    PrivateKey,
    /// The `alg` does not fit the `jwk` (key type, curve, or the key's own `alg`).
    #[error("alg does not match the jwk")]
    AlgKeyMismatch,
    /// The signature does not verify with the `jwk` (RFC 9449 §4.3 check 6).
    #[error("invalid DPoP proof signature")]
    BadSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`) is missing or of the wrong type
    /// (RFC 9449 §4.2, §4.3 check 8).
    #[error("DPoP proof lacks a valid {0} claim")]
    MissingClaim(&'static str),
    /// `htm` is not the request's method (RFC 9449 §4.3 check 9).
    #[error("htm does not match the request method")]
    MethodMismatch,
    /// `htu` is not the request's URI, query and fragment ignored (RFC 9449 §4.3 check 10).
    #[error("htu does not match the request URI")]
    UriMismatch,
    /// `iat` is older than the accepted window (RFC 9449 §4.3 check 11, §11.1).
    #[error("DPoP proof is too old")]
    Stale,
    /// `iat` is further in the future than the clock-skew leeway.
    #[error("DPoP proof is issued in the future")]
    Future,
    /// An access token is presented but the proof has no `ath` (RFC 9449 §4.3 check 12).
    #[error("DPoP proof lacks ath")]
    MissingAth,
    /// `ath` is not the hash of the presented access token (RFC 9449 §4.3 check 12).
    #[error("ath does not match the access token")]
    AthMismatch,
    /// The server demands a nonce and the proof has none (RFC 9449 §8, §9).
    #[error("DPoP proof lacks the server nonce")]
    NonceMissing,
    /// The proof's nonce is not the one the server demands (RFC 9449 §8, §9).
    #[error("DPoP proof carries a wrong or expired nonce")]
    NonceMismatch,
    /// The proof's `jti` was already used within the proof's lifetime (RFC 9449 §11.1).
    #[error("DPoP proof replayed")]
    Replayed,
    /// The replay cache has no room for another live proof: refused rather than risk a replay
    /// (the bound fails closed).
    #[error("the DPoP replay cache is full")]
    ReplayCacheFull,
}

impl DpopError {
    /// A short, stable identifier for logs and metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Multiple => "multiple",
            Self::TooLarge(_) => "too_large",
            Self::Malformed(_) => "malformed",
            Self::WrongType => "typ",
            Self::UnsupportedCrit => "crit",
            Self::UnsupportedAlg(_) => "alg",
            Self::BadKey(_) => "jwk",
            Self::PrivateKey => "jwk_private",
            Self::AlgKeyMismatch => "alg_key_mismatch",
            Self::BadSignature => "signature",
            Self::MissingClaim(_) => "claim",
            Self::MethodMismatch => "htm",
            Self::UriMismatch => "htu",
            Self::Stale => "iat_stale",
            Self::Future => "iat_future",
            Self::MissingAth => "ath_missing",
            Self::AthMismatch => "ath",
            Self::NonceMissing => "nonce_missing",
            Self::NonceMismatch => "nonce",
            Self::Replayed => "replay",
            Self::ReplayCacheFull => "replay_cache_full",
        }
    }

    /// The OAuth error code to answer with: `use_dpop_nonce` when a (fresh) server nonce is the
    /// remedy (RFC 9449 §8, §9), `invalid_dpop_proof` otherwise (RFC 9449 §5, §7.1).
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::NonceMissing | Self::NonceMismatch => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }
}
