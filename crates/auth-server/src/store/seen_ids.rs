//! Identifiers that may be used once, shared by every replica: a client assertion's `jti` (RFC 7523
//! §3: "The authorization server MAY ensure that JWTs are not replayed by maintaining the set of
//! used "jti" values for the length of time for which the JWT would be considered valid"), a DPoP
//! proof's `jti` (RFC 9449 §11.1).

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::entities::seen_id;
use super::{Store, StoreError};

impl Store {
    /// Remembers `id` in `scope` until `expires_at` (inclusive: the entry still refuses a replay at
    /// `now == expires_at`, the last second a checker accepting "`now <= until`" still accepts the
    /// identifier): true the first time it is seen among unexpired entries, false for a replay.
    ///
    /// One statement: `INSERT … ON CONFLICT (scope, id_sha256) DO UPDATE SET expires_at = … WHERE
    /// seen_ids.expires_at < now` on the primary key (scope, SHA-256 of the id). A new identifier
    /// is inserted; an expired entry is taken over; a live one is left alone and the statement
    /// changes no row. Of any number of concurrent calls with one identifier, on any replicas,
    /// exactly one changes a row and is told true: on PostgreSQL the unique key makes the losers
    /// wait for the winner's commit, then re-check the `WHERE` against its row (live: nothing
    /// done), and SQLite serialises writers. An entry is only taken over once its `expires_at` is
    /// before `now`, so a live identifier is never used twice.
    pub async fn remember_once(
        &self,
        scope: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let id_sha256 = Sha256::digest(id.as_bytes()).to_vec();
        let changed = seen_id::Entity::insert(seen_id::ActiveModel {
            scope: Set(scope.to_owned()),
            id_sha256: Set(id_sha256),
            expires_at: Set(expires_at),
        })
        .on_conflict(
            OnConflict::columns([seen_id::Column::Scope, seen_id::Column::IdSha256])
                .update_column(seen_id::Column::ExpiresAt)
                .action_and_where(Expr::col((seen_id::Entity, seen_id::Column::ExpiresAt)).lt(now))
                .to_owned(),
        )
        .exec_without_returning(self.conn())
        .await?;
        Ok(changed == 1)
    }

    /// Forgets identifiers whose `expires_at` is before `now` (the maintenance job).
    pub async fn purge_seen_ids(&self, now: i64) -> Result<u64, StoreError> {
        Ok(seen_id::Entity::delete_many()
            .filter(seen_id::Column::ExpiresAt.lt(now))
            .exec(self.conn())
            .await?
            .rows_affected)
    }
}
