//! One audit event (see `domain::audit`).

use sea_orm::entity::prelude::*;

/// One row of `audit_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// Insertion order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// The event type, e.g. `sign_in.success`.
    pub event_type: String,
    /// `user`, `client`, `admin`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The actor's id (a user's id, a client id), when there is one.
    pub actor_id: Option<String>,
    /// The user the event is about.
    pub user_id: Option<String>,
    /// The client the event is about.
    pub client_id: Option<String>,
    /// What else it is about (a key id, a session...).
    pub subject: Option<String>,
    /// The client address of the request.
    pub client_addr: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// Event-specific details, a JSON object.
    pub detail: Option<String>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
