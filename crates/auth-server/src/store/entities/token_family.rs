//! A refresh-token family: one grant, and every refresh token rotated from it.

use sea_orm::entity::prelude::*;

crate::model::records::with_family_fields!(entity_model
/// One row of `token_families`.
"token_families" FamilyRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
