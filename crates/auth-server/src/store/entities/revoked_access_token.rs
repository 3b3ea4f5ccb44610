//! An access token revoked before its expiry (RFC 7009), by `jti`.

use sea_orm::entity::prelude::*;

/// One row of `revoked_access_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_access_tokens")]
pub struct Model {
    /// The token's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    /// The token's `exp`: the row can go after it.
    pub expires_at: i64,
    /// For a client's own token (client credentials, revoked by that client): the client. The feed
    /// gives each client a bounded share of such entries, so no client can crowd out the others.
    pub client_id: Option<String>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
