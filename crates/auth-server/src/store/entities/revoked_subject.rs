//! A subject whose access tokens issued before a moment are revoked: a new password or a disabled
//! user. Verifiers that verify locally refuse such tokens from their next feed poll.

use sea_orm::entity::prelude::*;

/// One row of `revoked_subjects`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_subjects")]
pub struct Model {
    /// The user's subject id (`sub`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub sub: String,
    /// Tokens with an `iat` before this are revoked.
    pub before: i64,
    /// No token issued before `before` is alive after this: the row can go.
    pub expires_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
