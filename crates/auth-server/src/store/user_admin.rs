//! Administrative changes of users (the admin API's and the CLI's): each is one transaction that
//! first writes the user's row (which takes its lock, so it is serialised with a sign-in starting a
//! session under the user's security stamp, see [`Store::start_session`], and with any other change
//! of the user), then does the change, and stores its audit event before it commits. A change of a
//! user that does not exist writes nothing, not even an event.
//!
//! Ending a user's grants is in `user_sessions::end_user_grants_in`, searching with keyset
//! paging in [`Store::search_users`].

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, TransactionTrait};

use super::audit::insert_audit_in;
use super::entities::{
    authorization_code as code, consent, pending_consent, refresh_token, sso_session as session,
    token_family as family, user,
};
use super::user_sessions::end_user_grants_in;
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::records::UserRecord;

/// A change of a user's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileEdit {
    /// A new login name (unique).
    pub username: Option<String>,
    /// A new e-mail address, or `Some(None)` to remove it.
    pub email: Option<Option<String>>,
    /// A new display name.
    pub display_name: Option<String>,
}

impl ProfileEdit {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.username.is_none() && self.email.is_none() && self.display_name.is_none()
    }
}

/// A change of a user: its profile, its standing, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// The profile fields to change.
    pub profile: ProfileEdit,
    /// The change of standing, if any.
    pub standing: Option<Standing>,
}

/// A change of a user's standing: each moves the security stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Refuse sign-in, and end every session and grant.
    Disable,
    /// Allow sign-in again (nothing that was ended comes back).
    Enable,
    /// A new password hash (PHC string): every session and grant ends.
    Password(String),
}

/// `UPDATE users SET security_stamp = security_stamp + 1, updated_at = now WHERE id = ?`, to which
/// the caller adds the change: the statement that takes the user's row lock.
fn bump_stamp(id: &str, now: i64) -> sea_orm::UpdateMany<user::Entity> {
    user::Entity::update_many()
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            user::Column::SecurityStamp,
            Expr::col(user::Column::SecurityStamp).add(1),
        )
        .filter(user::Column::Id.eq(id))
}

impl Store {
    /// Inserts a user and its audit event in one transaction; [`StoreError::Conflict`] (and no
    /// event) if the username is taken.
    pub async fn create_user(
        &self,
        row: UserRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        user::Entity::insert(user::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Changes user `id` as `change` says, in one transaction with the events `audit` makes of the
    /// changed row: a change of standing moves the security stamp, and disabling and a new
    /// password end every session and grant of the user (`user_sessions::end_user_grants_in`);
    /// a profile change alone does not move it (no credential changed). `None`, and nothing
    /// written, if there is no such user; [`StoreError::Conflict`] if the new username is taken.
    pub async fn change_user(
        &self,
        id: &str,
        change: &UserChange,
        now: i64,
        audit: impl FnOnce(&UserRecord) -> Vec<AuditRecord>,
    ) -> Result<Option<UserRecord>, StoreError> {
        let out = async {
            let txn = self.conn().begin().await?;
            let mut update = match &change.standing {
                None => user::Entity::update_many()
                    .col_expr(user::Column::UpdatedAt, Expr::value(now))
                    .filter(user::Column::Id.eq(id)),
                Some(Standing::Disable) => {
                    bump_stamp(id, now).col_expr(user::Column::Disabled, Expr::value(true))
                }
                Some(Standing::Enable) => {
                    bump_stamp(id, now).col_expr(user::Column::Disabled, Expr::value(false))
                }
                Some(Standing::Password(phc)) => bump_stamp(id, now)
                    .col_expr(user::Column::PasswordHash, Expr::value(phc.clone())),
            };
            let edit = &change.profile;
            if let Some(name) = &edit.username {
                update = update.col_expr(user::Column::Username, Expr::value(name.clone()));
            }
            if let Some(email) = &edit.email {
                update = update.col_expr(user::Column::Email, Expr::value(email.clone()));
            }
            if let Some(display) = &edit.display_name {
                update = update.col_expr(user::Column::DisplayName, Expr::value(display.clone()));
            }
            if update.exec(&txn).await?.rows_affected != 1 {
                txn.rollback().await?;
                return Ok(None);
            }
            if matches!(
                change.standing,
                Some(Standing::Disable | Standing::Password(_))
            ) {
                end_user_grants_in(&txn, id, now).await?;
            }
            let Some(row) = user::Entity::find_by_id(id.to_owned()).one(&txn).await? else {
                txn.rollback().await?;
                return Ok(None);
            };
            let row = UserRecord::from(row);
            for event in audit(&row) {
                insert_audit_in(&txn, &event).await?;
            }
            txn.commit().await?;
            Ok(Some(row))
        }
        .await;
        if change.standing.is_some() {
            self.revocations_changed();
        }
        out
    }

    /// Deletes user `id` with everything it holds, in one transaction with `audit(user)`: first its
    /// grants end as for a disabled user (`user_sessions::end_user_grants_in`: its access tokens are revoked by
    /// the subject's cut-off and by `jti`), then its sessions, codes, refresh-token families and
    /// their tokens, consents, pending consent pages and WebAuthn keys are deleted, and the user row last. The
    /// revocation records stay until the tokens they name expire. `None` if there is no such user.
    pub async fn delete_user(
        &self,
        id: &str,
        now: i64,
        audit: impl FnOnce(&UserRecord) -> AuditRecord,
    ) -> Result<Option<UserRecord>, StoreError> {
        let out = async {
            let txn = self.conn().begin().await?;
            if bump_stamp(id, now).exec(&txn).await?.rows_affected != 1 {
                txn.rollback().await?;
                return Ok(None);
            }
            let Some(row) = user::Entity::find_by_id(id.to_owned()).one(&txn).await? else {
                txn.rollback().await?;
                return Ok(None);
            };
            let row = UserRecord::from(row);
            end_user_grants_in(&txn, id, now).await?;
            let families = Query::select()
                .column(family::Column::Id)
                .from(family::Entity)
                .and_where(family::Column::UserId.eq(id))
                .to_owned();
            refresh_token::Entity::delete_many()
                .filter(refresh_token::Column::FamilyId.in_subquery(families))
                .exec(&txn)
                .await?;
            family::Entity::delete_many()
                .filter(family::Column::UserId.eq(id))
                .exec(&txn)
                .await?;
            code::Entity::delete_many()
                .filter(code::Column::UserId.eq(id))
                .exec(&txn)
                .await?;
            let sessions = Query::select()
                .column(session::Column::Id)
                .from(session::Entity)
                .and_where(session::Column::UserId.eq(id))
                .to_owned();
            pending_consent::Entity::delete_many()
                .filter(pending_consent::Column::SessionId.in_subquery(sessions))
                .exec(&txn)
                .await?;
            session::Entity::delete_many()
                .filter(session::Column::UserId.eq(id))
                .exec(&txn)
                .await?;
            consent::Entity::delete_many()
                .filter(consent::Column::UserId.eq(id))
                .exec(&txn)
                .await?;
            super::webauthn::delete_user_credentials_in(&txn, id).await?;
            user::Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
            insert_audit_in(&txn, &audit(&row)).await?;
            txn.commit().await?;
            Ok(Some(row))
        }
        .await;
        self.revocations_changed();
        out
    }
}
