//! A user (resource owner) who signs in at the IdP.

use sea_orm::entity::prelude::*;

crate::model::records::with_user_fields!(entity_model
/// One row of `users`.
"users" UserRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
