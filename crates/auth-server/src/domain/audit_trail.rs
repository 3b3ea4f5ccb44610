//! Reading the audit trail (the admin API's `GET /admin/v1/audit-events`): newest first, keyset
//! paged, filtered by time, user, client and type.

use crate::model::audit::{AuditQuery, AuditRecord};
use crate::store::{Store, StoreError};

/// Most events on one page.
pub const MAX_PAGE: u64 = 500;

/// The audit trail, for reading.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    store: Store,
}

/// One page of events, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditRecord>,
    /// The cursor of the next (older) page, if there may be one.
    pub next: Option<i64>,
}

impl AuditTrail {
    /// The trail stored in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The events `q` selects (its `limit` capped at [`MAX_PAGE`]), and the next page's cursor.
    pub async fn page(&self, q: &AuditQuery) -> Result<AuditPage, StoreError> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let q = AuditQuery { limit, ..q.clone() };
        let events = self.store.audit_events(&q).await?;
        let next = (events.len() as u64 == limit)
            .then(|| events.last().map(|e| e.id))
            .flatten();
        Ok(AuditPage { events, next })
    }
}
