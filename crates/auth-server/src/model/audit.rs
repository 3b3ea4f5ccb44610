//! Audit records as stored: one security-relevant event (see `domain::audit` for their meaning).

/// One stored audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Insertion order (0 before it is stored).
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// The event type, e.g. `sign_in.success`.
    pub event_type: String,
    /// `user`, `client`, `admin`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The actor's id, when there is one.
    pub actor_id: Option<String>,
    /// The user the event is about.
    pub user_id: Option<String>,
    /// The client the event is about.
    pub client_id: Option<String>,
    /// What else it is about (a key id, a username that does not exist...).
    pub subject: Option<String>,
    /// The client address of the request.
    pub client_addr: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// Event-specific details, a JSON object.
    pub detail: Option<String>,
}

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
