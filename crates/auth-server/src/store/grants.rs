//! Repositories of the user grants: authorization codes and refresh-token families. Each change of
//! a code or a family is one transaction that first writes the row it depends on (the code, the
//! session, the family), so concurrent requests on any replica are serialised by the database; see
//! the README's "Invariants under concurrency".

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::{
    authorization_code as code, refresh_token, sso_session as session, token_family as family,
};
use super::revocations::insert_revoked_jti_in;
use super::{Store, StoreError, lock_where_null, set_where_null};
use crate::model::audit::AuditRecord;
use crate::model::records::{CodeRecord, FamilyRecord, RefreshRecord};

/// `access_jti` of a code presented again before its first redemption recorded its tokens (never a
/// real `jti`, which is base64url).
pub(super) const REUSED_MARK: &str = "!reused";

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
    /// Inserts an authorization code.
    pub async fn insert_code(&self, row: CodeRecord) -> Result<(), StoreError> {
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
    pub async fn find_code(&self, digest: &[u8]) -> Result<Option<CodeRecord>, StoreError> {
        self.one_as(code::Entity::find_by_id(digest.to_vec())).await
    }

    /// Marks the code used if it was not: true if this call redeemed it. Atomic, so of two
    /// concurrent redemptions exactly one wins.
    pub async fn consume_code(&self, digest: &[u8], now: i64) -> Result<bool, StoreError> {
        let n = set_where_null(
            code::Column::CodeSha256,
            digest.to_vec(),
            code::Column::UsedAt,
            Expr::value(now),
        )
        .exec(self.conn())
        .await?
        .rows_affected;
        Ok(n == 1)
    }

    /// Commits a code redemption before anything is signed, in one transaction: the session row is
    /// locked and must not have ended; the new refresh-token family (if any) is inserted with its
    /// first token; and the code records what it issued (the family and the reserved access token),
    /// unless a second redemption has marked it reused ([`Store::replay_code`]).
    ///
    /// So a logout, a new password or a disabled user either commits first (and this refuses) or
    /// finds what this recorded and revokes it; and a replay either marks the code first (and this
    /// refuses, with nothing issued) or finds what this recorded and revokes it.
    pub async fn commit_code_grant(
        &self,
        digest: &[u8],
        session_id: &str,
        new_family: Option<(FamilyRecord, RefreshRecord)>,
        access_jti: &str,
        access_exp: i64,
    ) -> Result<CodeCommit, StoreError> {
        let txn = self.conn().begin().await?;
        let locked = lock_where_null(session::Column::Id, session_id, session::Column::EndedAt)
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
        super::backchannel::bind_session_client_in(&txn, digest).await?;
        txn.commit().await?;
        Ok(CodeCommit::Committed)
    }

    /// A replay of a used code (RFC 6749 §4.1.2: "the authorization server MUST deny the request
    /// and SHOULD revoke (when possible) all tokens previously issued based on that authorization
    /// code"), handled in one transaction with its audit `event`:
    ///
    /// - if the first redemption has not recorded its tokens (yet, or ever: it may have failed),
    ///   the code is marked, so that [`Store::commit_code_grant`] refuses and nothing is issued;
    /// - else what it recorded (its refresh-token family and access token) is revoked.
    ///
    /// The mark is a write first, so it takes the code's row lock (PostgreSQL) or the write lock
    /// (SQLite) before the read that follows it. Returns whether tokens were revoked (false: none
    /// had been issued), which is also written into `event`'s detail (`tokens_revoked`). Every
    /// replay records its event, so the trail has one per replay refused.
    pub async fn replay_code(
        &self,
        digest: &[u8],
        now: i64,
        event: &mut AuditRecord,
    ) -> Result<bool, StoreError> {
        let done = self.replay_code_txn(digest, now, event).await;
        if matches!(done, Ok(true)) {
            self.revocations_changed();
        }
        done
    }

    async fn replay_code_txn(
        &self,
        digest: &[u8],
        now: i64,
        event: &mut AuditRecord,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let marked = set_where_null(
            code::Column::CodeSha256,
            digest.to_vec(),
            code::Column::AccessJti,
            Expr::value(REUSED_MARK),
        )
        .exec(&txn)
        .await?
        .rows_affected
            == 1;
        let mut revoked = false;
        if !marked && let Some(row) = code::Entity::find_by_id(digest.to_vec()).one(&txn).await? {
            if let Some(f) = &row.family_id {
                revoke_family_in(&txn, f, now).await?;
                revoked = true;
            }
            if let (Some(jti), Some(exp)) = (&row.access_jti, row.access_exp)
                && jti != REUSED_MARK
            {
                insert_revoked_jti_in(&txn, jti, exp, None).await?;
                revoked = true;
            }
        }
        event.detail = Some(serde_json::json!({ "tokens_revoked": revoked }).to_string());
        insert_audit_in(&txn, event).await?;
        txn.commit().await?;
        Ok(revoked)
    }

    /// A refresh token by digest, with its family.
    pub async fn find_refresh(
        &self,
        digest: &[u8],
    ) -> Result<Option<(RefreshRecord, FamilyRecord)>, StoreError> {
        let Some(token) = refresh_token::Entity::find_by_id(digest.to_vec())
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let fam = family::Entity::find_by_id(token.family_id.clone())
            .one(self.conn())
            .await?;
        Ok(fam.map(|f| (token.into(), f.into())))
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
    /// that comes after this commits lists that token. `reuse` is the audit event stored with a
    /// revocation for reuse, in its transaction (nothing is recorded for a rotation: the token path
    /// writes no audit rows).
    pub async fn advance_family(
        &self,
        family_id: &str,
        presented: &[u8],
        next: RefreshRecord,
        (now, grace): (i64, i64),
        reuse: &AuditRecord,
    ) -> Result<Advance, StoreError> {
        let out = self
            .advance_family_txn(family_id, presented, next, (now, grace), reuse)
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
        next: RefreshRecord,
        (now, grace): (i64, i64),
        reuse: &AuditRecord,
    ) -> Result<Advance, StoreError> {
        let txn = self.conn().begin().await?;
        // The lock: a write first, so PostgreSQL holds the family's row lock and SQLite its write
        // lock (a write before any read cannot fail with SQLITE_BUSY_SNAPSHOT) until commit.
        let live = lock_where_null(family::Column::Id, family_id, family::Column::RevokedAt)
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
                insert_audit_in(&txn, reuse).await?;
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
}

/// Revokes a family: its refresh tokens stop working, and the access tokens issued with them that
/// have not expired are put on the revocation list (introspection and userinfo refuse them).
///
/// The family row is written first: that takes its lock (see [`Store::advance_family`]), so a
/// refresh that committed before is seen by the read that follows, and one that comes after finds
/// the family revoked.
pub(super) async fn revoke_family_in(
    db: &impl ConnectionTrait,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = set_where_null(
        family::Column::Id,
        id,
        family::Column::RevokedAt,
        Expr::value(now),
    )
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
