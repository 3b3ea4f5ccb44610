//! Repositories of the single sign-on state: sessions, authorization codes, refresh-token families,
//! revoked access tokens, consents and login throttling. Every multi-row change is one transaction.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::entities::{
    authorization_code as code, consent, login_failure, pending_consent, refresh_token,
    revoked_access_token, revoked_subject, sso_session as session, token_family as family,
};
use super::{Store, StoreError};

/// `access_jti` of a code presented again before its first redemption recorded its tokens (never a
/// real `jti`, which is base64url).
const REUSED_MARK: &str = "!reused";

/// What [`Store::advance_family`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The presented token was live; it is retired and the new one is the family's only live token.
    Rotated,
    /// A retry within the grace window; every earlier token is retired and the new one is the
    /// family's only live token.
    Reissued,
    /// A retired token presented after the grace window: the family is revoked.
    Reused,
    /// The family was revoked or has expired; nothing was written.
    Revoked,
}

/// What [`Store::commit_code_grant`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCommit {
    /// Recorded: sign the tokens.
    Committed,
    /// The code's session has ended; nothing was written.
    SessionEnded,
    /// Another redemption of the code came first; nothing was written.
    Reused,
}

impl Store {
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

    /// The ids of a user's live sessions other than `except`, after the `keep` newest (for the
    /// per-user cap).
    pub async fn live_sessions_beyond(
        &self,
        user_id: &str,
        except: &str,
        now: i64,
        keep: u64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::Id.ne(except))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .skip(usize::try_from(keep).unwrap_or(usize::MAX))
            .map(|s| s.id)
            .collect())
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
                insert_revoked_jti_in(&txn, &jti, exp, None).await?;
            }
        }
        txn.commit().await?;
        Ok(ended > 0)
    }

    /// Ends every grant of a user: their live sessions, every refresh-token family they hold
    /// (whether or not its session still exists: an `offline_access` grant outlives its session),
    /// and the access tokens of their code grants; every live access token among them goes to the
    /// revocation feed. For a new password and a disabled user.
    ///
    /// Races are closed by what each step locks: a session can only be started under the user's
    /// security stamp ([`Store::start_session`]), which the caller has already moved; a family is
    /// only created under a live session ([`Store::commit_code_grant`]) and only advanced under its
    /// own live row ([`Store::advance_family`]), and every revocation here writes those rows before
    /// it reads what they issued.
    pub async fn end_user_grants(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let done = self.end_user_grants_inner(user_id, now).await;
        self.revocations_changed();
        done
    }

    async fn end_user_grants_inner(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        // The subject's cut-off first: verifiers refuse its tokens issued before now even before
        // the `jti`s below reach them. No access token lives longer than a day, whatever the
        // configuration, so the cut-off can go a day (and the feed's leeway) later.
        revoked_subject::Entity::insert(revoked_subject::ActiveModel {
            sub: Set(user_id.to_owned()),
            before: Set(now),
            expires_at: Set(now + 86_400 + 3_600),
        })
        .on_conflict(
            OnConflict::column(revoked_subject::Column::Sub)
                .update_columns([
                    revoked_subject::Column::Before,
                    revoked_subject::Column::ExpiresAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(self.conn())
        .await?;
        let live = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::EndedAt.is_null())
            .all(self.conn())
            .await?;
        for s in live {
            self.end_session_txn(&s.id, now).await?;
        }
        let families = family::Entity::find()
            .filter(family::Column::UserId.eq(user_id))
            .filter(family::Column::RevokedAt.is_null())
            .all(self.conn())
            .await?;
        for f in families {
            let txn = self.conn().begin().await?;
            revoke_family_in(&txn, &f.id, now).await?;
            txn.commit().await?;
        }
        let codes = code::Entity::find()
            .filter(code::Column::UserId.eq(user_id))
            .filter(code::Column::AccessExp.gt(now))
            .all(self.conn())
            .await?;
        for c in codes {
            if let (Some(jti), Some(exp)) = (c.access_jti, c.access_exp) {
                insert_revoked_jti_in(self.conn(), &jti, exp, None).await?;
            }
        }
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

    /// Commits a code redemption before anything is signed, in one transaction: the session row is
    /// locked and must not have ended; the new refresh-token family (if any) is inserted with its
    /// first token; and the code records what it issued (the family and the reserved access token),
    /// unless a second redemption has marked it reused ([`Store::mark_code_reused`]).
    ///
    /// So a logout, a new password or a disabled user either commits first (and this refuses) or
    /// finds what this recorded and revokes it; and a replay either marks the code first (and this
    /// refuses, with nothing issued) or finds what this recorded and revokes it.
    pub async fn commit_code_grant(
        &self,
        digest: &[u8],
        session_id: &str,
        new_family: Option<(family::Model, refresh_token::Model)>,
        access_jti: &str,
        access_exp: i64,
    ) -> Result<CodeCommit, StoreError> {
        let txn = self.conn().begin().await?;
        let locked = session::Entity::update_many()
            .col_expr(
                session::Column::EndedAt,
                Expr::col(session::Column::EndedAt),
            )
            .filter(session::Column::Id.eq(session_id))
            .filter(session::Column::EndedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if locked != 1 {
            txn.rollback().await?;
            return Ok(CodeCommit::SessionEnded);
        }
        let family_id = new_family.as_ref().map(|(f, _)| f.id.clone());
        if let Some((fam, first)) = new_family {
            family::Entity::insert(family::ActiveModel::from(fam))
                .exec_without_returning(&txn)
                .await?;
            refresh_token::Entity::insert(refresh_token::ActiveModel::from(first))
                .exec_without_returning(&txn)
                .await?;
        }
        let recorded = code::Entity::update_many()
            .col_expr(code::Column::FamilyId, Expr::value(family_id))
            .col_expr(code::Column::AccessJti, Expr::value(access_jti))
            .col_expr(code::Column::AccessExp, Expr::value(access_exp))
            .filter(code::Column::CodeSha256.eq(digest.to_vec()))
            .filter(code::Column::AccessJti.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if recorded != 1 {
            txn.rollback().await?;
            return Ok(CodeCommit::Reused);
        }
        txn.commit().await?;
        Ok(CodeCommit::Committed)
    }

    /// A second redemption of a used code whose first redemption has not committed (yet, or ever:
    /// it may have failed): marks the code so that [`Store::commit_code_grant`] refuses and nothing
    /// is issued. True if marked; false if the tokens were recorded already
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
            insert_revoked_jti_in(&txn, jti, exp, None).await?;
        }
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

    /// One step of a refresh-token family (RFC 9700 §4.14.2), decided and written in one
    /// transaction under the family's row lock, so that concurrent refreshes, on any replica, are
    /// serialised and the family never has more than one live token:
    ///
    /// - the family must be live (not revoked, not expired), else [`Advance::Revoked`];
    /// - `presented` unused: it is retired and `next` inserted ([`Advance::Rotated`]);
    /// - `presented` retired at most `grace` seconds ago (a retry after a lost response): every
    ///   unused token of the family is retired and `next` inserted ([`Advance::Reissued`]);
    /// - retired longer ago: the family is revoked with the access tokens it issued
    ///   ([`Advance::Reused`]).
    ///
    /// `next` carries the `jti` and `exp` of the access token to be signed with it, so a revocation
    /// that comes after this commits lists that token.
    pub async fn advance_family(
        &self,
        family_id: &str,
        presented: &[u8],
        next: refresh_token::Model,
        now: i64,
        grace: i64,
    ) -> Result<Advance, StoreError> {
        let out = self
            .advance_family_txn(family_id, presented, next, now, grace)
            .await;
        if matches!(out, Ok(Advance::Reused)) {
            self.revocations_changed();
        }
        out
    }

    async fn advance_family_txn(
        &self,
        family_id: &str,
        presented: &[u8],
        next: refresh_token::Model,
        now: i64,
        grace: i64,
    ) -> Result<Advance, StoreError> {
        let txn = self.conn().begin().await?;
        // The lock: a write first, so PostgreSQL holds the family's row lock and SQLite its write
        // lock (a write before any read cannot fail with SQLITE_BUSY_SNAPSHOT) until commit.
        let live = family::Entity::update_many()
            .col_expr(
                family::Column::RevokedAt,
                Expr::col(family::Column::RevokedAt),
            )
            .filter(family::Column::Id.eq(family_id))
            .filter(family::Column::RevokedAt.is_null())
            .filter(family::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?
            .rows_affected;
        if live != 1 {
            txn.rollback().await?;
            return Ok(Advance::Revoked);
        }
        let rotated = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenSha256.eq(presented.to_vec()))
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        let step = if rotated == 1 {
            Advance::Rotated
        } else {
            let used_at = refresh_token::Entity::find_by_id(presented.to_vec())
                .one(&txn)
                .await?
                .and_then(|r| r.used_at)
                .unwrap_or(i64::MIN);
            if now.saturating_sub(used_at) > grace {
                revoke_family_in(&txn, family_id, now).await?;
                txn.commit().await?;
                return Ok(Advance::Reused);
            }
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
                .filter(refresh_token::Column::FamilyId.eq(family_id))
                .filter(refresh_token::Column::UsedAt.is_null())
                .exec(&txn)
                .await?;
            Advance::Reissued
        };
        refresh_token::Entity::insert(refresh_token::ActiveModel::from(next))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(step)
    }

    /// Revokes a family; true if it was live.
    pub async fn revoke_family(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let revoked = async {
            let txn = self.conn().begin().await?;
            let revoked = revoke_family_in(&txn, id, now).await?;
            txn.commit().await?;
            Ok(revoked)
        }
        .await;
        self.revocations_changed();
        revoked
    }

    /// Records a revoked access token until its expiry. `own_token_of` names the client for a
    /// client's own (client-credentials) token, `None` for a user's token.
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        exp: i64,
        own_token_of: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = insert_revoked_jti_in(self.conn(), jti, exp, own_token_of).await;
        self.revocations_changed();
        done
    }

    /// Users' access tokens revoked before their expiry whose `exp` is after `since` (`jti`,
    /// `exp`), in `jti` order, at most `limit` of them: the revocation feed's main part.
    pub async fn live_revoked_user_tokens(
        &self,
        since: i64,
        limit: u64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_access_token::Entity::find()
            .filter(revoked_access_token::Column::ExpiresAt.gt(since))
            .filter(revoked_access_token::Column::ClientId.is_null())
            .order_by_asc(revoked_access_token::Column::Jti)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.jti, r.expires_at))
            .collect())
    }

    /// Clients' own tokens revoked before their expiry whose `exp` is after `since`: of each
    /// client, the `share` that expire last (`jti`, `exp`). Also whether any client had more.
    pub async fn live_revoked_client_tokens(
        &self,
        since: i64,
        share: u64,
    ) -> Result<(Vec<(String, i64)>, bool), StoreError> {
        let live = || {
            revoked_access_token::Entity::find()
                .filter(revoked_access_token::Column::ExpiresAt.gt(since))
                .filter(revoked_access_token::Column::ClientId.is_not_null())
        };
        let counts: Vec<(Option<String>, i64)> = live()
            .select_only()
            .column(revoked_access_token::Column::ClientId)
            .column_as(revoked_access_token::Column::Jti.count(), "n")
            .group_by(revoked_access_token::Column::ClientId)
            .into_tuple()
            .all(self.conn())
            .await?;
        let over: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| u64::try_from(*n).unwrap_or(0) > share)
            .filter_map(|(c, _)| c)
            .collect();
        let mut rows = live()
            .filter(revoked_access_token::Column::ClientId.is_not_in(over.clone()))
            .all(self.conn())
            .await?;
        for client in &over {
            rows.extend(
                live()
                    .filter(revoked_access_token::Column::ClientId.eq(client.as_str()))
                    .order_by_desc(revoked_access_token::Column::ExpiresAt)
                    .limit(share)
                    .all(self.conn())
                    .await?,
            );
        }
        let mut out: Vec<(String, i64)> = rows.into_iter().map(|r| (r.jti, r.expires_at)).collect();
        out.sort();
        Ok((out, !over.is_empty()))
    }

    /// The per-subject cut-offs still in force after `since` (`sub`, `before`), in `sub` order.
    pub async fn live_revoked_subjects(
        &self,
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_subject::Entity::find()
            .filter(revoked_subject::Column::ExpiresAt.gt(since))
            .order_by_asc(revoked_subject::Column::Sub)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.sub, r.before))
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

    /// Records a consent page shown.
    pub async fn insert_pending_consent(
        &self,
        row: pending_consent::Model,
    ) -> Result<(), StoreError> {
        pending_consent::Entity::insert(pending_consent::ActiveModel::from(row))
            .exec_without_returning(self.conn())
            .await?;
        Ok(())
    }

    /// Answers a consent page: true if the ticket with digest `ticket` was shown to `session_id` for
    /// `client_id` and exactly this request (`request`), has not expired, and was not answered
    /// before. One conditional update, so of two answers at once exactly one counts.
    pub async fn take_pending_consent(
        &self,
        ticket: &[u8],
        session_id: &str,
        client_id: &str,
        request: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = pending_consent::Entity::update_many()
            .col_expr(pending_consent::Column::UsedAt, Expr::value(now))
            .filter(pending_consent::Column::TicketSha256.eq(ticket.to_vec()))
            .filter(pending_consent::Column::SessionId.eq(session_id))
            .filter(pending_consent::Column::ClientId.eq(client_id))
            .filter(pending_consent::Column::RequestSha256.eq(request.to_vec()))
            .filter(pending_consent::Column::ExpiresAt.gt(now))
            .filter(pending_consent::Column::UsedAt.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
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
        pending_consent::Entity::delete_many()
            .filter(pending_consent::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?;
        revoked_subject::Entity::delete_many()
            .filter(revoked_subject::Column::ExpiresAt.lt(now))
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
///
/// The family row is written first: that takes its lock (see [`Store::advance_family`]), so a
/// refresh that committed before is seen by the read that follows, and one that comes after finds
/// the family revoked.
async fn revoke_family_in(
    db: &impl ConnectionTrait,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = family::Entity::update_many()
        .col_expr(family::Column::RevokedAt, Expr::value(now))
        .filter(family::Column::Id.eq(id))
        .filter(family::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    let issued = refresh_token::Entity::find()
        .filter(refresh_token::Column::FamilyId.eq(id))
        .filter(refresh_token::Column::AccessExp.gt(now))
        .all(db)
        .await?;
    for t in issued {
        if let (Some(jti), Some(exp)) = (t.access_jti, t.access_exp) {
            insert_revoked_jti_in(db, &jti, exp, None).await?;
        }
    }
    Ok(n > 0)
}

async fn insert_revoked_jti_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
    own_token_of: Option<&str>,
) -> Result<(), StoreError> {
    revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
        jti: Set(jti.to_owned()),
        expires_at: Set(exp),
        client_id: Set(own_token_of.map(str::to_owned)),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}
