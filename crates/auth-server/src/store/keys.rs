//! The signing-key repository. Every change of a key row is conditional (re-sealing, revocation)
//! or guarded by the unique `(alg, generation)` index (creation), so two replicas sharing one
//! database never both apply one.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, ExprTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};

use super::entities::signing_key::{ActiveModel, Column, Entity};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::records::KeyRecord;

impl Store {
    /// Every key, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.all_as(
            Entity::find()
                .order_by_asc(Column::Alg)
                .order_by_asc(Column::Generation),
        )
        .await
    }

    /// One key.
    pub async fn key(&self, kid: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.one_as(Entity::find_by_id(kid)).await
    }

    /// Keys still in (or not yet out of) the JWKS at `now` and not revoked, oldest first.
    pub async fn live_keys(&self, now: i64) -> Result<Vec<KeyRecord>, StoreError> {
        self.all_as(
            Entity::find()
                .filter(Column::RevokedAt.is_null())
                .filter(Column::RemovedAt.is_null().or(Column::RemovedAt.gt(now)))
                .order_by_asc(Column::Alg)
                .order_by_asc(Column::Generation),
        )
        .await
    }

    /// The newest key of `alg`, if any.
    pub async fn newest_key(&self, alg: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.one_as(
            Entity::find()
                .filter(Column::Alg.eq(alg))
                .order_by_desc(Column::Generation),
        )
        .await
    }

    /// Inserts `next` and, in the same transaction, schedules the retirement of `previous` (if any)
    /// and records `audit` (if any).
    ///
    /// If another writer already created a key with the same `(alg, generation)`, the unique index
    /// refuses the insert, nothing is written, and the result is [`StoreError::Conflict`].
    pub async fn insert_next_key(
        &self,
        next: KeyRecord,
        previous: Option<(String, i64, i64)>,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        let active: ActiveModel = next.into();
        Entity::insert(active).exec_without_returning(&txn).await?;
        if let Some((kid, retires_at, removed_at)) = previous {
            let row = ActiveModel {
                kid: Set(kid),
                retires_at: Set(Some(retires_at)),
                removed_at: Set(Some(removed_at)),
                ..Default::default()
            };
            row.update(&txn).await?;
        }
        if let Some(audit) = audit {
            super::audit::insert_audit_in(&txn, audit).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stores the version-2 sealing of a version-1 row, only if the row still holds `old_sealed`
    /// under version 1 and is not revoked (another replica may have re-sealed or revoked it
    /// meanwhile). Returns whether this call changed it.
    pub async fn reseal_key(
        &self,
        kid: &str,
        old_sealed: &[u8],
        new_sealed: Vec<u8>,
        new_version: i32,
    ) -> Result<bool, StoreError> {
        let n = Entity::update_many()
            .col_expr(Column::PrivateKeySealed, Expr::value(new_sealed))
            .col_expr(Column::AadVersion, Expr::value(new_version))
            .filter(Column::Kid.eq(kid))
            .filter(Column::AadVersion.eq(1))
            .filter(Column::PrivateKeySealed.eq(old_sealed.to_vec()))
            .filter(Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Re-seals `kid` under another key-encryption key (`auth-server keys rewrap`), with its `audit`
    /// event in the same transaction: the update applies only if the row is still sealed under
    /// `old_kek_id` with exactly `old_sealed` and is not revoked, so of two concurrent rewraps (or
    /// a rewrap and a version-1 re-seal or a revocation) one applies and the other writes nothing,
    /// and a row is never overwritten with a blob made from a stale read. Returns whether this
    /// call changed it.
    pub async fn rewrap_key(
        &self,
        kid: &str,
        old_kek_id: &str,
        old_sealed: &[u8],
        sealed: Sealed,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let n = Entity::update_many()
            .col_expr(Column::PrivateKeySealed, Expr::value(sealed.blob))
            .col_expr(Column::KekId, Expr::value(sealed.kek_id))
            .col_expr(Column::AadVersion, Expr::value(sealed.aad_version))
            .filter(Column::Kid.eq(kid))
            .filter(Column::KekId.eq(old_kek_id))
            .filter(Column::PrivateKeySealed.eq(old_sealed.to_vec()))
            .filter(Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        super::audit::insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Revokes `kid` at `now` in one transaction (with its `audit` event): the row is marked revoked and removed, and its
    /// sealed private key is erased (so no edit of the row can bring the key back). With a
    /// `successor` (the revoked key was signing or pending), the successor is inserted (signing
    /// from its `activates_at`), and every other live key of the algorithm retires at `now` and
    /// leaves the JWKS at `removed_at`; the successor's generation must be the algorithm's next.
    ///
    /// The successor is inserted first, in the same order as a rotation's
    /// [`Store::insert_next_key`] (its unique `(alg, generation)` entry, then other rows), so a
    /// revocation and a rotation never wait for each other in a cycle: the later one of the two
    /// fails with [`StoreError::Conflict`] and is rolled back whole (call again with a fresh
    /// generation). On SQLite the first statement is a write, which takes the database's write
    /// lock for the whole transaction. The revocation itself is conditional
    /// (`revoked_at IS NULL`): of two concurrent revocations one does it, and the other writes
    /// nothing.
    pub async fn revoke_key(
        &self,
        kid: &str,
        now: i64,
        successor: Option<KeyRecord>,
        removed_at: i64,
        audit: &AuditRecord,
    ) -> Result<KeyRevocation, StoreError> {
        let txn = self.conn().begin().await?;
        let new_kid = successor.as_ref().map(|m| m.kid.clone());
        if let Some(next) = successor {
            Entity::insert(ActiveModel::from(next))
                .exec_without_returning(&txn)
                .await?;
        }
        let n = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .col_expr(Column::RemovedAt, Expr::value(now))
            .col_expr(Column::PrivateKeySealed, Expr::value(Vec::<u8>::new()))
            .filter(Column::Kid.eq(kid))
            .filter(Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        let Some(row) = Entity::find_by_id(kid).one(&txn).await? else {
            txn.rollback().await?;
            return Ok(KeyRevocation::NotFound);
        };
        if n != 1 {
            txn.rollback().await?;
            return Ok(KeyRevocation::AlreadyRevoked);
        }
        if let Some(new_kid) = &new_kid {
            Entity::update_many()
                .col_expr(Column::RetiresAt, Expr::value(now))
                .col_expr(Column::RemovedAt, Expr::value(removed_at))
                .filter(Column::Alg.eq(row.alg.as_str()))
                .filter(Column::Kid.ne(new_kid.as_str()))
                .filter(Column::RevokedAt.is_null())
                .filter(
                    Condition::any()
                        .add(Column::RetiresAt.is_null())
                        .add(Column::RetiresAt.gt(now)),
                )
                .exec(&txn)
                .await?;
        }
        super::audit::insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        self.revocations_changed();
        Ok(KeyRevocation::Revoked {
            alg: row.alg,
            successor: new_kid,
        })
    }

    /// The kids of keys revoked after `since`, oldest first.
    pub async fn revoked_kids(&self, since: i64) -> Result<Vec<String>, StoreError> {
        Ok(Entity::find()
            .filter(Column::RevokedAt.gt(since))
            .order_by_asc(Column::RevokedAt)
            .order_by_asc(Column::Kid)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|k| k.kid)
            .collect())
    }
}

/// A private key sealed anew, as [`Store::rewrap_key`] stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The sealed blob.
    pub blob: Vec<u8>,
    /// The id of the key-encryption key that sealed it.
    pub kek_id: String,
    /// The associated-data version it was sealed with.
    pub aad_version: i32,
}

/// What [`Store::revoke_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRevocation {
    /// Revoked now.
    Revoked {
        /// Its algorithm.
        alg: String,
        /// The key that signs from now on, if this call created one (none when the revoked key had
        /// already retired).
        successor: Option<String>,
    },
    /// It was revoked before; nothing was written.
    AlreadyRevoked,
    /// No such key.
    NotFound,
}
