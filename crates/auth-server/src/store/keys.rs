//! The signing-key repository.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};

use super::entities::signing_key::{self, ActiveModel, Column, Entity};
use super::{Store, StoreError};

impl Store {
    /// Every key, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<signing_key::Model>, StoreError> {
        Ok(Entity::find()
            .order_by_asc(Column::Alg)
            .order_by_asc(Column::Generation)
            .all(self.conn())
            .await?)
    }

    /// Keys still in (or not yet out of) the JWKS at `now`, oldest first.
    pub async fn live_keys(&self, now: i64) -> Result<Vec<signing_key::Model>, StoreError> {
        Ok(Entity::find()
            .filter(Column::RemovedAt.is_null().or(Column::RemovedAt.gt(now)))
            .order_by_asc(Column::Alg)
            .order_by_asc(Column::Generation)
            .all(self.conn())
            .await?)
    }

    /// The newest key of `alg`, if any.
    pub async fn newest_key(&self, alg: &str) -> Result<Option<signing_key::Model>, StoreError> {
        Ok(Entity::find()
            .filter(Column::Alg.eq(alg))
            .order_by_desc(Column::Generation)
            .one(self.conn())
            .await?)
    }

    /// Inserts `next` and, in the same transaction, schedules the retirement of `previous` (if any).
    ///
    /// If another writer already created a key with the same `(alg, generation)`, the unique index
    /// refuses the insert, nothing is written, and the result is [`StoreError::Conflict`].
    pub async fn insert_next_key(
        &self,
        next: signing_key::Model,
        previous: Option<(String, i64, i64)>,
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
        txn.commit().await?;
        Ok(())
    }
}
