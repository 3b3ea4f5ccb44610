//! What the user grants do with a presented code or refresh token before anything else: its
//! digest (the form it is stored in), whether it was issued to the client presenting it, and the
//! `invalid_grant` (RFC 6749 §5.2) or `temporarily_unavailable` answers.

use super::super::clients::Client;
use super::super::oauth_error::{ErrorCode, OAuthError};
use super::super::random;

pub(super) fn invalid_grant(why: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, why)
}

/// The digest under which a presented code or refresh token is stored; an empty or over-long one
/// (more than 256 bytes) is refused up front with `invalid_grant` `why`.
pub(super) fn presented_digest(secret: &str, why: &'static str) -> Result<Vec<u8>, OAuthError> {
    if secret.is_empty() || secret.len() > 256 {
        return Err(invalid_grant(why));
    }
    Ok(random::sha256(secret.as_bytes()))
}

/// What was found under a presented code or refresh token, if it was issued to `client`; one not
/// found and one issued to another client are refused alike, with `invalid_grant` `why`.
pub(super) fn issued_to<T>(
    client: &Client,
    found: Option<T>,
    client_of: impl FnOnce(&T) -> &str,
    why: &'static str,
) -> Result<T, OAuthError> {
    match found {
        Some(t) if client_of(&t) == client.id => Ok(t),
        _ => Err(invalid_grant(why)),
    }
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> OAuthError {
    tracing::warn!(error = %e, "storage failed during a grant");
    OAuthError::unavailable()
}
