//! A registered OAuth client.

use sea_orm::entity::prelude::*;

/// One row of `clients`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    /// The public client identifier (RFC 6749 §2.2).
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// A human-readable name.
    pub name: String,
    /// SHA-256 of the client secret. The secret itself is never stored.
    pub secret_sha256: Vec<u8>,
    /// Disabled clients get `invalid_client`.
    pub enabled: bool,
    /// `RS256` or `ES256`: the algorithm its access tokens are signed with.
    pub signing_alg: String,
    /// Space-separated scopes the client may be granted.
    pub allowed_scopes: String,
    /// Space-separated scopes granted when a request names none.
    pub default_scopes: String,
    /// Space-separated resource indicators (RFC 8707) the client may obtain tokens for.
    pub allowed_resources: String,
    /// Space-separated redirection URIs (RFC 6749 §3.1.2) for the authorization-code flow, matched
    /// exactly. Empty: the client cannot use that flow.
    pub redirect_uris: String,
    /// Space-separated URIs it may return to after logout (OpenID Connect RP-Initiated Logout).
    pub post_logout_redirect_uris: String,
    /// A public client (RFC 6749 §2.1): no secret (`secret_sha256` is empty), token endpoint
    /// authentication `none`, PKCE required.
    pub public: bool,
    /// A first-party client: users are not asked for consent.
    pub first_party: bool,
    /// The authorization-code grant gives it a refresh token even without `offline_access`.
    pub always_refresh: bool,
    /// May introspect any token (RFC 7662 §4); otherwise only its own and those meant for its
    /// registered resources.
    pub introspect_any: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
