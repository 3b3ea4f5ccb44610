//! A one-time recovery code, stored as the SHA-256 of the user id and the code.

use sea_orm::entity::prelude::*;

/// One row of `mfa_recovery_codes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_recovery_codes")]
pub struct Model {
    /// SHA-256 of `user_id`, a NUL and the normalized code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_sha256: Vec<u8>,
    /// The user.
    pub user_id: String,
    /// When the set was generated.
    pub created_at: i64,
    /// When it was used (`None`: still usable).
    pub used_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
