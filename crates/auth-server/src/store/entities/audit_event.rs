//! One audit event (see `domain::audit`).

use sea_orm::entity::prelude::*;

crate::model::records::with_audit_fields!(entity_model
/// One row of `audit_events`.
"audit_events" AuditRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
