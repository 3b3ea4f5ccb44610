//! A server-side single sign-on session (the browser holds only a random secret in a cookie).

use sea_orm::entity::prelude::*;

/// One row of `sso_sessions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_sessions")]
pub struct Model {
    /// The session id: the `sid` claim of ID tokens. Not a secret.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// SHA-256 of the cookie's secret. The secret itself is never stored.
    #[sea_orm(unique)]
    pub secret_sha256: Vec<u8>,
    /// The signed-in user.
    pub user_id: String,
    /// When the user last entered a password (OIDC `auth_time`).
    pub auth_time: i64,
    /// Authentication methods (RFC 8176), space-separated.
    pub amr: String,
    /// Creation time.
    pub created_at: i64,
    /// Last use, for the idle timeout.
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// When it was ended by logout.
    pub ended_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::SessionRecord { id, secret_sha256, user_id, auth_time, created_at, last_seen_at, expires_at, ended_at } words { amr });
