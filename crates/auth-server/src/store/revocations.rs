//! Repositories of revocation records: revoked access tokens (by `jti`, with the client whose own
//! token it was) and per-subject cut-offs, and the revocation feed's queries over them.

use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use super::entities::{revoked_access_token, revoked_subject};
use super::{Store, StoreError};

impl Store {
    /// Records a revoked access token until its expiry. `own_token_of` names the client for a
    /// client's own (client-credentials) token, `None` for a user's token.
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        exp: i64,
        own_token_of: Option<&str>,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        let done = insert_revoked_jti_in(&txn, jti, exp, own_token_of).await;
        let done = match done {
            Ok(()) => txn.commit().await.map_err(StoreError::from),
            Err(e) => Err(e),
        };
        self.revocations_changed();
        done
    }

    /// Users' access tokens revoked before their expiry whose `exp` is after `since` (`jti`,
    /// `exp`), in `jti` order, at most `limit` of them: the revocation feed's main part.
    pub async fn live_revoked_user_tokens(
        &self,
        since: i64,
        limit: u64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_access_token::Entity::find()
            .filter(revoked_access_token::Column::ExpiresAt.gt(since))
            .filter(revoked_access_token::Column::ClientId.is_null())
            .order_by_asc(revoked_access_token::Column::Jti)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.jti, r.expires_at))
            .collect())
    }

    /// Clients' own tokens revoked before their expiry whose `exp` is after `since`: of each
    /// client, the `share` that expire last (`jti`, `exp`). Also whether any client had more.
    pub async fn live_revoked_client_tokens(
        &self,
        since: i64,
        share: u64,
    ) -> Result<(Vec<(String, i64)>, bool), StoreError> {
        let live = || {
            revoked_access_token::Entity::find()
                .filter(revoked_access_token::Column::ExpiresAt.gt(since))
                .filter(revoked_access_token::Column::ClientId.is_not_null())
        };
        let counts: Vec<(Option<String>, i64)> = live()
            .select_only()
            .column(revoked_access_token::Column::ClientId)
            .column_as(revoked_access_token::Column::Jti.count(), "n")
            .group_by(revoked_access_token::Column::ClientId)
            .into_tuple()
            .all(self.conn())
            .await?;
        let over: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| u64::try_from(*n).unwrap_or(0) > share)
            .filter_map(|(c, _)| c)
            .collect();
        let mut rows = live()
            .filter(revoked_access_token::Column::ClientId.is_not_in(over.clone()))
            .all(self.conn())
            .await?;
        for client in &over {
            rows.extend(
                live()
                    .filter(revoked_access_token::Column::ClientId.eq(client.as_str()))
                    .order_by_desc(revoked_access_token::Column::ExpiresAt)
                    .limit(share)
                    .all(self.conn())
                    .await?,
            );
        }
        let mut out: Vec<(String, i64)> = rows.into_iter().map(|r| (r.jti, r.expires_at)).collect();
        out.sort();
        Ok((out, !over.is_empty()))
    }

    /// The per-subject cut-offs still in force after `since` (`sub`, `before`), in `sub` order.
    pub async fn live_revoked_subjects(
        &self,
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_subject::Entity::find()
            .filter(revoked_subject::Column::ExpiresAt.gt(since))
            .order_by_asc(revoked_subject::Column::Sub)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.sub, r.before))
            .collect())
    }

    /// The revocation feed's cursor (migration `m0024_revocation_cursor`): a `seq` such that every
    /// revocation row committed with a lower `seq` is visible to any read that starts after this
    /// call returns. Read it *before* reading the rows it covers. On PostgreSQL, the `xmin` of a
    /// snapshot taken now (no transaction below it is still running; rows carry their writing
    /// transaction's id); on SQLite, the counter the triggers move, plus one (writers are
    /// serialised, and the counter moves in the statement that writes the row).
    pub async fn revocation_cursor(&self) -> Result<i64, StoreError> {
        self.revocation_seq_bound("pg_snapshot_xmin").await
    }

    /// An upper bound of every cursor [`Store::revocation_cursor`] returned before this call: on
    /// PostgreSQL the `xmax` of a snapshot taken now (the next transaction id), on SQLite the same
    /// counter + 1. A cursor above it was not made by this database.
    pub async fn revocation_horizon(&self) -> Result<i64, StoreError> {
        self.revocation_seq_bound("pg_snapshot_xmax").await
    }

    async fn revocation_seq_bound(&self, pg_function: &str) -> Result<i64, StoreError> {
        let backend = self.conn().get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                format!("SELECT {pg_function}(pg_current_snapshot())::text::bigint")
            }
            _ => "SELECT n + 1 FROM revocation_seq WHERE id = 1".to_owned(),
        };
        let row = self
            .conn()
            .query_one_raw(Statement::from_string(backend, sql))
            .await?;
        Ok(row
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// Revoked access tokens (users' and clients' own alike) whose `seq` is at least `from` and
    /// whose `exp` is after `since`: `(seq, jti, exp)`, the `limit` of them with the highest `seq`,
    /// highest first.
    pub async fn revoked_tokens_from(
        &self,
        from: i64,
        since: i64,
        limit: u64,
    ) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let seq = || Expr::col(Alias::new("seq"));
        Ok(revoked_access_token::Entity::find()
            .select_only()
            .column_as(seq(), "seq")
            .column(revoked_access_token::Column::Jti)
            .column(revoked_access_token::Column::ExpiresAt)
            .filter(seq().gte(from))
            .filter(revoked_access_token::Column::ExpiresAt.gt(since))
            .order_by_desc(seq())
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Per-subject cut-offs written or moved at `seq` `from` or later and still in force after
    /// `since`: `(seq, sub, before)`, the `limit` with the highest `seq`, highest first.
    pub async fn revoked_subjects_from(
        &self,
        from: i64,
        since: i64,
        limit: u64,
    ) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let seq = || Expr::col(Alias::new("seq"));
        Ok(revoked_subject::Entity::find()
            .select_only()
            .column_as(seq(), "seq")
            .column(revoked_subject::Column::Sub)
            .column(revoked_subject::Column::Before)
            .filter(seq().gte(from))
            .filter(revoked_subject::Column::ExpiresAt.gt(since))
            .order_by_desc(seq())
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Whether an access token was revoked.
    pub async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(revoked_access_token::Entity::find_by_id(jti.to_owned())
            .one(self.conn())
            .await?
            .is_some())
    }
}

/// Records, on `db`, the revocation of access token `jti` until `exp`, and of every token
/// exchanged from it (RFC 8693; see [`super::token_exchanges`]).
pub(super) async fn insert_revoked_jti_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
    own_token_of: Option<&str>,
) -> Result<(), StoreError> {
    insert_revoked_row_in(db, jti, exp, own_token_of).await?;
    super::token_exchanges::revoke_derived_in(db, jti, exp).await
}

/// Records, on `db`, the revocation of access token `jti` alone.
pub(super) async fn insert_revoked_row_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
    own_token_of: Option<&str>,
) -> Result<(), StoreError> {
    revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
        jti: Set(jti.to_owned()),
        expires_at: Set(exp),
        client_id: Set(own_token_of.map(str::to_owned)),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}
