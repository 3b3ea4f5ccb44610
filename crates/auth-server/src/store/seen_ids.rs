//! Identifiers that may be used once, shared by every replica: a client assertion's `jti` (RFC 7523
//! §3: "The authorization server MAY ensure that JWTs are not replayed by maintaining the set of
//! used "jti" values for the length of time for which the JWT would be considered valid"), a DPoP
//! proof's `jti` (RFC 9449 §11.1).

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TryInsertResult};
use sha2::{Digest, Sha256};

use super::entities::seen_id;
use super::{Store, StoreError};

impl Store {
    /// Remembers `id` in `scope` until `expires_at` (inclusive: the entry still refuses a replay at
    /// `now == expires_at`, the last second a checker accepting "`now <= until`" still accepts the
    /// identifier): true the first time it is seen among unexpired entries, false for a replay.
    ///
    /// One guarded `DELETE` of this identifier's expired entry, then one `INSERT … ON CONFLICT DO
    /// NOTHING` on the primary key (scope, SHA-256 of the id): of any number of concurrent calls
    /// with one identifier, on any replicas, exactly one inserts the row and is told true, on
    /// PostgreSQL (the unique key makes the losers wait for the winner, then do nothing) as on
    /// SQLite. The delete only removes an entry whose `expires_at` is before `now`, so it never
    /// lets a live identifier be used twice.
    pub async fn remember_once(
        &self,
        scope: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let id_sha256 = Sha256::digest(id.as_bytes()).to_vec();
        seen_id::Entity::delete_many()
            .filter(seen_id::Column::Scope.eq(scope))
            .filter(seen_id::Column::IdSha256.eq(id_sha256.clone()))
            .filter(seen_id::Column::ExpiresAt.lt(now))
            .exec(self.conn())
            .await?;
        let inserted = seen_id::Entity::insert(seen_id::ActiveModel {
            scope: Set(scope.to_owned()),
            id_sha256: Set(id_sha256),
            expires_at: Set(expires_at),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(self.conn())
        .await?;
        Ok(matches!(inserted, TryInsertResult::Inserted(1)))
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
