//! A signing key and its lifecycle.

use sea_orm::entity::prelude::*;

crate::model::records::with_key_fields!(entity_model
/// One row of `signing_keys`.
///
/// `(alg, generation)` is unique: when two replicas both decide to create the next key for an
/// algorithm, the database lets exactly one of them do it.
"signing_keys" KeyRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
