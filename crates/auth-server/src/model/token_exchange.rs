//! A client's token-exchange policy (RFC 8693), as the domain keeps it in storage.

use super::values::{Resources, Scopes};

/// What one client may do at the token endpoint with the token-exchange grant. A client without
/// one may not exchange tokens at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenExchangePolicy {
    /// The exchanging client.
    pub client_id: String,
    /// A subject token must be addressed to one of these (`aud`): the client's own audiences, so
    /// that it can exchange only tokens that were sent to it.
    pub subject_audiences: Resources,
    /// The audiences (RFC 8707 resources) it may ask for.
    pub audiences: Resources,
    /// The scopes that may pass from a subject token into an exchanged one.
    pub scopes: Scopes,
    /// Impersonation (RFC 8693 §1.1: the issued token carries no `act`) instead of delegation.
    pub impersonation: bool,
    /// Last change (Unix seconds).
    pub updated_at: i64,
}
