//! One refresh token of a family, stored as a digest.

use sea_orm::entity::prelude::*;

crate::model::records::with_refresh_fields!(entity_model
/// One row of `refresh_tokens`.
"refresh_tokens" RefreshRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
