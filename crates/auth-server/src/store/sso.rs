//! Repositories of the single sign-on session and what hangs on it: sessions (ending one ends its
//! grants), ending every grant of a user, consents and pending consent pages, and the purge of
//! expired state. Codes and refresh-token families are in `grants`, revocation records in
//! `revocations`. Every multi-row change is one transaction.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::{
    authorization_code as code, consent, login_failure, pending_consent, refresh_token,
    revoked_access_token, revoked_subject, sso_session as session, token_family as family,
};
use super::user_sessions::{end_session_in, end_user_grants_in};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::records::{ConsentRecord, PendingConsentRecord, SessionRecord};

impl Store {
    /// The session whose cookie secret hashes to `digest`.
    pub async fn find_session_by_secret(
        &self,
        digest: &[u8],
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.one_as(
            session::Entity::find().filter(session::Column::SecretSha256.eq(digest.to_vec())),
        )
        .await
    }

    /// One session by id.
    pub async fn find_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.one_as(session::Entity::find_by_id(id.to_owned()))
            .await
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
        self.end_session_recorded(id, now, None).await
    }

    /// [`Store::end_session`], storing `event` in its transaction if a live session was ended.
    pub async fn end_session_recorded(
        &self,
        id: &str,
        now: i64,
        event: Option<&AuditRecord>,
    ) -> Result<bool, StoreError> {
        let ended = self.end_session_txn(id, now, event).await;
        self.revocations_changed();
        ended
    }

    async fn end_session_txn(
        &self,
        id: &str,
        now: i64,
        event: Option<&AuditRecord>,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let ended = end_session_in(&txn, id, now).await?;
        if ended && let Some(e) = event {
            insert_audit_in(&txn, e).await?;
        }
        txn.commit().await?;
        Ok(ended)
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
        let txn = self.conn().begin().await?;
        end_user_grants_in(&txn, user_id, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The scopes `user` has allowed `client`, if any.
    pub async fn find_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.one_as(consent::Entity::find_by_id((
            user_id.to_owned(),
            client_id.to_owned(),
        )))
        .await
    }

    /// Stores (or replaces) a consent, with its audit `event`, in one transaction (the upsert is
    /// its first statement: a write, so SQLite takes the write lock at once).
    pub async fn save_consent(
        &self,
        row: ConsentRecord,
        event: &AuditRecord,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        consent::Entity::insert(consent::ActiveModel::from(row))
            .on_conflict(
                OnConflict::columns([consent::Column::UserId, consent::Column::ClientId])
                    .update_columns([consent::Column::Scope, consent::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        insert_audit_in(&txn, event).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records a consent page shown.
    pub async fn insert_pending_consent(
        &self,
        row: PendingConsentRecord,
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

    /// Deletes state that can no longer matter at `now`: expired sessions, codes, families and their
    /// tokens, revoked-token records past their expiry, and old throttling windows.
    pub async fn purge_expired(&self, now: i64) -> Result<(), StoreError> {
        let db = self.conn();
        // Codes stay a day past expiry, so a late second redemption still revokes what the first issued.
        delete_before(db, code::Column::ExpiresAt, now - 86_400).await?;
        delete_before(db, session::Column::ExpiresAt, now).await?;
        delete_before(db, refresh_token::Column::ExpiresAt, now).await?;
        delete_before(db, family::Column::ExpiresAt, now).await?;
        // Kept a little past `exp`: the revocation feed lists them while verifiers' clock leeway
        // may still accept the token.
        delete_before(db, revoked_access_token::Column::ExpiresAt, now - 3600).await?;
        delete_before(db, pending_consent::Column::ExpiresAt, now).await?;
        delete_before(db, revoked_subject::Column::ExpiresAt, now).await?;
        super::token_exchanges::purge_in(db, now).await?;
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::WindowStart.lt(now - 86_400))
            .filter(login_failure::Column::LockedUntil.lt(now))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// `DELETE FROM <its table> WHERE <column> < before`.
async fn delete_before<C>(
    db: &impl ConnectionTrait,
    column: C,
    before: i64,
) -> Result<(), StoreError>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait,
{
    <C::EntityName as EntityTrait>::delete_many()
        .filter(column.lt(before))
        .exec(db)
        .await?;
    Ok(())
}
