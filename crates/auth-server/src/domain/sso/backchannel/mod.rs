//! OpenID Connect Back-Channel Logout 1.0: when an SSO session ends, every client that received
//! tokens in it and registered a `backchannel_logout_uri` is sent a signed logout token, server to
//! server, so it can end its own session for that user.
//!
//! - **Who**: a code redeemed under a session records its client for the session
//!   (`session_clients`, in the redemption's transaction).
//! - **When**: every way a session ends goes through the store's one session-ending function,
//!   which writes the outbox rows in the same transaction (logout, an administrator ending
//!   sessions, a new password, a disabled user, the per-user session cap, the account page); a
//!   session that lapses (idle or absolute timeout) is noticed by the maintenance job
//!   ([`crate::store::Store::notify_lapsed_sessions`]).
//! - **How**: [`Drainer`], one per replica in the background, never on a user's request: it claims
//!   due rows under a lease, signs a [`token::LogoutClaims`] (§2.4) with the key that signs the
//!   client's ID tokens, POSTs it (§2.5) with a timeout, and retries with bounded exponential
//!   backoff before giving up (an audit event and a metric). Delivery is at least once: a replica
//!   that dies after claiming leaves the row to be claimed again when its lease ends, and the
//!   token's `jti` lets a client recognise a repeat.

mod drainer;
pub mod token;

pub use drainer::{Drainer, backoff};

use crate::domain::clients::validate_redirect_uri;
use crate::domain::values::absolute_uri_parts;

/// Checks a `backchannel_logout_uri` at registration (§2.2: "an absolute URI ... MAY contain
/// port, path, and query parameter components ... MUST NOT include a fragment component"):
/// https, or http on a loopback host (`127.0.0.1`, `[::1]`, `localhost`: for development and
/// tests); the other rules of redirect URIs apply (no user information, no whitespace, at most 2048
/// bytes). The error is a phrase that follows the URI in a message.
pub fn validate_backchannel_logout_uri(uri: &str) -> Result<(), &'static str> {
    validate_redirect_uri(uri)?;
    match absolute_uri_parts(uri).map(|(scheme, _)| scheme.to_ascii_lowercase()) {
        Some(s) if s == "https" || s == "http" => Ok(()),
        _ => Err("must use https (or http on a loopback host): the server POSTs to it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backchannel_uris_are_https_or_loopback_http_without_fragment() {
        assert!(validate_backchannel_logout_uri("https://app.example.com/bcl?x=1").is_ok());
        assert!(validate_backchannel_logout_uri("http://127.0.0.1:9000/bcl").is_ok());
        assert!(validate_backchannel_logout_uri("http://localhost/bcl").is_ok());
        for bad in [
            "http://app.example.com/bcl",
            "https://app.example.com/bcl#frag",
            "com.example.app:/bcl",
            "javascript:alert(1)",
            "https://user@app.example.com/",
            "/relative",
            "",
        ] {
            assert!(validate_backchannel_logout_uri(bad).is_err(), "{bad}");
        }
    }
}
