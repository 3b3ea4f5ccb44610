//! A pushed authorization request (RFC 9126 §2): the parameters a client pushed, waiting for the
//! browser to bring the `request_uri` to `/authorize`.

use sea_orm::entity::prelude::*;

/// One row of `pushed_requests`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pushed_requests")]
pub struct Model {
    /// SHA-256 of the `request_uri` (the URI itself is never stored).
    #[sea_orm(primary_key, auto_increment = false)]
    pub uri_sha256: Vec<u8>,
    /// The client that pushed it (authenticated at `/par`).
    pub client_id: String,
    /// The pushed parameters, as a JSON array of `[name, value]` pairs.
    pub params: String,
    /// Pushed at.
    pub created_at: i64,
    /// Expiry: `expires_in` after the push, or the sign-in window after it was first opened.
    pub expires_at: i64,
    /// When a browser first brought it to `/authorize`.
    pub opened_at: Option<i64>,
    /// When it yielded its authorization code.
    pub used_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
