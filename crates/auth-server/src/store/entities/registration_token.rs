//! An initial access token for dynamic client registration (RFC 7591 §3).

use sea_orm::entity::prelude::*;

use crate::model::registration::RegistrationToken;

/// One row of `registration_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registration_tokens")]
pub struct Model {
    /// Short id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// SHA-256 of the token (unique).
    pub token_sha256: Vec<u8>,
    /// Space-separated scopes its clients may be allowed.
    pub allowed_scopes: String,
    /// Space-separated resource indicators its clients may be allowed.
    pub allowed_resources: String,
    /// Registrations allowed (`NULL`: unlimited).
    pub max_uses: Option<i64>,
    /// Registrations made.
    pub uses: i64,
    /// Expiry (`NULL`: none).
    pub expires_at: Option<i64>,
    /// Revocation time.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for RegistrationToken {
    fn from(m: Model) -> Self {
        use super::Words;
        Self {
            id: m.id,
            token_sha256: m.token_sha256,
            allowed_scopes: Words::decode(&m.allowed_scopes),
            allowed_resources: Words::decode(&m.allowed_resources),
            max_uses: m.max_uses,
            uses: m.uses,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
        }
    }
}

impl From<&RegistrationToken> for Model {
    fn from(t: &RegistrationToken) -> Self {
        use super::Words;
        Self {
            id: t.id.clone(),
            token_sha256: t.token_sha256.clone(),
            allowed_scopes: t.allowed_scopes.encode(),
            allowed_resources: t.allowed_resources.encode(),
            max_uses: t.max_uses,
            uses: t.uses,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            created_at: t.created_at,
        }
    }
}
