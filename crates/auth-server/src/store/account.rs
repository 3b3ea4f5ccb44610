//! Repositories of the account page: what a user sees of their own consents and grants, and the
//! changes they make themselves (a new password that keeps their current session, a withdrawn
//! consent, a fresh `auth_time`). Each change is one transaction that writes the row it depends
//! on first (the user's row, the session's, the consent's and each code's), so it is serialised
//! with the grants racing it on any replica; see the README's "Invariants under concurrency".

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, TransactionTrait};

use super::audit::insert_audit_in;
use super::entities::{
    authorization_code as code, consent, revoked_access_token, sso_session as session,
    token_family as family, user,
};
use super::grants::{REUSED_MARK, revoke_family_in};
use super::revocations::insert_revoked_jti_in;
use super::user_sessions::end_user_grants_in;
use super::{Store, StoreError, find_where_null};
use crate::model::audit::AuditRecord;
use crate::model::records::ConsentRecord;

/// What [`Store::change_own_password`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnPasswordChange {
    /// The new password is stored, every grant and every other session ended.
    Changed,
    /// The user's credentials changed (or the user was disabled) since the current password was
    /// checked: nothing was written.
    Stale,
    /// The session the change was made from has ended: nothing was written.
    SessionGone,
}

/// A client holding a live grant of a user: its id, and when the oldest of those grants was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGrant {
    /// The client.
    pub client_id: String,
    /// When its oldest live grant was made.
    pub since: i64,
}

impl Store {
    /// The consents of user `user_id`, by client id.
    pub async fn consents_of(&self, user_id: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        self.all_as(
            consent::Entity::find()
                .filter(consent::Column::UserId.eq(user_id))
                .order_by_asc(consent::Column::ClientId),
        )
        .await
    }

