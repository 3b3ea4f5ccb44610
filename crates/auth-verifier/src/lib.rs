//! `auth-verifier`: verify the IdP's access tokens locally, in every resource service, without calling
//! the IdP per request.
//!
//! The public API is small: a [`Policy`] (what a token must be: accepted audiences, algorithms,
//! leeway, size cap, RFC 9068 claims, required claims, maximum lifetime, revocation freshness),
//! built once per service; the trusted issuers ([`IssuerConfig`]); the [`Verifier`] built from
//! both ([`VerifierBuilder`]), which returns the [`Claims`] of a valid token (or [`Verified<T>`],
//! with the service's own typed claims) or a [`VerifyError`]; a tower [`layer`] for any `http`
//! service; and, with the `axum` feature, the [`axum`] integration. Everything else is internal.
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
//!   `typ` `at+jwt` (RFC 9068 §4); exact `iss` (which selects the issuer's keys); `aud` containing
//!   one of the accepted audiences; `exp` required, and RFC 9068 §2.2's `sub`, `client_id`, `iat`,
//!   `jti` unless [`Policy::relax_rfc9068`]; `nbf`/`iat` with a small leeway; optionally a maximum
//!   lifetime ([`Policy::max_token_lifetime`]); claims of the wrong JSON type refused (`act`, RFC
//!   8693 §4.1, included: [`Claims::actor`], [`Claims::actors`]); ECDSA signatures only in the
//!   64-byte `r || s` form.
//! - **Typed claims** ([`Verified<T>`], [`Verifier::verify_as`]): the service's own claims
//!   (`T: serde::Deserialize`), parsed once per token when it is verified in full and cached with
//!   it; a cache hit hands out the cached `T`.
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
//! - **Any `http` service** ([`layer`]): [`layer::Authenticate`] for `http::Request<B>` →
//!   `http::Response<ResBody>` services (tonic gRPC included): the token from the `Authorization`
//!   header (`Bearer`, or `DPoP` with its proof), a cookie or a custom function
//!   ([`layer::TokenSource`]); scope and closure checks; optional authentication; refusals built by
//!   a hook ([`layer::RefusalResponse`]; RFC 6750 headers and an empty body by default).
//! - **axum** (feature `axum`, on by default): [`axum::RequireBearer`] (the generic layer answering
//!   with JSON bodies), the [`axum::Authenticated`] extractor (and `Option<Authenticated<T>>`),
//!   [`axum::RequireScope`]; [`axum::bearer_token`] and [`axum::bearer_challenge`] for an endpoint
//!   that answers RFC 6750 itself; [`axum::JsonError`], the `{"error", "error_description"}` body
//!   of every refusal.
//! - **Calling other services**: [`service_token`] fetches and caches the service's own tokens
//!   (client credentials, or RFC 8693 token exchange on behalf of the caller), [`service_config`]
//!   reads a service's settings from `<PREFIX>_*` variables or `_FILE`s, and
//!   [`Verifier::readiness`] says whether the keys (and the revocation feed) are fresh enough to serve.
//!
//! The example of the README (a service with its own claims, two audiences, a scope, a closure
//! check, an optional route):
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use auth_verifier::axum::{Authenticated, JsonError, RequireBearer};
//! use auth_verifier::{IssuerConfig, Policy, Verifier};
//! use axum::Router;
//! use axum::http::StatusCode;
//! use axum::routing::get;
//!
//! // The service's own claims, parsed once per token (unknown claims ignored).
//! #[derive(Clone, serde::Deserialize)]
//! struct OrderClaims {
//!     tenant: String,
//!     #[serde(default)]
//!     roles: Vec<String>,
//! }
//!
//! // What a token must be, as one value: aud must contain one of the audiences; RFC 9068 §2.2
//! // claims (sub, client_id, iat, jti) are required; the rest has strict defaults.
//! let policy = Policy::new("https://orders.example.com")
//!     .accept_audience("https://orders.internal")            // any of these (default: one)
//!     .leeway(Duration::from_secs(30))                        // exp/nbf/iat (default 30 s, at most 5 min)
//!     .max_token_lifetime(Duration::from_secs(3600))          // exp - iat (default: unbounded)
//!     .require_claim("tenant")                                // besides the RFC 9068 ones
//!     .require_fresh_revocations(Duration::from_secs(60));    // fail closed on a stale feed (default: open)
//! let verifier = Verifier::builder(policy)
//!     .issuer(IssuerConfig::auth_server("https://idp.example.com")) // discovery -> jwks_uri, + its feed
//!     .build()
//!     .await?;
//! // Or, for one auth-server issuer with the defaults: Verifier::auth_server(issuer, policy).await?
//!
//! async fn list_orders(Authenticated(who): Authenticated<OrderClaims>) -> Result<String, JsonError> {
//!     let user = who.sub.clone().ok_or(JsonError::new(StatusCode::FORBIDDEN, "forbidden"))?;
//!     // A service calling on the user's behalf (RFC 8693 token exchange) is the actor.
//!     let via = who.actor().unwrap_or("the user");
//!     Ok(format!("orders of {user} in {} (via {via})", who.custom().tenant))
//! }
//! async fn catalog(who: Option<Authenticated>) -> String {
//!     // No token: None. A bad token never gets here (401).
//!     format!("catalog for {:?}", who.and_then(|Authenticated(c)| c.sub.clone()))
//! }
//! // 401 + WWW-Authenticate without a valid token; 403 insufficient_scope without the scope or
//! // when a check fails.
//! let app: Router = Router::new()
//!     .route("/orders", get(list_orders))
//!     .route_layer(
//!         RequireBearer::with_claims::<OrderClaims>(verifier.clone())
//!             .scope("orders:read")
//!             .check(|v| !v.custom().roles.iter().any(|r| r == "suspended")),
//!     )
//!     .merge(
//!         Router::new()
//!             .route("/catalog", get(catalog))
//!             .route_layer(RequireBearer::new(verifier).optional()),
//!     );
//! # let _ = app;
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
mod readiness;
mod revocation;
pub mod service_config;
pub mod service_token;
mod store;
#[cfg(test)]
mod test_support;
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
pub use readiness::{DEFAULT_FEED_MAX_AGE, NotReady, Readiness};
pub use store::IssuerKeys;
pub use typed::{CustomClaims, Verified};
pub use verifier::Verifier;
