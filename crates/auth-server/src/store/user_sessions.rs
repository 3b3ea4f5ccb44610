//! A user's sessions and grants as an administrator sees them: listing the live sessions, ending
//! one or all of them, and ending every grant of a user, each inside the caller's transaction (the
//! one of the change that needs it, with its audit event).
//!
//! Races are closed by what each step writes before it reads: a session's row is written (ended)
//! before its families are read, so a code redemption that committed under it is seen, and one that
//! comes after finds it ended ([`Store::commit_code_grant`]); a family's row is written (revoked)
//! before its tokens are read ([`Store::advance_family`]).

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::{
    authorization_code as code, revoked_subject, sso_session as session, token_family as family,
    user,
};
use super::grants::revoke_family_in;
use super::revocations::insert_revoked_jti_in;
use super::{Store, StoreError, find_where_null, set_where_null};
use crate::model::audit::AuditRecord;
use crate::model::records::SessionRecord;

/// No access token lives longer than a day, whatever the configuration, so a subject's cut-off can
/// be forgotten a day (and the feed's leeway of an hour) after it was set.
const CUTOFF_KEPT_SECS: i64 = 86_400 + 3_600;

/// Ends session `id` on `db`: the session, the refresh-token families issued under it, and the
/// access tokens of its code grants that came without a refresh token. True if it was live.
pub(super) async fn end_session_in(
    db: &impl ConnectionTrait,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let ended = set_where_null(
        session::Column::Id,
        id,
        session::Column::EndedAt,
        Expr::value(now),
    )
    .exec(db)
    .await?
    .rows_affected;
    revoke_grants_in(
        db,
        family::Column::SessionId,
        code::Column::SessionId,
        id,
        now,
    )
    .await?;
    if ended > 0 {
        // OpenID Connect Back-Channel Logout 1.0: the clients that received tokens in it are told.
        super::backchannel::enqueue_logouts_in(db, id, now).await?;
    }
    Ok(ended > 0)
}

/// Cuts off, on `db`, the access tokens of subject `sub` issued before `now` (published in the
/// revocation feed's `revoked_subjects`), for as long as such a token can live.
pub(super) async fn cut_off_subject_in(
    db: &impl ConnectionTrait,
    sub: &str,
    now: i64,
) -> Result<(), StoreError> {
    revoked_subject::Entity::insert(revoked_subject::ActiveModel {
        sub: Set(sub.to_owned()),
        before: Set(now),
        expires_at: Set(now + CUTOFF_KEPT_SECS),
    })
    // Never moved back: two replicas with slightly different clocks may both write it.
    .on_conflict(
        OnConflict::column(revoked_subject::Column::Sub)
            .update_columns([
                revoked_subject::Column::Before,
                revoked_subject::Column::ExpiresAt,
            ])
            .action_and_where(Expr::cust("revoked_subjects.before < excluded.before"))
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Revokes, on `db`, the live refresh-token families whose `family_key` column is `key` (with the
/// access tokens they issued), and the unexpired access tokens of the code grants whose `code_key`
/// column is `key` (those that came without a refresh token), by `jti`.
pub(super) async fn revoke_grants_in(
    db: &impl ConnectionTrait,
    family_key: family::Column,
    code_key: code::Column,
    key: &str,
    now: i64,
) -> Result<(), StoreError> {
    let families = find_where_null(family_key, key, family::Column::RevokedAt)
        .all(db)
        .await?;
    for f in families {
        revoke_family_in(db, &f.id, now).await?;
    }
    let codes = code::Entity::find()
        .filter(code_key.eq(key))
        .filter(code::Column::AccessExp.gt(now))
        .all(db)
        .await?;
    for c in codes {
        if let (Some(jti), Some(exp)) = (c.access_jti, c.access_exp) {
            insert_revoked_jti_in(db, &jti, exp, None).await?;
        }
    }
    Ok(())
}

/// Ends every grant of user `user_id` on `db` (the caller's transaction, which has already written
/// the user's row): the subject's cut-off goes to the revocation feed (verifiers refuse its tokens
/// issued before `now` even before the `jti`s reach them), every live session ends with its grants,
/// every refresh-token family of the user is revoked (an `offline_access` grant outlives its
/// session), and the access tokens of its code grants are revoked by `jti`.
pub(super) async fn end_user_grants_in(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    cut_off_subject_in(db, user_id, now).await?;
    let live = find_where_null(session::Column::UserId, user_id, session::Column::EndedAt)
        .all(db)
        .await?;
    for s in live {
        end_session_in(db, &s.id, now).await?;
    }
    revoke_grants_in(
        db,
        family::Column::UserId,
        code::Column::UserId,
        user_id,
        now,
    )
    .await?;
    Ok(())
}

impl Store {
    /// The sessions of user `user_id` that have neither ended nor passed their absolute end at
    /// `now`, newest first (the caller applies the idle timeout).
    pub async fn unended_sessions_of(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.all_as(
            find_where_null(session::Column::UserId, user_id, session::Column::EndedAt)
                .filter(session::Column::ExpiresAt.gt(now))
                .order_by_desc(session::Column::CreatedAt)
                .order_by_desc(session::Column::Id),
        )
        .await
    }

    /// Ends the sessions of user `user_id` that have not ended (only session `only` when given),
    /// each with its grants, and stores `audit(how many)`, in one transaction. The user's row is
    /// written first (its lock). `None`, and nothing written, if there is no such user, or `only`
    /// is not one of its sessions that has not ended.
    pub async fn end_user_sessions(
        &self,
        user_id: &str,
        only: Option<&str>,
        now: i64,
        audit: impl FnOnce(u64) -> AuditRecord,
    ) -> Result<Option<u64>, StoreError> {
        let out = async {
            let txn = self.conn().begin().await?;
            let locked = user::Entity::update_many()
                .col_expr(
                    user::Column::SecurityStamp,
                    Expr::col(user::Column::SecurityStamp),
                )
                .filter(user::Column::Id.eq(user_id))
                .exec(&txn)
                .await?
                .rows_affected;
            if locked != 1 {
                txn.rollback().await?;
                return Ok(None);
            }
            let mut sessions =
                find_where_null(session::Column::UserId, user_id, session::Column::EndedAt);
            if let Some(id) = only {
                sessions = sessions.filter(session::Column::Id.eq(id));
            }
            let mut ended = 0;
            for s in sessions.all(&txn).await? {
                if end_session_in(&txn, &s.id, now).await? {
                    ended += 1;
                }
            }
            if only.is_some() && ended == 0 {
                txn.rollback().await?;
                return Ok(None);
            }
            insert_audit_in(&txn, &audit(ended)).await?;
            txn.commit().await?;
            Ok(Some(ended))
        }
        .await;
        self.revocations_changed();
        out
    }
}
