//! Pending sign-ins: the server-side half of the second-factor form, single-use, and the step-up
//! of a session that proved a second factor.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{mfa_pending as pending, sso_session as session};
use super::{Store, StoreError};

/// A sign-in waiting for its second factor.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingRecord {
    /// SHA-256 of the ticket.
    pub ticket_sha256: Vec<u8>,
    /// The user.
    pub user_id: String,
    /// The client of the request.
    pub client_id: String,
    /// SHA-256 of the request's parameters.
    pub request_sha256: Vec<u8>,
    /// SHA-256 of the browser's CSRF cookie.
    pub browser_sha256: Vec<u8>,
    /// The session to step up (none: a new sign-in).
    pub session_id: Option<String>,
    /// The user's security stamp when the password was checked.
    pub security_stamp: i64,
    /// Methods already proven (RFC 8176).
    pub amr: Vec<String>,
    /// Created.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

impl std::fmt::Debug for PendingRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRecord")
            .field("user_id", &self.user_id)
            .field("client_id", &self.client_id)
            .field("session_id", &self.session_id)
            .field("amr", &self.amr)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What identifies one pending sign-in: its ticket, the browser and the exact request.
#[derive(Debug, Clone, Copy)]
pub struct PendingKey<'a> {
    /// SHA-256 of the ticket.
    pub ticket_sha256: &'a [u8],
    /// SHA-256 of the browser's CSRF cookie.
    pub browser_sha256: &'a [u8],
    /// The client.
    pub client_id: &'a str,
    /// SHA-256 of the request's parameters.
    pub request_sha256: &'a [u8],
}

impl Store {
    /// Records a second-factor page shown.
    pub async fn insert_mfa_pending(&self, row: PendingRecord) -> Result<(), StoreError> {
        pending::Entity::insert(pending::ActiveModel {
            ticket_sha256: Set(row.ticket_sha256),
            user_id: Set(row.user_id),
            client_id: Set(row.client_id),
            request_sha256: Set(row.request_sha256),
            browser_sha256: Set(row.browser_sha256),
            session_id: Set(row.session_id),
            security_stamp: Set(row.security_stamp),
            amr: Set(row.amr.join(" ")),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
            used_at: Set(None),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }

    /// The open (unexpired, unused) pending sign-in that `key` names, if any.
    pub async fn find_mfa_pending(
        &self,
        key: PendingKey<'_>,
        now: i64,
    ) -> Result<Option<PendingRecord>, StoreError> {
        let row = pending::Entity::find_by_id(key.ticket_sha256.to_vec())
            .filter(pending::Column::BrowserSha256.eq(key.browser_sha256.to_vec()))
            .filter(pending::Column::ClientId.eq(key.client_id))
            .filter(pending::Column::RequestSha256.eq(key.request_sha256.to_vec()))
            .filter(pending::Column::ExpiresAt.gt(now))
            .filter(pending::Column::UsedAt.is_null())
            .one(self.conn())
            .await?;
        Ok(row.map(|m| PendingRecord {
            ticket_sha256: m.ticket_sha256,
            user_id: m.user_id,
            client_id: m.client_id,
            request_sha256: m.request_sha256,
            browser_sha256: m.browser_sha256,
            session_id: m.session_id,
            security_stamp: m.security_stamp,
            amr: m.amr.split_whitespace().map(str::to_owned).collect(),
            created_at: m.created_at,
            expires_at: m.expires_at,
        }))
    }

    /// Completes a pending sign-in: true for the one completion that marked it (one conditional
    /// update, so two submissions at once complete it once).
    pub async fn take_mfa_pending(
        &self,
        key: PendingKey<'_>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = pending::Entity::update_many()
            .col_expr(pending::Column::UsedAt, Expr::value(now))
            .filter(pending::Column::TicketSha256.eq(key.ticket_sha256.to_vec()))
            .filter(pending::Column::BrowserSha256.eq(key.browser_sha256.to_vec()))
            .filter(pending::Column::ClientId.eq(key.client_id))
            .filter(pending::Column::RequestSha256.eq(key.request_sha256.to_vec()))
            .filter(pending::Column::ExpiresAt.gt(now))
            .filter(pending::Column::UsedAt.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Raises live session `id` to `amr`, authenticated at `now` (a step-up); false if it ended.
    pub async fn step_up_session(
        &self,
        id: &str,
        amr: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = session::Entity::update_many()
            .col_expr(session::Column::Amr, Expr::value(amr.join(" ")))
            .col_expr(session::Column::AuthTime, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Deletes pending sign-ins expired before `now`.
    pub async fn purge_mfa_pending(&self, now: i64) -> Result<(), StoreError> {
        pending::Entity::delete_many()
            .filter(pending::Column::ExpiresAt.lt(now))
            .exec(self.conn())
            .await?;
        Ok(())
    }
}
