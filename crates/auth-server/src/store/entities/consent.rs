//! Scopes a user has allowed a client.

use sea_orm::entity::prelude::*;

crate::model::records::with_consent_fields!(entity_model
/// One row of `consents`.
"consents" ConsentRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
