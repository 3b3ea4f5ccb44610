//! A registered WebAuthn credential (security key or passkey) of a user.

use sea_orm::entity::prelude::*;

/// One row of `webauthn_credentials`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_credentials")]
pub struct Model {
    /// Our id (shown in forms).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The authenticator's credential id, base64url.
    #[sea_orm(unique)]
    pub credential_id: String,
    /// The user's name for it.
    pub name: String,
    /// webauthn-rs's `Passkey` (public key, counter, flags) as JSON.
    #[sea_orm(column_type = "Text")]
    pub passkey: String,
    /// The signature counter last accepted.
    pub counter: i64,
    /// The authenticator said the credential may be backed up (synced).
    pub backup_eligible: bool,
    /// The authenticator said the credential is backed up.
    pub backup_state: bool,
    /// Registered at.
    pub created_at: i64,
    /// Last used to sign in.
    pub last_used_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
