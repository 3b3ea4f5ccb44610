//! The user repository.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::entities::user::{self, ActiveModel, Column, Entity};
use super::{Store, StoreError};

impl Store {
    /// Inserts a user; [`StoreError::Conflict`] if the username is taken.
    pub async fn insert_user(&self, row: user::Model) -> Result<(), StoreError> {
        let active: ActiveModel = row.into();
        Entity::insert(active)
            .exec_without_returning(self.conn())
            .await?;
        Ok(())
    }

    /// One user by login name.
    pub async fn find_user_by_username(
        &self,
        username: &str,
    ) -> Result<Option<user::Model>, StoreError> {
        Ok(Entity::find()
            .filter(Column::Username.eq(username))
            .one(self.conn())
            .await?)
    }

    /// One user by subject id.
    pub async fn find_user(&self, id: &str) -> Result<Option<user::Model>, StoreError> {
        Ok(Entity::find_by_id(id.to_owned()).one(self.conn()).await?)
    }

    /// Every user, by login name.
    pub async fn list_users(&self) -> Result<Vec<user::Model>, StoreError> {
        Ok(Entity::find()
            .order_by_asc(Column::Username)
            .all(self.conn())
            .await?)
    }

    /// Sets the password hash of user `id`.
    pub async fn set_user_password(
        &self,
        id: &str,
        phc: String,
        now: i64,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            id: Set(id.to_owned()),
            password_hash: Set(Some(phc)),
            updated_at: Set(now),
            ..Default::default()
        };
        row.update(self.conn()).await?;
        Ok(())
    }

    /// Enables or disables user `id`.
    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            id: Set(id.to_owned()),
            disabled: Set(disabled),
            updated_at: Set(now),
            ..Default::default()
        };
        row.update(self.conn()).await?;
        Ok(())
    }
}
