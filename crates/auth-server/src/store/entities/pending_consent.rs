//! A consent page that was shown and not answered yet: the server-side half of the consent form.

use sea_orm::entity::prelude::*;

crate::model::records::with_pending_consent_fields!(entity_model
/// One row of `pending_consents`.
"pending_consents" PendingConsentRecord);

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
