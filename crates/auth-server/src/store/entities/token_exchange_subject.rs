//! A subject token that an exchange or a revocation touched: the row both write first, so that
//! one of them waits for the other (RFC 8693 exchanges racing a revocation).

use sea_orm::entity::prelude::*;

/// One row of `token_exchange_subjects`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_exchange_subjects")]
pub struct Model {
    /// The subject token's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject_jti: String,
    /// The subject token was revoked: no exchange may use it.
    pub revoked: bool,
    /// The subject token's `exp`: the row can go after it.
    pub expires_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
