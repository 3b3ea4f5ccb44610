//! A client's token-exchange policy (RFC 8693): which subject tokens it may exchange, for which
//! audiences, with which scopes, as a delegate or impersonating. No row: no exchange.

use sea_orm::entity::prelude::*;

/// One row of `token_exchange_policies`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_exchange_policies")]
pub struct Model {
    /// The exchanging client.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// Space-separated: a subject token must be addressed to one of these.
    pub subject_audiences: String,
    /// Space-separated: the audiences the client may ask for.
    pub audiences: String,
    /// Space-separated: the scopes that may pass into an exchanged token.
    pub scopes: String,
    /// Impersonation (no `act` claim) rather than delegation.
    pub impersonation: bool,
    /// Last change.
    pub updated_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
