//! One refresh token of a family, stored as a digest.

use sea_orm::entity::prelude::*;

/// One row of `refresh_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// SHA-256 of the token.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_sha256: Vec<u8>,
    /// Its family.
    pub family_id: String,
    /// Creation time.
    pub created_at: i64,
    /// Idle expiry.
    pub expires_at: i64,
    /// When it was rotated (used); a later use is a reuse.
    pub used_at: Option<i64>,
    /// `jti` of the access token issued with it (revoked with the family).
    pub access_jti: Option<String>,
    /// That access token's `exp`.
    pub access_exp: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::RefreshRecord { token_sha256, family_id, created_at, expires_at, used_at, access_jti, access_exp } words {  });
