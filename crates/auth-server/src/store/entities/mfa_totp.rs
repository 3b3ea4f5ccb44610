//! A user's TOTP factor (RFC 6238): the shared secret sealed with the KEK, whether it was confirmed,
//! and the last time step accepted (so no step is accepted twice).

use sea_orm::entity::prelude::*;

/// One row of `mfa_totp` (one factor per user).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_totp")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// Random id of this enrollment: a confirmation names the secret it was shown.
    pub enrollment_id: String,
    /// The secret, sealed (AES-256-GCM) with the KEK named by `kek_id`.
    pub secret_sealed: Vec<u8>,
    /// The KEK that sealed it.
    pub kek_id: String,
    /// When the enrollment started.
    pub created_at: i64,
    /// When the first code confirmed it (`None`: not active yet).
    pub confirmed_at: Option<i64>,
    /// The last accepted time step.
    pub last_step: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
