//! The user repository.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, TransactionTrait};

use super::entities::user::{ActiveModel, Column, Entity};
use super::{Store, StoreError};
use crate::model::records::{SessionRecord, UserRecord};

impl Store {
    /// Inserts a user; [`StoreError::Conflict`] if the username is taken.
    pub async fn insert_user(&self, row: UserRecord) -> Result<(), StoreError> {
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
    ) -> Result<Option<UserRecord>, StoreError> {
        self.one_as(Entity::find().filter(Column::Username.eq(username)))
            .await
    }

    /// One user by subject id.
    pub async fn find_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.one_as(Entity::find_by_id(id.to_owned())).await
    }

    /// Every user, by login name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.all_as(Entity::find().order_by_asc(Column::Username))
            .await
    }

    /// Sets the password hash of user `id` and moves its security stamp (sessions started under the
    /// old stamp can no longer be started; see [`Store::start_session`]).
    pub async fn set_user_password(
        &self,
        id: &str,
        phc: String,
        now: i64,
    ) -> Result<(), StoreError> {
        self.change_standing(id, Column::PasswordHash, phc, now)
            .await
    }

    /// Replaces a password hash made with weaker parameters by `new`, the same password hashed with
    /// today's: only if the stored hash is still `old`, so an upgrade racing a new password never
    /// brings the old password back. The stamp does not move (the password did not change).
    pub async fn upgrade_password_hash(
        &self,
        id: &str,
        old: &str,
        new: String,
    ) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::PasswordHash, Expr::value(new))
            .filter(Column::Id.eq(id))
            .filter(Column::PasswordHash.eq(old))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Enables or disables user `id`, moving its security stamp.
    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        self.change_standing(id, Column::Disabled, disabled, now)
            .await
    }

    /// Sets `column` of user `id` to `value`, with `updated_at`, and moves its security stamp: one
    /// statement.
    async fn change_standing(
        &self,
        id: &str,
        column: Column,
        value: impl Into<sea_orm::Value>,
        now: i64,
    ) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(column, Expr::value(value))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .col_expr(
                Column::SecurityStamp,
                Expr::col(Column::SecurityStamp).add(1),
            )
            .filter(Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Inserts a new sign-in session, if user `user_id` is still enabled and its security stamp is
    /// still `stamp` (the one its password was checked under). The user row is locked first (a
    /// conditional write), so a new password or a disabled user either commits first, and this
    /// refuses, or waits for this session to exist and then ends it. False if refused. `event` (the
    /// sign-in's audit event) is stored in the same transaction.
    pub async fn start_session(
        &self,
        row: SessionRecord,
        stamp: i64,
        event: Option<&crate::model::audit::AuditRecord>,
    ) -> Result<bool, StoreError> {
        use super::entities::sso_session;
        let txn = self.conn().begin().await?;
        let locked = Entity::update_many()
            .col_expr(Column::SecurityStamp, Expr::col(Column::SecurityStamp))
            .filter(Column::Id.eq(row.user_id.as_str()))
            .filter(Column::SecurityStamp.eq(stamp))
            .filter(Column::Disabled.eq(false))
            .exec(&txn)
            .await?
            .rows_affected;
        if locked != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        sso_session::Entity::insert(sso_session::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        if let Some(e) = event {
            super::audit::insert_audit_in(&txn, e).await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}
