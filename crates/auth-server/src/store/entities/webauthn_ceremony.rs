//! A WebAuthn ceremony in progress: the server-side state (challenge) of one registration or
//! authentication, single-use and bound to a session or browser.

use sea_orm::entity::prelude::*;

/// One row of `webauthn_ceremonies`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    /// The ceremony id the browser sends back.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `register`, `passwordless` or `second_factor`.
    pub kind: String,
    /// SHA-256 of what it is bound to (a session id, or the browser's CSRF cookie).
    pub binding_sha256: Vec<u8>,
    /// The user, for registration and second-factor ceremonies.
    pub user_id: Option<String>,
    /// webauthn-rs's ceremony state as JSON.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    /// Started at.
    pub created_at: i64,
    /// Usable until.
    pub expires_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
