//! A server-side single sign-on session (the browser holds only a random secret in a cookie).

use sea_orm::entity::prelude::*;

crate::model::records::with_session_fields!(entity_model
/// One row of `sso_sessions`.
"sso_sessions" SessionRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