    /// The clients that hold a live grant of user `user_id` at `now`: a refresh-token family that is
    /// neither revoked nor expired, or the access token of a code grant without one that has
    /// neither expired nor been revoked.
    pub async fn live_grants_of(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<LiveGrant>, StoreError> {
        let mut out: Vec<LiveGrant> = Vec::new();
        let mut add =
            |client_id: String, since: i64| match out.iter_mut().find(|g| g.client_id == client_id)
            {
                Some(g) => g.since = std::cmp::min(g.since, since),
                None => out.push(LiveGrant { client_id, since }),
            };
        for f in find_where_null(family::Column::UserId, user_id, family::Column::RevokedAt)
            .filter(family::Column::ExpiresAt.gt(now))
            .all(self.conn())
            .await?
        {
            add(f.client_id, f.created_at);
        }
        // A code grant without a refresh token lives while its access token does: unexpired, and
        // neither revoked nor marked reused.
        for c in code::Entity::find()
            .filter(code::Column::UserId.eq(user_id))
            .filter(code::Column::FamilyId.is_null())
            .filter(code::Column::AccessExp.gt(now))
            .filter(code::Column::AccessJti.ne(REUSED_MARK))
            .filter(code::Column::AccessJti.not_in_subquery(revoked_jtis()))
            .all(self.conn())
            .await?
        {
            add(c.client_id, c.created_at);
        }
        out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(out)
    }

    /// Sets the `auth_time` of session `session_id` of user `user_id` to `now` (the user entered
    /// the password again) and, when a second factor was proved too, its `amr` to `amr`, in one
    /// conditional update, if the session has not ended or passed its absolute end. True if so.
    pub async fn reauthenticated(
        &self,
        session_id: &str,
        user_id: &str,
        amr: Option<&[String]>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut update = find_live_session(session_id, user_id, now)
            .col_expr(session::Column::AuthTime, Expr::value(now))
            .col_expr(session::Column::LastSeenAt, Expr::value(now));
        if let Some(amr) = amr {
            update = update.col_expr(session::Column::Amr, Expr::value(amr.join(" ")));
        }
        let n = update.exec(self.conn()).await?.rows_affected;
        Ok(n == 1)
    }

    /// A user's own change of password, made from session `session_id` after the current password
    /// was checked under security stamp `stamp`: in one transaction, the user's row is written
    /// first (new hash, stamp moved; only while the stamp is still `stamp` and the user enabled),
    /// then every grant of the user ends exactly as for an administrator's new password
    /// (`user_sessions::end_user_grants_in`: the subject's cut-off, every session with its grants,
    /// every refresh-token family, the access tokens of code grants), and the session the change
    /// was made from is kept, with `auth_time` `now`: it is checked live and locked before the
    /// grants end, and only its `ended_at` is cleared after (no other transaction sees it ended).
    /// `event` is stored before the commit.
    pub async fn change_own_password(
        &self,
        (user_id, session_id): (&str, &str),
        stamp: i64,
        phc: String,
        now: i64,
        event: &AuditRecord,
    ) -> Result<OwnPasswordChange, StoreError> {
        let out = async {
            let txn = self.conn().begin().await?;
            let changed = user::Entity::update_many()
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .col_expr(
                    user::Column::SecurityStamp,
                    Expr::col(user::Column::SecurityStamp).add(1),
                )
                .col_expr(user::Column::PasswordHash, Expr::value(phc))
                .filter(user::Column::Id.eq(user_id))
                .filter(user::Column::SecurityStamp.eq(stamp))
                .filter(user::Column::Disabled.eq(false))
                .exec(&txn)
                .await?
                .rows_affected;
            if changed != 1 {
                txn.rollback().await?;
                return Ok(OwnPasswordChange::Stale);
            }
            let kept = find_live_session(session_id, user_id, now)
                .col_expr(session::Column::AuthTime, Expr::value(now))
                .col_expr(session::Column::LastSeenAt, Expr::value(now))
                .exec(&txn)
                .await?
                .rows_affected;
            if kept != 1 {
                txn.rollback().await?;
                return Ok(OwnPasswordChange::SessionGone);
            }
            end_user_grants_in(&txn, user_id, now).await?;
            session::Entity::update_many()
                .col_expr(session::Column::EndedAt, Expr::value(Option::<i64>::None))
                .filter(session::Column::Id.eq(session_id))
                .exec(&txn)
                .await?;
            insert_audit_in(&txn, event).await?;
            txn.commit().await?;
            Ok(OwnPasswordChange::Changed)
        }
        .await;
        self.revocations_changed();
        out
    }

    /// Withdraws user `user_id`'s consent to client `client_id` and ends every grant of the user at
    /// that client, in one transaction with `event`: the consent is deleted; the user's codes at
    /// the client that have not recorded their tokens are marked reused (so a redemption still in
    /// flight refuses, [`Store::commit_code_grant`]); every live refresh-token family of the user at
    /// the client is revoked, with the access tokens it issued (each family's row is written
    /// before its tokens are read, so a refresh racing this either committed first and is seen, or
    /// finds the family revoked); the unexpired access tokens of code grants go to the revocation
    /// list by `jti`. False, and nothing written, if there was neither a consent nor a grant.
    pub async fn withdraw_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
        event: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let out = async {
            let txn = self.conn().begin().await?;
            let deleted = consent::Entity::delete_many()
                .filter(consent::Column::UserId.eq(user_id))
                .filter(consent::Column::ClientId.eq(client_id))
                .exec(&txn)
                .await?
                .rows_affected;
            let marked = code::Entity::update_many()
                .col_expr(code::Column::AccessJti, Expr::value(REUSED_MARK))
                .filter(code::Column::UserId.eq(user_id))
                .filter(code::Column::ClientId.eq(client_id))
                .filter(code::Column::AccessJti.is_null())
                .exec(&txn)
                .await?
                .rows_affected;
            let mut revoked = 0u64;
            for f in find_where_null(family::Column::UserId, user_id, family::Column::RevokedAt)
                .filter(family::Column::ClientId.eq(client_id))
                .all(&txn)
                .await?
            {
                if revoke_family_in(&txn, &f.id, now).await? {
                    revoked += 1;
                }
            }
            let codes = code::Entity::find()
                .filter(code::Column::UserId.eq(user_id))
                .filter(code::Column::ClientId.eq(client_id))
                .filter(code::Column::AccessExp.gt(now))
                .filter(code::Column::AccessJti.ne(REUSED_MARK))
                .filter(code::Column::AccessJti.not_in_subquery(revoked_jtis()))
                .all(&txn)
                .await?;
            for c in &codes {
                if let (Some(jti), Some(exp)) = (&c.access_jti, c.access_exp) {
                    insert_revoked_jti_in(&txn, jti, exp, None).await?;
                }
            }
            if deleted + marked + revoked == 0 && codes.is_empty() {
                txn.rollback().await?;
                return Ok(false);
            }
            insert_audit_in(&txn, event).await?;
            txn.commit().await?;
            Ok(true)
        }
        .await;
        self.revocations_changed();
        out
    }
}

/// `UPDATE sso_sessions ... WHERE id = session_id AND user_id = user_id AND ended_at IS NULL AND
/// expires_at > now`, to which the caller adds what to set.
fn find_live_session(
    session_id: &str,
    user_id: &str,
    now: i64,
) -> sea_orm::UpdateMany<session::Entity> {
    session::Entity::update_many()
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::EndedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
}

/// `SELECT jti FROM revoked_access_tokens`.
fn revoked_jtis() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(revoked_access_token::Column::Jti)
        .from(revoked_access_token::Entity)
        .to_owned()
}
