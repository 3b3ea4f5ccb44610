//! Token-endpoint grants.

pub mod client_credentials;
mod presented;
pub mod token_exchange;
pub mod token_exchange_rules;
pub mod user_grants;

use super::oauth_error::OAuthError;
use super::tokens::IssueError;

/// The answer to a token request whose signing failed: 503 when it may work later (no key yet, the
/// signing queue full), 500 otherwise; the cause is logged, never returned.
pub fn issue_error(e: IssueError) -> OAuthError {
    match e {
        IssueError::NoKey(alg) => {
            tracing::error!(%alg, "no usable signing key");
            OAuthError::unavailable()
        }
        IssueError::Busy => OAuthError::unavailable(),
        IssueError::Sign(err) => {
            tracing::error!(error = %err, "signing failed");
            OAuthError::server_error()
        }
    }
}
