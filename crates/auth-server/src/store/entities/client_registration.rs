//! The registration of a dynamically registered client (RFC 7592).

use sea_orm::entity::prelude::*;

use crate::model::registration::ClientRegistration;

/// One row of `client_registrations`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_registrations")]
pub struct Model {
    /// The client.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// SHA-256 of its registration access token (unique).
    pub access_token_sha256: Vec<u8>,
    /// The initial access token that registered it.
    pub registration_token_id: String,
    /// Space-separated scopes it may ever be allowed.
    pub allowed_scopes: String,
    /// The client's `created_at`.
    pub client_created_at: i64,
    /// Creation time.
    pub created_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for ClientRegistration {
    fn from(m: Model) -> Self {
        use super::Words;
        Self {
            client_id: m.client_id,
            access_token_sha256: m.access_token_sha256,
            registration_token_id: m.registration_token_id,
            allowed_scopes: Words::decode(&m.allowed_scopes),
            client_created_at: m.client_created_at,
            created_at: m.created_at,
        }
    }
}

impl From<&ClientRegistration> for Model {
    fn from(r: &ClientRegistration) -> Self {
        use super::Words;
        Self {
            client_id: r.client_id.clone(),
            access_token_sha256: r.access_token_sha256.clone(),
            registration_token_id: r.registration_token_id.clone(),
            allowed_scopes: r.allowed_scopes.encode(),
            client_created_at: r.client_created_at,
            created_at: r.created_at,
        }
    }
}
