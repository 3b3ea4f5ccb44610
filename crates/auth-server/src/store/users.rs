//! The user repository.

use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

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

    /// At most `limit` users by login name after `after` (keyset paging: pass the last username of
    /// the previous page), whose username or e-mail address contains `search`, ignoring ASCII case.
    pub async fn search_users(
        &self,
        search: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut select = Entity::find();
        if let Some(text) = search {
            let pattern = format!("%{}%", escape_like(&text.to_ascii_lowercase()));
            let contains = |column: Column| {
                Expr::expr(Func::lower(Expr::col(column)))
                    .like(LikeExpr::new(pattern.clone()).escape('\\'))
            };
            select = select.filter(
                Condition::any()
                    .add(contains(Column::Username))
                    .add(contains(Column::Email)),
            );
        }
        if let Some(after) = after {
            select = select.filter(Column::Username.gt(after));
        }
        self.all_as(select.order_by_asc(Column::Username).limit(limit))
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

/// `text` with the `LIKE` wildcards and the escape character escaped with a backslash.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::escape_like(r"a%b_c\d"), r"a\%b\_c\\d");
        assert_eq!(super::escape_like("alice"), "alice");
    }
}
