//! Failed sign-ins counted per account or per client address, for throttling.

use sea_orm::entity::prelude::*;

crate::model::records::with_throttle_fields!(entity_model
/// One row of `login_failures`.
"login_failures" ThrottleRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
