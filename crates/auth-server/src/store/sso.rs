//! Repositories of the single sign-on state: sessions, authorization codes, refresh-token families,
//! revoked access tokens, consents and login throttling. Every multi-row change is one transaction.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::entities::{
    authorization_code as code, consent, login_failure, refresh_token, revoked_access_token,
    sso_session as session, token_family as family,
};
use super::{Store, StoreError};

/// `access_jti` of a code presented again before its first redemption recorded its tokens (never a
/// real `jti`, which is base64url).
const REUSED_MARK: &str = "!reused";

impl Store {
    /// Inserts a new session.
    pub async fn insert_session(&self, row: session::Model) -> Result<(), StoreError> {
        session::Entity::insert(session::ActiveModel::from(row))
            .exec_without_returning(self.conn())
            .await?;
        Ok(())
    }

    /// The session whose cookie secret hashes to `digest`.
    pub async fn find_session_by_secret(
        &self,
        digest: &[u8],
    ) -> Result<Option<session::Model>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::SecretSha256.eq(digest.to_vec()))
            .one(self.conn())
            .await?)
    }

    /// One session by id.
    pub async fn find_session(&self, id: &str) -> Result<Option<session::Model>, StoreError> {
        Ok(session::Entity::find_by_id(id.to_owned())
            .one(self.conn())
            .await?)
    }

    /// Records a use of the session (for the idle timeout).
    pub async fn touch_session(&self, id: &str, now: i64) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Ends a session and revokes every refresh-token family issued under it, in one transaction.
    /// Returns whether a live session was ended.
    pub async fn end_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let ended = self.end_session_txn(id, now).await;
        self.revocations_changed();
        ended
    }

    async fn end_session_txn(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let ended = session::Entity::update_many()
            .col_expr(session::Column::EndedAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::EndedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        let families = family::Entity::find()
            .filter(family::Column::SessionId.eq(id))
            .filter(family::Column::RevokedAt.is_null())
            .all(&txn)
            .await?;
        for f in families {
            revoke_family_in(&txn, &f.id, now).await?;
        }
        // Access tokens of the session's code grants that came without a refresh token.
        let codes = code::Entity::find()
            .filter(code::Column::SessionId.eq(id))
            .filter(code::Column::AccessExp.gt(now))
            .all(&txn)
            .await?;
        for c in codes {
            if let (Some(jti), Some(exp)) = (c.access_jti, c.access_exp) {
                insert_revoked_jti_in(&txn, &jti, exp).await?;
            }
        }
        txn.commit().await?;
        Ok(ended > 0)
    }

    /// Ends every live session of a user (and their refresh tokens): for a user being disabled.
    pub async fn end_user_sessions(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let live = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::EndedAt.is_null())
            .all(self.conn())
            .await?;
        for s in live {
            self.end_session(&s.id, now).await?;
        }
        Ok(())
    }

    /// Records the access token issued together with refresh token `digest`.
    pub async fn record_refresh_access(
        &self,
        digest: &[u8],
        access_jti: &str,
        access_exp: i64,
    ) -> Result<(), StoreError> {
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::AccessJti, Expr::value(access_jti))
            .col_expr(refresh_token::Column::AccessExp, Expr::value(access_exp))
            .filter(refresh_token::Column::TokenSha256.eq(digest.to_vec()))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Inserts an authorization code.
    pub async fn insert_code(&self, row: code::Model) -> Result<(), StoreError> {
        code::Entity::insert(code::ActiveModel::from(row))
            .exec_without_returning(self.conn())
            .await?;
        Ok(())
    }

    /// Codes issued under a session since `since`.
    pub async fn count_codes_since(&self, session_id: &str, since: i64) -> Result<u64, StoreError> {
        Ok(code::Entity::find()
            .filter(code::Column::SessionId.eq(session_id))
            .filter(code::Column::CreatedAt.gt(since))
            .count(self.conn())
            .await?)
    }

    /// One code by digest.
    pub async fn find_code(&self, digest: &[u8]) -> Result<Option<code::Model>, StoreError> {
        Ok(code::Entity::find_by_id(digest.to_vec())
            .one(self.conn())
            .await?)
    }

    /// Marks the code used if it was not: true if this call redeemed it. Atomic, so of two
    /// concurrent redemptions exactly one wins.
    pub async fn consume_code(&self, digest: &[u8], now: i64) -> Result<bool, StoreError> {
        let n = code::Entity::update_many()
            .col_expr(code::Column::UsedAt, Expr::value(now))
            .filter(code::Column::CodeSha256.eq(digest.to_vec()))
            .filter(code::Column::UsedAt.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Records what a redemption issued, so that a second redemption can revoke it. False (and
    /// nothing written) if a second redemption came first and marked the code with
    /// [`Store::mark_code_reused`]: the caller must then revoke what it issued itself. Together, the
    /// two make "a reused code leaves no live tokens" hold whichever of two concurrent redemptions
    /// finishes first.
    pub async fn record_code_tokens(
        &self,
        digest: &[u8],
        family_id: Option<String>,
        access_jti: &str,
        access_exp: i64,
    ) -> Result<bool, StoreError> {
        let n = code::Entity::update_many()
            .col_expr(code::Column::FamilyId, Expr::value(family_id))
            .col_expr(code::Column::AccessJti, Expr::value(access_jti))
            .col_expr(code::Column::AccessExp, Expr::value(access_exp))
            .filter(code::Column::CodeSha256.eq(digest.to_vec()))
            .filter(code::Column::AccessJti.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// A second redemption of a used code whose first redemption has not recorded its tokens (yet,
    /// or ever: it may have failed): marks the code so that the recording fails and the first
    /// redemption revokes what it issued. True if marked; false if the tokens were recorded already
    /// (re-read the code and revoke them with [`Store::revoke_code_tokens`]).
    pub async fn mark_code_reused(&self, digest: &[u8]) -> Result<bool, StoreError> {
        let n = code::Entity::update_many()
            .col_expr(code::Column::AccessJti, Expr::value(REUSED_MARK))
            .filter(code::Column::CodeSha256.eq(digest.to_vec()))
            .filter(code::Column::AccessJti.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Revokes what a code's first redemption issued: its refresh-token family and its access token.
    pub async fn revoke_code_tokens(&self, row: &code::Model, now: i64) -> Result<(), StoreError> {
        let done = self.revoke_code_tokens_txn(row, now).await;
        self.revocations_changed();
        done
    }

    async fn revoke_code_tokens_txn(&self, row: &code::Model, now: i64) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        if let Some(f) = &row.family_id {
            revoke_family_in(&txn, f, now).await?;
        }
        if let (Some(jti), Some(exp)) = (&row.access_jti, row.access_exp)
            && jti != REUSED_MARK
        {
            insert_revoked_jti_in(&txn, jti, exp).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Inserts a new family and its first refresh token.
    pub async fn insert_family(
        &self,
        fam: family::Model,
        first: refresh_token::Model,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        family::Entity::insert(family::ActiveModel::from(fam))
            .exec_without_returning(&txn)
            .await?;
        refresh_token::Entity::insert(refresh_token::ActiveModel::from(first))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// A refresh token by digest, with its family.
    pub async fn find_refresh(
        &self,
        digest: &[u8],
    ) -> Result<Option<(refresh_token::Model, family::Model)>, StoreError> {
        let Some(token) = refresh_token::Entity::find_by_id(digest.to_vec())
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let fam = family::Entity::find_by_id(token.family_id.clone())
            .one(self.conn())
            .await?;
        Ok(fam.map(|f| (token, f)))
    }

    /// Rotates: marks `old` used and inserts `next`, atomically. False (and nothing written) if `old`
    /// was already used, so of two concurrent rotations exactly one wins.
    pub async fn rotate_refresh(
        &self,
        old: &[u8],
        next: refresh_token::Model,
        now: i64,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let n = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenSha256.eq(old.to_vec()))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        refresh_token::Entity::insert(refresh_token::ActiveModel::from(next))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// A retry within the grace window: every unused token of the family is retired and `next`
    /// becomes the family's only live token.
    pub async fn reissue_refresh(
        &self,
        family_id: &str,
        next: refresh_token::Model,
        now: i64,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        refresh_token::Entity::insert(refresh_token::ActiveModel::from(next))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Revokes a family; true if it was live.
    pub async fn revoke_family(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let revoked = revoke_family_in(self.conn(), id, now).await;
        self.revocations_changed();
        revoked
    }

    /// Records a revoked access token until its expiry.
    pub async fn revoke_access_token(&self, jti: &str, exp: i64) -> Result<(), StoreError> {
        let done = insert_revoked_jti_in(self.conn(), jti, exp).await;
        self.revocations_changed();
        done
    }

    /// The access tokens revoked before their expiry whose `exp` is after `since` (`jti`, `exp`), in
    /// `jti` order, at most `limit` of them: the revocation feed.
    pub async fn live_revoked_access_tokens(
        &self,
        since: i64,
        limit: u64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_access_token::Entity::find()
            .filter(revoked_access_token::Column::ExpiresAt.gt(since))
            .order_by_asc(revoked_access_token::Column::Jti)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.jti, r.expires_at))
            .collect())
    }

    /// Whether an access token was revoked.
    pub async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(revoked_access_token::Entity::find_by_id(jti.to_owned())
            .one(self.conn())
            .await?
            .is_some())
    }

    /// The scopes `user` has allowed `client`, if any.
    pub async fn find_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<consent::Model>, StoreError> {
        Ok(
            consent::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
                .one(self.conn())
                .await?,
        )
    }

    /// Stores (or replaces) a consent.
    pub async fn save_consent(&self, row: consent::Model) -> Result<(), StoreError> {
        consent::Entity::insert(consent::ActiveModel::from(row))
            .on_conflict(
                OnConflict::columns([consent::Column::UserId, consent::Column::ClientId])
                    .update_columns([consent::Column::Scope, consent::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(self.conn())
            .await?;
        Ok(())
    }

    /// The throttling record of `key`.
    pub async fn find_login_failures(
        &self,
        key: &str,
    ) -> Result<Option<login_failure::Model>, StoreError> {
        Ok(login_failure::Entity::find_by_id(key.to_owned())
            .one(self.conn())
            .await?)
    }

    /// Counts one failure for `key` in a window of `window` seconds (a new window starts when the old
    /// one has passed) and locks the key until `now + lockout` once `limit` failures are reached.
    /// The increment is one atomic statement, so concurrent failures are all counted. Returns the
    /// failures in the window.
    pub async fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        window: i64,
        limit: i32,
        lockout: i64,
    ) -> Result<i32, StoreError> {
        let db = self.conn();
        login_failure::Entity::insert(login_failure::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(0),
            window_start: Set(now),
            locked_until: Set(0),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
        // A window that has passed, or a lockout that has ended, starts a new count (a lockout still
        // running is never cut short).
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .col_expr(login_failure::Column::LockedUntil, Expr::value(0))
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::LockedUntil.lte(now))
            .filter(
                login_failure::Column::WindowStart
                    .lte(now - window)
                    .or(login_failure::Column::LockedUntil.gt(0)),
            )
            .exec(db)
            .await?;
        // One atomic increment: concurrent attempts are all counted.
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                Expr::col(login_failure::Column::Failures).add(1),
            )
            .filter(login_failure::Column::Key.eq(key))
            .exec(db)
            .await?;
        let failures = self
            .find_login_failures(key)
            .await?
            .map_or(1, |r| r.failures);
        if failures >= limit {
            login_failure::Entity::update_many()
                .col_expr(
                    login_failure::Column::LockedUntil,
                    Expr::value(now + lockout),
                )
                .filter(login_failure::Column::Key.eq(key))
                .filter(login_failure::Column::LockedUntil.lte(now))
                .exec(db)
                .await?;
        }
        Ok(failures)
    }

    /// Gives back one counted attempt of `key` (never below zero).
    pub async fn refund_login_attempt(&self, key: &str) -> Result<(), StoreError> {
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                Expr::col(login_failure::Column::Failures).sub(1),
            )
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::Failures.gt(0))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        login_failure::Entity::delete_by_id(key.to_owned())
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes state that can no longer matter at `now`: expired sessions, codes, families and their
    /// tokens, revoked-token records past their expiry, and old throttling windows.
    pub async fn purge_expired(&self, now: i64) -> Result<(), StoreError> {
        let db = self.conn();
        // Codes stay a day past expiry, so a late second redemption still revokes what the first issued.
        code::Entity::delete_many()
            .filter(code::Column::ExpiresAt.lt(now - 86_400))
            .exec(db)
            .await?;
        session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?;
        refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?;
        family::Entity::delete_many()
            .filter(family::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?;
        // Kept a little past `exp`: the revocation feed lists them while verifiers' clock leeway
        // may still accept the token.
        revoked_access_token::Entity::delete_many()
            .filter(revoked_access_token::Column::ExpiresAt.lt(now - 3600))
            .exec(db)
            .await?;
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::WindowStart.lt(now - 86_400))
            .filter(login_failure::Column::LockedUntil.lt(now))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// Revokes a family: its refresh tokens stop working, and the access tokens issued with them that
/// have not expired are put on the revocation list (introspection and userinfo refuse them).
async fn revoke_family_in(
    db: &impl ConnectionTrait,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let issued = refresh_token::Entity::find()
        .filter(refresh_token::Column::FamilyId.eq(id))
        .filter(refresh_token::Column::AccessExp.gt(now))
        .all(db)
        .await?;
    for t in issued {
        if let (Some(jti), Some(exp)) = (t.access_jti, t.access_exp) {
            insert_revoked_jti_in(db, &jti, exp).await?;
        }
    }
    let n = family::Entity::update_many()
        .col_expr(family::Column::RevokedAt, Expr::value(now))
        .filter(family::Column::Id.eq(id))
        .filter(family::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok(n > 0)
}

async fn insert_revoked_jti_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
) -> Result<(), StoreError> {
    revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
        jti: Set(jti.to_owned()),
        expires_at: Set(exp),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}
