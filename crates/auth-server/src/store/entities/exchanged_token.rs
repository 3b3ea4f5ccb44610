//! An access token issued by a token exchange (RFC 8693), with the subject token it came from.

use sea_orm::entity::prelude::*;

/// One row of `exchanged_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exchanged_tokens")]
pub struct Model {
    /// The issued token's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    /// The subject token's `jti`.
    pub subject_jti: String,
    /// The client it was issued to (the exchanging client).
    pub client_id: String,
    /// Its `exp`.
    pub expires_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
