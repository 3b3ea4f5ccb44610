//! Audit records as stored: one security-relevant event (see `domain::audit` for their meaning).

pub use super::records::AuditRecord;

/// Which events a query returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events at or after this time.
    pub since: Option<i64>,
    /// Only events about this user (as actor or subject).
    pub user_id: Option<String>,
    /// Only events about this client.
    pub client_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Only events with an id below this (the previous page's last id): keyset paging.
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: u64,
}
