//! A client that received tokens in an SSO session (OpenID Connect Back-Channel Logout 1.0 §2.2:
//! the OP keeps track of the RPs a session logged in to). Written when a code is redeemed under
//! the session, in the same transaction; kept as long as the session can live.

use sea_orm::entity::prelude::*;

/// One row of `session_clients`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_clients")]
pub struct Model {
    /// The SSO session (the `sid` of its ID tokens).
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    /// The client.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// The session's user (the `sub`).
    pub user_id: String,
    /// First redemption under the session.
    pub created_at: i64,
    /// The session's absolute end: the row can go after it (and after its session ended).
    pub expires_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
