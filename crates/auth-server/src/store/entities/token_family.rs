//! A refresh-token family: one grant, and every refresh token rotated from it.

use sea_orm::entity::prelude::*;

/// One row of `token_families`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_families")]
pub struct Model {
    /// Family id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The SSO session it came from (logout ends the family).
    pub session_id: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Resource indicators, space-separated.
    pub resources: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Authentication methods.
    pub amr: String,
    /// Creation time.
    pub created_at: i64,
    /// Absolute end of every token in the family.
    pub expires_at: i64,
    /// When the family was revoked (reuse, revocation, logout).
    pub revoked_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::FamilyRecord { id, client_id, user_id, session_id, auth_time, created_at, expires_at, revoked_at } words { scope, resources, amr });
