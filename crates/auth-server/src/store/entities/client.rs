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
    /// Space-separated web origins allowed for CORS besides those of the redirect URIs.
    pub allowed_origins: String,
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
    /// OpenID Connect Back-Channel Logout 1.0 `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: bool,
    /// Every sign-in to it needs a second factor.
    pub require_mfa: bool,
    /// SHA-256 of the secret the last rotation replaced (NULL: none), accepted until
    /// `previous_secret_expires_at`.
    pub previous_secret_sha256: Option<Vec<u8>>,
    /// When the previous secret stops being accepted.
    pub previous_secret_expires_at: Option<i64>,
    /// Its own rate limit (`RateLimit`'s text form; NULL: the configured default).
    pub rate_limit: Option<String>,
    /// RFC 7591 §2 `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: String,
    /// Its public keys for `private_key_jwt` (RFC 7517 JWK Set, JSON text), if registered inline.
    pub jwks: Option<String>,
    /// Where its public keys are fetched from for `private_key_jwt`, if registered by URL.
    pub jwks_uri: Option<String>,
    /// RFC 9449 policy: `allowed`, `required` or `disabled`.
    pub dpop: String,
    /// Authorization requests must be pushed (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for crate::model::records::Client {
    type Error = crate::store::StoreError;

    fn try_from(m: Model) -> Result<Self, Self::Error> {
        use super::Words;
        let alg = m.signing_alg.parse().map_err(|e| {
            crate::store::StoreError::Corrupt(format!("client {}: {e}", m.client_id))
        })?;
        let dpop = m.dpop.parse().map_err(|e| {
            crate::store::StoreError::Corrupt(format!("client {}: {e}", m.client_id))
        })?;
        let rate_limit = m
            .rate_limit
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| {
                crate::store::StoreError::Corrupt(format!("client {}: {e}", m.client_id))
            })?;
        Ok(Self {
            alg,
            dpop,
            allowed_scopes: Words::decode(&m.allowed_scopes),
            default_scopes: Words::decode(&m.default_scopes),
            allowed_resources: Words::decode(&m.allowed_resources),
            redirect_uris: Words::decode(&m.redirect_uris),
            post_logout_redirect_uris: Words::decode(&m.post_logout_redirect_uris),
            allowed_origins: Words::decode(&m.allowed_origins),
            public: m.public,
            first_party: m.first_party,
            always_refresh: m.always_refresh,
            introspect_any: m.introspect_any,
            backchannel_logout_uri: m.backchannel_logout_uri,
            backchannel_logout_session_required: m.backchannel_logout_session_required,
            require_mfa: m.require_mfa,
            previous_secret_sha256: m.previous_secret_sha256,
            previous_secret_expires_at: m.previous_secret_expires_at,
            rate_limit,
            token_endpoint_auth_method: m.token_endpoint_auth_method.parse().map_err(|e| {
                crate::store::StoreError::Corrupt(format!("client {}: {e}", m.client_id))
            })?,
            jwks: m.jwks,
            jwks_uri: m.jwks_uri,
            require_pushed_authorization_requests: m.require_pushed_authorization_requests,
            id: m.client_id,
            name: m.name,
            secret_sha256: m.secret_sha256,
            enabled: m.enabled,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl From<&crate::model::records::Client> for Model {
    fn from(c: &crate::model::records::Client) -> Self {
        use super::Words;
        Self {
            client_id: c.id.clone(),
            name: c.name.clone(),
            secret_sha256: c.secret_sha256.clone(),
            enabled: c.enabled,
            signing_alg: c.alg.as_str().to_owned(),
            allowed_scopes: c.allowed_scopes.encode(),
            default_scopes: c.default_scopes.encode(),
            allowed_resources: c.allowed_resources.encode(),
            redirect_uris: c.redirect_uris.encode(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.encode(),
            allowed_origins: c.allowed_origins.encode(),
            public: c.public,
            first_party: c.first_party,
            always_refresh: c.always_refresh,
            introspect_any: c.introspect_any,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            require_mfa: c.require_mfa,
            previous_secret_sha256: c.previous_secret_sha256.clone(),
            previous_secret_expires_at: c.previous_secret_expires_at,
            rate_limit: c.rate_limit.map(|r| r.to_string()),
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            dpop: c.dpop.as_str().to_owned(),
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}
