//! A consent page that was shown and not answered yet: the server-side half of the consent form.

use sea_orm::entity::prelude::*;

/// One row of `pending_consents`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_consents")]
pub struct Model {
    /// SHA-256 of the ticket carried in the form.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_sha256: Vec<u8>,
    /// The session the page was shown to.
    pub session_id: String,
    /// The client asking.
    pub client_id: String,
    /// SHA-256 of the authorization request's parameters.
    pub request_sha256: Vec<u8>,
    /// When the page was shown.
    pub created_at: i64,
    /// Until when it may be answered.
    pub expires_at: i64,
    /// When it was answered.
    pub used_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::PendingConsentRecord { ticket_sha256, session_id, client_id, request_sha256, created_at, expires_at, used_at } words {  });
