//! `auth-core`: the vocabulary that the issuer (`auth-server`) and every verifier share.
//!
//! It holds only types and policy, with no web framework, database or async runtime, so that a resource
//! service can depend on it without pulling in the identity provider:
//!
//! - [`Alg`]: the signature algorithms this project issues and accepts (RS256, ES256). Each key is bound
//!   to exactly one of them.
//! - [`jwk`]: JSON Web Keys and key sets (RFC 7517) as our own serde types, and the RFC 7638 thumbprint
//!   used as `kid`.
//! - [`claims`]: the RFC 9068 access-token claim set.
//! - [`bearer`]: RFC 6750 bearer credentials and challenges, on raw header values.
//! - [`Clock`]: time as an input, so expiry and rotation are testable without sleeping.
//!
//! ```
//! use auth_core::{Alg, jwk::Jwk};
//! // The example key of RFC 7638 §3.1, and the thumbprint the RFC gives for it.
//! let jwk = Jwk::rsa(auth_core::jwk::RFC7638_EXAMPLE_N, "AQAB");
//! assert_eq!(jwk.thumbprint().unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
//! assert_eq!("ES256".parse::<Alg>().unwrap(), Alg::Es256);
//! ```
#![warn(missing_docs)]

mod alg;
pub mod bearer;
pub mod claims;
mod clock;
pub mod jwk;

pub use alg::{Alg, UnknownAlg};
#[cfg(feature = "test-helpers")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock, UnixTime};
