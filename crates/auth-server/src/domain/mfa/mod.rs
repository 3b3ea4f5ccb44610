//! Authentication strength: which second factors a user has (TOTP, recovery codes, and WebAuthn
//! once the passkey helper wires it up), the `amr` values (RFC 8176) a sign-in earns, the two `acr`
//! levels this server asserts, and the policy that decides when a sign-in needs a second factor.
//!
//! - [`factor`]: the kinds of factor and the `amr` each adds; the two `acr` values.
//! - [`totp`]: RFC 6238 codes (SHA-1, 6 digits, 30 s, one step either side), secrets sealed with
//!   the KEK like signing keys, each time step accepted once.
//! - [`recovery`]: ten one-time codes, shown once, stored as SHA-256 digests.
//! - [`qr`]: the enrollment QR code, drawn server-side as an inline SVG.
//! - [`service`]: [`Mfa`], which the sign-in flow and the account pages call.

pub mod factor;
pub mod qr;
pub mod recovery;
pub mod service;
pub mod totp;

pub use factor::{ACR_MFA, ACR_SINGLE_FACTOR, FactorKind, acr_for, amr_with};
pub use service::{Answer, Enrollment, Factors, Mfa, MfaError, Verdict};

/// Seconds within which a sign-in counts as recent for a sensitive change at `/account/mfa`, unless
/// configured (`account.recent_auth_secs`, see [`Mfa::with_recent_auth_secs`]).
pub const RECENT_AUTH_SECS: i64 = 300;

/// Whether a session authenticated at `auth_time` is recent enough at `now` for a sensitive change.
pub fn is_recent(auth_time: i64, now: i64, within: i64) -> bool {
    now.saturating_sub(auth_time) <= within
}
