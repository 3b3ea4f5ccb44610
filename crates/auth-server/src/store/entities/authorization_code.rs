//! An authorization code (RFC 6749 §4.1.2), stored as a digest.

use sea_orm::entity::prelude::*;

/// One row of `authorization_codes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    /// SHA-256 of the code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_sha256: Vec<u8>,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who authorized it.
    pub user_id: String,
    /// The SSO session it came from.
    pub session_id: String,
    /// The exact `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Resource indicators (RFC 8707), space-separated.
    pub resources: String,
    /// OIDC `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge (RFC 7636 §4.2).
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Authentication methods, space-separated.
    pub amr: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was redeemed (a second redemption is refused and revokes what the first issued).
    pub used_at: Option<i64>,
    /// The refresh-token family issued from it, if any.
    pub family_id: Option<String>,
    /// `jti` of the access token issued from it.
    pub access_jti: Option<String>,
    /// Expiry of that access token.
    pub access_exp: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::CodeRecord { code_sha256, client_id, user_id, session_id, redirect_uri, nonce, code_challenge, auth_time, created_at, expires_at, used_at, family_id, access_jti, access_exp } words { scope, resources, amr });
