//! Which clients received tokens in each SSO session, and the enqueueing of their logout tokens
//! (OpenID Connect Back-Channel Logout 1.0) in the transaction that ends the session.
//!
//! A `session_clients` row is written when a code is redeemed under a session
//! (`bind_session_client_in`, in [`Store::commit_code_grant`]'s transaction, under the session's
//! lock). It is consumed exactly once: whoever deletes it (a conditional `DELETE` of that one row)
//! writes the outbox row for it, in the same transaction. So a session ended by two replicas at
//! once, or ended while its expiry is being noticed, yields one logout token per client, and the
//! outbox's unique `(session_id, client_id)` makes a second one impossible in any case.

use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};

use super::entities::{
    authorization_code as code, backchannel_outbox as outbox, client, session_client,
    sso_session as session,
};
use super::{Store, StoreError};

/// Most session/client pairs one pass of [`Store::notify_lapsed_sessions`] handles.
const LAPSED_BATCH: u64 = 500;

/// Records, on `db`, that the client of code `digest` received tokens in the code's session.
pub(super) async fn bind_session_client_in(
    db: &impl ConnectionTrait,
    digest: &[u8],
) -> Result<(), StoreError> {
    let Some(c) = code::Entity::find_by_id(digest.to_vec()).one(db).await? else {
        return Ok(());
    };
    let Some(s) = session::Entity::find_by_id(c.session_id.clone())
        .one(db)
        .await?
    else {
        return Ok(());
    };
    session_client::Entity::insert(session_client::ActiveModel {
        session_id: Set(c.session_id),
        client_id: Set(c.client_id),
        user_id: Set(c.user_id),
        created_at: Set(c.created_at),
        expires_at: Set(s.expires_at),
    })
    .on_conflict(
        OnConflict::columns([
            session_client::Column::SessionId,
            session_client::Column::ClientId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Consumes, on `db`, the `session_clients` rows of session `session_id` and writes one outbox
/// row for each of those clients that has a `backchannel_logout_uri`. Returns how many were
/// enqueued. Called in the transaction that ends the session.
pub(super) async fn enqueue_logouts_in(
    db: &impl ConnectionTrait,
    session_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let rows = session_client::Entity::find()
        .filter(session_client::Column::SessionId.eq(session_id))
        .all(db)
        .await?;
    let mut enqueued = 0;
    for row in rows {
        if consume_in(db, &row, now).await? {
            enqueued += 1;
        }
    }
    Ok(enqueued)
}

/// Deletes one `session_clients` row and, if this call deleted it and its client has a
/// back-channel logout URI, inserts its outbox row. True if a row was enqueued.
async fn consume_in(
    db: &impl ConnectionTrait,
    row: &session_client::Model,
    now: i64,
) -> Result<bool, StoreError> {
    let deleted = session_client::Entity::delete_many()
        .filter(session_client::Column::SessionId.eq(&row.session_id))
        .filter(session_client::Column::ClientId.eq(&row.client_id))
        .exec(db)
        .await?
        .rows_affected;
    if deleted != 1 {
        return Ok(false);
    }
    let uri = client::Entity::find_by_id(row.client_id.clone())
        .one(db)
        .await?
        .and_then(|c| c.backchannel_logout_uri);
    let Some(uri) = uri else {
        return Ok(false);
    };
    let inserted = outbox::Entity::insert(outbox::ActiveModel {
        id: Set(format!("{}:{}", row.session_id, row.client_id)),
        session_id: Set(row.session_id.clone()),
        client_id: Set(row.client_id.clone()),
        user_id: Set(row.user_id.clone()),
        uri: Set(uri),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        claim_token: Set(None),
        delivered_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
    })
    .on_conflict(
        OnConflict::columns([outbox::Column::SessionId, outbox::Column::ClientId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

impl Store {
    /// Notices the sessions that have lapsed by `now` without being ended (past their absolute
    /// end, or unused for `idle` seconds: neither can become live again) and enqueues the logout
    /// tokens of the clients that received tokens in them, each pair in its own transaction
    /// (consumed exactly once, see the module). The sessions themselves are left as they are (an
    /// `offline_access` grant outlives its session). Returns how many logout tokens were enqueued.
    pub async fn notify_lapsed_sessions(&self, now: i64, idle: i64) -> Result<u64, StoreError> {
        let lapsed = Query::select()
            .column(session::Column::Id)
            .from(session::Entity)
            .and_where(session::Column::EndedAt.is_null())
            .cond_where(
                Condition::any()
                    .add(session::Column::ExpiresAt.lte(now))
                    .add(session::Column::LastSeenAt.lte(now.saturating_sub(idle))),
            )
            .to_owned();
        let rows = session_client::Entity::find()
            .filter(
                Condition::any()
                    .add(session_client::Column::ExpiresAt.lte(now))
                    .add(session_client::Column::SessionId.in_subquery(lapsed)),
            )
            .limit(LAPSED_BATCH)
            .all(self.conn())
            .await?;
        let mut enqueued = 0;
        for row in rows {
            let txn = self.conn().begin().await?;
            let done = consume_in(&txn, &row, now).await?;
            txn.commit().await?;
            if done {
                enqueued += 1;
            }
        }
        Ok(enqueued)
    }

    /// The clients recorded as having received tokens in session `session_id` and not yet told of
    /// its end, by id (for tests and diagnostics).
    pub async fn session_clients(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = session_client::Entity::find()
            .filter(session_client::Column::SessionId.eq(session_id))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| r.client_id)
            .collect();
        ids.sort();
        Ok(ids)
    }
}
