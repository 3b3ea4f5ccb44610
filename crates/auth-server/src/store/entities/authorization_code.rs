//! An authorization code (RFC 6749 §4.1.2), stored as a digest.

use sea_orm::entity::prelude::*;

crate::model::records::with_code_fields!(entity_model
/// One row of `authorization_codes`.
"authorization_codes" CodeRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
