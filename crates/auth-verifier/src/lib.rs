//! `auth-verifier`: verify the IdP's access tokens locally, in every resource service, without calling
//! the IdP per request.
//!
//! The public API is small: a [`Policy`] (what a token must be: audience, algorithms, leeway, size
//! cap, required claims, revocation freshness), built once per service; the trusted issuers
//! ([`IssuerConfig`]); the [`Verifier`] built from both ([`VerifierBuilder`]), which returns the
//! [`Claims`] of a valid token or a [`VerifyError`]; and, with the `axum` feature, the [`axum`]
//! layer, extractor and RFC 6750 helpers. Everything else is internal.
//!
//! - **Keys**: per trusted issuer ([`IssuerKeys`]), the JWKS found through discovery (or configured),
//!   fetched with one pooled client (timeouts, no redirects, size cap), each key parsed once into a
//!   verifier bound to one algorithm; unusable keys are skipped, never fatal. Lifetimes follow
//!   `Cache-Control: max-age` (clamped); keys are refreshed in the background before they expire. An
//!   unknown `kid` triggers at most one refetch per cooldown, shared by all callers; kids still unknown
//!   are remembered. While the IdP is down the keys held keep working for `max_stale`, then
//!   verification fails closed.
//! - **Validation** (strict by default, [`Policy`]): size cap and three segments before decoding; the
//!   algorithm comes from the key; no `crit` (RFC 7515 §4.1.11); `jku`/`x5u`/`x5c`/`jwk` never used;
//!   `typ` `at+jwt` (RFC 9068 §4); exact `iss` (which selects the issuer's keys); `aud`; `exp` required;
//!   `nbf`/`iat` with a small leeway; claims of the wrong JSON type refused; ECDSA signatures only in
//!   the 64-byte `r || s` form.
//! - **Revocation**: each issuer's revocation feed, polled in the background, revokes tokens (by `jti`
//!   or subject) and signing keys before they expire; by default it fails open during an IdP outage,
//!   or closed with [`Policy::require_fresh_revocations`].
//! - **Cache**: verified tokens under the SHA-256 of the whole token (sharded maps), re-checked against
//!   the clock and revocations on every hit.
//! - **Metrics** ([`metrics`]): verifications by outcome and reason, cache hits, JWKS fetches and
//!   failures, feed polls, and the age of the keys and of the feed, recorded through the `metrics`
//!   facade into the recorder the host installed (never one of its own); a cache hit adds two
//!   atomic increments.
//! - **Logout tokens** ([`LogoutTokenVerifier`]): OpenID Connect Back-Channel Logout 1.0 §2.6
//!   validation of what the IdP POSTs to a relying party when a user's session ends, with the same
//!   keys, and `jti` replay protection.
//! - **DPoP** ([`dpop`]): RFC 9449 proof checking in two steps (a signature-free parse that exposes
//!   the `jti` for the replay check, then the full check against the request), shared with the IdP.
//! - **axum** (feature `axum`, on by default): [`axum::RequireBearer`] layer, [`axum::Authenticated`]
//!   extractor, [`axum::RequireScope`], with RFC 6750 responses; [`axum::bearer_token`] and
//!   [`axum::bearer_challenge`] for an endpoint that answers RFC 6750 itself; [`axum::JsonError`],
//!   the `{"error", "error_description"}` body of every refusal.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_verifier::{IssuerConfig, Policy, Verifier};
//! let policy = Policy::new("https://orders.example.com").require_claim("sub");
//! let verifier = Verifier::builder(policy)
//!     .issuer(IssuerConfig::auth_server("https://idp.example.com"))
//!     .build()
//!     .await?;
//! // The same, for the common case of one auth-server issuer:
//! # let policy = Policy::new("https://orders.example.com").require_claim("sub");
//! let verifier = Verifier::auth_server("https://idp.example.com", policy).await?;
//! # let token = "";
//! let claims = verifier.verify(token).await?;
//! assert!(claims.has_scope("orders:read"));
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod builder;
mod claims;
pub mod dpop;
mod error;
mod feed;
mod fetch;
/// Synchronous entry points for the fuzz targets in `fuzz/`; not a supported API.
#[doc(hidden)]
pub mod fuzzing;
mod keys;
pub mod layer;
pub mod logout;
pub mod metrics;
mod policy;
mod revocation;
mod store;
mod token_cache;
mod typed;
mod validate;
mod verifier;
mod verifier_dpop;

pub use builder::{IssuerConfig, VerifierBuilder, revocation_feed};
pub use claims::Claims;
pub use claims::MAX_ACT_DEPTH;
pub use error::{InitError, VerifyError};
pub use fetch::FetchError;
pub use logout::{LogoutToken, LogoutTokenError, LogoutTokenVerifier};
pub use policy::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, Policy, RFC9068_CLAIMS};
pub use store::IssuerKeys;
pub use typed::{CustomClaims, Verified};
pub use verifier::Verifier;
