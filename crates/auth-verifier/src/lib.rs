//! `auth-verifier`: verify the IdP's access tokens locally, in every resource service, without calling
//! the IdP per request.
//!
//! - **Keys** ([`store`]): per trusted issuer, the JWKS found through discovery (or configured), fetched
//!   with one pooled client (timeouts, no redirects, size cap), each key parsed once into a verifier
//!   bound to one algorithm; unusable keys are skipped, never fatal. Lifetimes follow
//!   `Cache-Control: max-age` (clamped); keys are refreshed in the background before they expire. An
//!   unknown `kid` triggers at most one refetch per cooldown, shared by all callers; kids still unknown
//!   are remembered. While the IdP is down the keys held keep working for `max_stale`, then
//!   verification fails closed.
//! - **Validation** (strict by default): size cap and three segments before decoding; the algorithm
//!   comes from the key; no `crit`; `jku`/`x5u`/`x5c`/`jwk` never used; `typ` `at+jwt`; exact `iss`
//!   (which selects the issuer's keys); `aud`; `exp` required; `nbf`/`iat` with a small leeway; claims of
//!   the wrong JSON type refused; ECDSA signatures only in the 64-byte `r || s` form.
//! - **Cache**: verified tokens under the SHA-256 of the whole token (sharded maps), re-checked against the clock and
//!   revocations on every hit.
//! - **axum** (feature `axum`, on by default): [`axum::RequireBearer`] layer, [`axum::Authenticated`]
//!   extractor, [`axum::RequireScope`], with RFC 6750 responses.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_verifier::{IssuerConfig, Verifier};
//! let verifier = Verifier::builder()
//!     .issuer(IssuerConfig::new("https://idp.example.com"))
//!     .audience("https://orders.example.com")
//!     .build()
//!     .await?;
//! # let token = "";
//! let claims = verifier.verify(token).await?;
//! assert!(claims.has_scope("orders:read"));
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod claims;
mod error;
mod feed;
pub mod fetch;
/// Synchronous entry points for the fuzz targets in `fuzz/`; not a supported API.
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
mod revocation;
pub mod store;
mod token_cache;
mod validate;
mod verifier;

pub use claims::Claims;
pub use error::{InitError, VerifyError};
pub use verifier::{
    DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, IssuerConfig, Verifier, VerifierBuilder,
    revocation_feed,
};
