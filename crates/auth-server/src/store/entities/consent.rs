//! Scopes a user has allowed a client.

use sea_orm::entity::prelude::*;

/// One row of `consents`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// The client.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// Allowed scopes, space-separated.
    pub scope: String,
    /// Last change.
    pub updated_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::ConsentRecord { user_id, client_id, updated_at } words { scope });
