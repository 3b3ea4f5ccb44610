//! The back-channel logout outbox: claiming due rows under a lease, settling them (delivered, to
//! retry later, given up), and purging settled rows.
//!
//! A claim is one conditional `UPDATE` per row (`WHERE` unsettled, due, and not leased, or its
//! lease has run out), on SQLite and PostgreSQL alike: of two drainers (replicas) racing for a row
//! exactly one updates it (PostgreSQL re-checks the condition on the locked row). The claim writes
//! a random `claim_token`, and only the holder of that token can settle the row, so a drainer whose
//! lease ran out (it crashed, or stalled past the lease) cannot settle a row another has claimed
//! since. A crash after a claim loses nothing: the row becomes claimable again when the lease ends.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::backchannel_outbox::{self as outbox, Column};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;

/// One claimed logout token to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Row id.
    pub id: String,
    /// The ended session (`sid`).
    pub session_id: String,
    /// The client (`aud`).
    pub client_id: String,
    /// The user (`sub`).
    pub user_id: String,
    /// Where to POST.
    pub uri: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The claim's token: pass it back to settle the row.
    pub claim_token: String,
}

/// A row of the outbox as it stands (for tests, diagnostics and the admin's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// The ended session (`sid`).
    pub session_id: String,
    /// The client.
    pub client_id: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// Leased until.
    pub claimed_until: Option<i64>,
    /// Delivered at.
    pub delivered_at: Option<i64>,
    /// Given up at.
    pub failed_at: Option<i64>,
    /// The last failure seen.
    pub last_error: Option<String>,
}

/// How a failed attempt settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// Try again from this time.
    At(i64),
    /// Give up, recording this audit event in the same transaction.
    GiveUp(Box<AuditRecord>),
}

fn unsettled() -> Condition {
    Condition::all()
        .add(Column::DeliveredAt.is_null())
        .add(Column::FailedAt.is_null())
}

fn unleased(now: i64) -> Condition {
    Condition::any()
        .add(Column::ClaimedUntil.is_null())
        .add(Column::ClaimedUntil.lte(now))
}

impl Store {
    /// Claims at most `limit` due rows for `lease` seconds under `token` (random, new for each
    /// call): each with one conditional update, so no row is claimed by two drainers at once.
    pub async fn claim_outbox(
        &self,
        now: i64,
        lease: i64,
        limit: u64,
        token: &str,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let candidates = outbox::Entity::find()
            .filter(unsettled())
            .filter(Column::NextAttemptAt.lte(now))
            .filter(unleased(now))
            .order_by_asc(Column::NextAttemptAt)
            .limit(limit)
            .all(self.conn())
            .await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for row in candidates {
            let n = outbox::Entity::update_many()
                .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
                .col_expr(Column::ClaimedUntil, Expr::value(now.saturating_add(lease)))
                .col_expr(Column::ClaimToken, Expr::value(token))
                .filter(Column::Id.eq(&row.id))
                .filter(unsettled())
                .filter(Column::NextAttemptAt.lte(now))
                .filter(unleased(now))
                .exec(self.conn())
                .await?
                .rows_affected;
            if n == 1 {
                claimed.push(OutboxItem {
                    id: row.id,
                    session_id: row.session_id,
                    client_id: row.client_id,
                    user_id: row.user_id,
                    uri: row.uri,
                    attempts: row.attempts.saturating_add(1),
                    claim_token: token.to_owned(),
                });
            }
        }
        Ok(claimed)
    }

    /// Marks a claimed row delivered; false if the claim was lost (its lease ran out and another
    /// drainer claimed it).
    pub async fn outbox_delivered(&self, item: &OutboxItem, now: i64) -> Result<bool, StoreError> {
        let n = outbox::Entity::update_many()
            .col_expr(Column::DeliveredAt, Expr::value(now))
            .col_expr(Column::ClaimedUntil, Expr::value(Option::<i64>::None))
            .filter(Column::Id.eq(&item.id))
            .filter(Column::ClaimToken.eq(&item.claim_token))
            .filter(unsettled())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Settles a failed attempt of a claimed row: due again at a later time, or given up (with its
    /// audit event, in one transaction). False if the claim was lost.
    pub async fn outbox_failed(
        &self,
        item: &OutboxItem,
        now: i64,
        error: &str,
        retry: &Retry,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let mut update = outbox::Entity::update_many()
            .col_expr(Column::ClaimedUntil, Expr::value(Option::<i64>::None))
            .col_expr(Column::LastError, Expr::value(error.to_owned()));
        update = match retry {
            Retry::At(at) => update.col_expr(Column::NextAttemptAt, Expr::value(*at)),
            Retry::GiveUp(_) => update.col_expr(Column::FailedAt, Expr::value(now)),
        };
        let n = update
            .filter(Column::Id.eq(&item.id))
            .filter(Column::ClaimToken.eq(&item.claim_token))
            .filter(unsettled())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        if let Retry::GiveUp(event) = retry {
            insert_audit_in(&txn, event).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Deletes the rows delivered or given up before `before`.
    pub async fn purge_outbox(&self, before: i64) -> Result<u64, StoreError> {
        Ok(outbox::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(Column::DeliveredAt.lt(before))
                    .add(Column::FailedAt.lt(before)),
            )
            .exec(self.conn())
            .await?
            .rows_affected)
    }

    /// The outbox rows of session `session_id`, by client id.
    pub async fn outbox_of_session(&self, session_id: &str) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(Column::SessionId.eq(session_id))
            .order_by_asc(Column::ClientId)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| OutboxRow {
                session_id: r.session_id,
                client_id: r.client_id,
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at,
                claimed_until: r.claimed_until,
                delivered_at: r.delivered_at,
                failed_at: r.failed_at,
                last_error: r.last_error,
            })
            .collect())
    }
}
