//! One logout token to deliver (OpenID Connect Back-Channel Logout 1.0): written in the
//! transaction that ends an SSO session, one per client that received tokens in it and has a
//! `backchannel_logout_uri`; claimed, sent and marked by the background drainer.

use sea_orm::entity::prelude::*;

/// One row of `backchannel_outbox`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backchannel_outbox")]
pub struct Model {
    /// `{session_id}:{client_id}`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The ended session (`sid`).
    pub session_id: String,
    /// The client to notify (`aud`).
    pub client_id: String,
    /// The session's user (`sub`).
    pub user_id: String,
    /// The client's `backchannel_logout_uri` when the session ended.
    pub uri: String,
    /// When the session ended.
    pub created_at: i64,
    /// Deliveries attempted (claims made).
    pub attempts: i32,
    /// Not claimed before this (the backoff).
    pub next_attempt_at: i64,
    /// The lease of the drainer that claimed it: nobody else claims it before this.
    pub claimed_until: Option<i64>,
    /// The random token of the claim that holds the lease; only its holder may settle the row.
    pub claim_token: Option<String>,
    /// Delivered (the client answered 200 or 204).
    pub delivered_at: Option<i64>,
    /// Given up after the last attempt.
    pub failed_at: Option<i64>,
    /// What the last failed attempt saw.
    pub last_error: Option<String>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
