//! A sign-in waiting for its second factor: the password was right (or the session exists, for a
//! step-up), and no session carries the second factor yet.

use sea_orm::entity::prelude::*;

/// One row of `mfa_pending`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_pending")]
pub struct Model {
    /// SHA-256 of the ticket the second-factor form carries.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_sha256: Vec<u8>,
    /// The user.
    pub user_id: String,
    /// The client of the authorization request.
    pub client_id: String,
    /// SHA-256 of the request's parameters.
    pub request_sha256: Vec<u8>,
    /// SHA-256 of the browser's CSRF cookie.
    pub browser_sha256: Vec<u8>,
    /// The session to step up, if any (none: a new sign-in).
    pub session_id: Option<String>,
    /// The user's security stamp when the password was checked.
    pub security_stamp: i64,
    /// Methods already proven (space-separated, RFC 8176).
    pub amr: String,
    /// Created.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was completed.
    pub used_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
