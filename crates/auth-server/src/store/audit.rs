//! The audit trail's repository: events are inserted inside the caller's transaction (so an event
//! exists exactly when the change it records does), queried newest first with keyset paging, and
//! purged after their retention.

use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait, UpdateMany,
};

use super::entities::audit_event;
use super::{Store, StoreError};
use crate::model::audit::{AuditQuery, AuditRecord};

/// Applies `update` in a transaction of its own and, only if it changed exactly one row, stores
/// `audit` in the same transaction: the conditional change of one row and its event, together or
/// not at all. False (nothing written) if the condition did not hold. The update is the
/// transaction's first statement, so SQLite takes its write lock at once.
pub(crate) async fn update_one_audited<E: EntityTrait>(
    db: &DatabaseConnection,
    update: UpdateMany<E>,
    audit: &AuditRecord,
) -> Result<bool, StoreError> {
    let txn = db.begin().await?;
    if update.exec(&txn).await?.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    insert_audit_in(&txn, audit).await?;
    txn.commit().await?;
    Ok(true)
}

/// Inserts `event` on `conn`: pass the transaction of the change it records.
pub(crate) async fn insert_audit_in(
    conn: &impl ConnectionTrait,
    event: &AuditRecord,
) -> Result<(), StoreError> {
    // The id is the database's to give.
    let mut row = audit_event::ActiveModel::from(event.clone());
    row.id = NotSet;
    audit_event::Entity::insert(row).exec(conn).await?;
    Ok(())
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
