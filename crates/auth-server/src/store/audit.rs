//! The audit trail's repository: events are inserted inside the caller's transaction (so an event
//! exists exactly when the change it records does), queried newest first with keyset paging, and
//! purged after their retention.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::audit_event;
use super::{Store, StoreError};
use crate::model::audit::{AuditQuery, AuditRecord};

/// Inserts `event` on `conn`: pass the transaction of the change it records.
pub(crate) async fn insert_audit_in(
    conn: &impl ConnectionTrait,
    event: &AuditRecord,
) -> Result<(), StoreError> {
    let row = audit_event::ActiveModel {
        id: NotSet,
        at: Set(event.at),
        event_type: Set(event.event_type.clone()),
        actor_kind: Set(event.actor_kind.clone()),
        actor_id: Set(event.actor_id.clone()),
        user_id: Set(event.user_id.clone()),
        client_id: Set(event.client_id.clone()),
        subject: Set(event.subject.clone()),
        client_addr: Set(event.client_addr.clone()),
        request_id: Set(event.request_id.clone()),
        detail: Set(event.detail.clone()),
    };
    audit_event::Entity::insert(row).exec(conn).await?;
    Ok(())
}

impl From<audit_event::Model> for AuditRecord {
    fn from(m: audit_event::Model) -> Self {
        Self {
            id: m.id,
            at: m.at,
            event_type: m.event_type,
            actor_kind: m.actor_kind,
            actor_id: m.actor_id,
            user_id: m.user_id,
            client_id: m.client_id,
            subject: m.subject,
            client_addr: m.client_addr,
            request_id: m.request_id,
            detail: m.detail,
        }
    }
}

impl Store {
    /// Records one event on its own (for events that change nothing else, such as a failed
    /// sign-in that the throttle already counted in its own transaction, prefer recording it there).
    pub async fn record_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
        insert_audit_in(self.conn(), event).await
    }

    /// The events `q` selects, newest first.
    pub async fn audit_events(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        use audit_event::Column as C;
        let mut cond = Condition::all();
        if let Some(since) = q.since {
            cond = cond.add(C::At.gte(since));
        }
        if let Some(user) = &q.user_id {
            cond = cond.add(
                Condition::any().add(C::UserId.eq(user.as_str())).add(
                    Condition::all()
                        .add(C::ActorKind.eq("user"))
                        .add(C::ActorId.eq(user.as_str())),
                ),
            );
        }
        if let Some(client) = &q.client_id {
            cond = cond.add(C::ClientId.eq(client.as_str()));
        }
        if let Some(t) = &q.event_type {
            cond = cond.add(C::EventType.eq(t.as_str()));
        }
        if let Some(before) = q.before_id {
            cond = cond.add(C::Id.lt(before));
        }
        Ok(audit_event::Entity::find()
            .filter(cond)
            .order_by_desc(C::Id)
            .limit(q.limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(AuditRecord::from)
            .collect())
    }

    /// Deletes events older than `before`; returns how many.
    pub async fn purge_audit_before(&self, before: i64) -> Result<u64, StoreError> {
        Ok(audit_event::Entity::delete_many()
            .filter(audit_event::Column::At.lt(before))
            .exec(self.conn())
            .await?
            .rows_affected)
    }
}
