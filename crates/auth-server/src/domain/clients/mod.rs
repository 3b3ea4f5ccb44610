//! The client registry: creation, lookup through an in-memory cache, and authentication.
//!
//! Client secrets are generated here (256 random bits), shown once, and stored only as a SHA-256
//! digest. They are not human passwords, so a fast digest compared in constant time is as strong as a
//! slow hash and costs microseconds; authenticating a client does no database write.
//!
//! A *public* client (RFC 6749 §2.1: a browser or native app that cannot keep a secret) gets no
//! secret at all: its stored digest is empty, [`ClientRegistry::authenticate`] always refuses it, and
//! it takes part only in the authorization-code flow, with PKCE.

mod admin;
pub mod assertion;
mod auth_registration;
pub mod client_keys;
mod dynamic;
mod dynamic_metadata;
mod initial_tokens;
pub mod jwks_source;
mod origins;
pub mod public_net;
mod redirect_match;
mod rotation;
pub mod token_exchange_policy;
mod validate;

pub use admin::{ClientPage, ClientUpdate, Flip};
pub use dynamic::{NewRegistration, RegistrationError};
pub use dynamic_metadata::{ClientMetadata, MAX_METADATA_LIST, MetadataError, RegisteredMetadata};
pub use initial_tokens::{MAX_TOKEN_LIFETIME_SECS, NewRegistrationToken};
pub use origins::{OriginSet, checked_origins, origin_of, validate_origin};
pub use redirect_match::redirect_uri_matches;
pub use rotation::{MAX_SECRET_OVERLAP_SECS, PreviousSecret, RotatedSecret};

pub use crate::domain::sso::backchannel::validate_backchannel_logout_uri;
pub use validate::{
    MAX_REDIRECT_URI_LEN, is_scope_token, validate_redirect_uri, validate_resource,
};
use validate::{validate_client_id, validate_scope_token};

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Alg, Clock};
use moka::future::Cache;

use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::random;
use crate::domain::values::DpopPolicy;
pub use crate::model::records::{AuthMethod, Client};
pub use crate::model::values::RateLimit;
use crate::store::{Store, StoreError};

/// Bytes of randomness in a generated client secret.
pub const SECRET_BYTES: usize = 32;
/// Longest client secret accepted for comparison; anything longer is refused unhashed.
pub const MAX_SECRET_LEN: usize = 512;
/// Longest client id accepted for lookup.
pub const MAX_CLIENT_ID_LEN: usize = 255;

/// What an operator asks for when registering a client. [`Default`] is an ES256 confidential client
/// with a random id and nothing allowed: fill in what the client needs and end with
/// `..NewClient::default()`, so adding a registration field never touches every caller.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// A chosen id, or `None` for a random one.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Token algorithm.
    pub alg: Alg,
    /// Scopes it may be granted.
    pub allowed_scopes: Vec<String>,
    /// Scopes granted by default (must be a subset of the allowed ones).
    pub default_scopes: Vec<String>,
    /// Resource indicators it may ask for.
    pub allowed_resources: Vec<String>,
    /// Redirection URIs (each must pass [`validate_redirect_uri`]; duplicates are dropped).
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs (same rules).
    pub post_logout_redirect_uris: Vec<String>,
    /// Web origins allowed for CORS besides those of the redirect URIs (each must pass
    /// [`validate_origin`]; duplicates are dropped).
    pub allowed_origins: Vec<String>,
    /// Register a public client: no secret is generated, PKCE is required.
    pub public: bool,
    /// Skip the consent screen for this client.
    pub first_party: bool,
    /// Issue a refresh token from the code grant even without `offline_access`.
    pub always_refresh: bool,
    /// May introspect any token, not only its own and those meant for its resources.
    pub introspect_any: bool,
    /// OpenID Connect Back-Channel Logout 1.0 `backchannel_logout_uri` (checked by
    /// [`validate_backchannel_logout_uri`]).
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: bool,
    /// Every sign-in to it needs a second factor (see `domain::mfa`).
    pub require_mfa: bool,
    /// Its own rate limit (`None`: the configured default, `rate_limits`).
    pub rate_limit: Option<RateLimit>,
    /// RFC 7591 §2 `token_endpoint_auth_method`; `None`: `none` for a public client, else
    /// `client_secret_basic`. A `private_key_jwt` client gets no secret.
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// Its public keys (a JWK Set, JSON text), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where its public keys are fetched from, for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// DPoP policy (RFC 9449; RFC 9449 §5.2 `dpop_bound_access_tokens=true` maps to `Required`).
    pub dpop: DpopPolicy,
    /// Its authorization requests must be pushed (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
}

impl Default for NewClient {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            alg: Alg::Es256,
            allowed_scopes: Vec::new(),
            default_scopes: Vec::new(),
            allowed_resources: Vec::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            public: false,
            first_party: false,
            always_refresh: false,
            introspect_any: false,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            require_mfa: false,
            rate_limit: None,
            token_endpoint_auth_method: None,
            jwks: None,
            jwks_uri: None,
            dpop: DpopPolicy::Allowed,
            require_pushed_authorization_requests: false,
        }
    }
}

/// Why the client registry refused or failed: for client authentication ([`ClientError::Rejected`],
/// `invalid_client` on the wire, RFC 6749 §5.2) and for an operator's request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Client authentication failed: no such client, wrong secret, or disabled.
    #[error("client authentication failed")]
    Rejected,
    /// Invalid input, with a message for the operator.
    #[error("{0}")]
    Invalid(String),
    /// The client id is taken.
    #[error("a client with id {0:?} already exists")]
    Exists(String),
    /// The client is public and has no secret (refused by [`ClientRegistry::rotate_secret`]).
    #[error(
        "client {0:?} is public: it has no secret to rotate (it authenticates with PKCE, not a secret)"
    )]
    PublicClient(String),
    /// A concurrent change to the same client won; nothing was written (retry with fresh data).
    #[error("client {0:?} was changed concurrently; retry")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `id` is a client id a client could have (so a lookup is worth making).
pub fn is_valid_client_id(id: &str) -> bool {
    validate_client_id(id).is_ok()
}

/// Clients, cached.
#[derive(Debug, Clone)]
pub struct ClientRegistry {
    store: Store,
    clock: Arc<dyn Clock>,
    cache: Cache<String, Option<Arc<Client>>>,
    origins: OriginSet,
    secret_overlap_secs: i64,
    assertions: Option<Arc<assertion::AssertionVerifier>>,
}

impl ClientRegistry {
    /// A registry whose cache entries live `ttl`: the bound on how long a change made elsewhere
    /// (CLI, another replica) takes to be seen. Unknown ids are cached too, so a flood of made-up
    /// ids does not reach the database more than once per id and `ttl`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            store,
            clock,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            origins: OriginSet::new(ttl),
            secret_overlap_secs: 0,
            assertions: None,
        }
    }

    /// The same registry, checking `private_key_jwt` assertions with `verifier` (without one,
    /// every assertion is refused).
    pub fn with_assertions(mut self, verifier: assertion::AssertionVerifier) -> Self {
        self.assertions = Some(Arc::new(verifier));
        self
    }

    /// The client `id`, from the cache or the database.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Client>>, ClientError> {
        // An id no client can have is answered without a lookup (and a NUL byte never reaches
        // PostgreSQL, which would refuse the query).
        if validate_client_id(id).is_err() {
            return Ok(None);
        }
        if let Some(hit) = self.cache.get(id).await {
            crate::telemetry::client_cache(true);
            return Ok(hit);
        }
        crate::telemetry::client_cache(false);
        let store = self.store.clone();
        let key = id.to_owned();
        self.cache
            .try_get_with(key.clone(), async move {
                Ok(store.find_client(&key).await?.map(Arc::new))
            })
            .await
            .map_err(|e: Arc<StoreError>| StoreError::from(e).into())
    }

    /// Authenticates with a client secret (RFC 6749 §2.3.1).
    pub async fn authenticate(&self, id: &str, secret: &str) -> Result<Arc<Client>, ClientError> {
        if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN || secret.len() > MAX_SECRET_LEN {
            return Err(ClientError::Rejected);
        }
        let Some(client) = self.get(id).await? else {
            // Same work as a wrong secret, so timing does not separate the two.
            let _ = random::secret_matches(secret, &[0u8; 32]);
            return Err(ClientError::Rejected);
        };
        // Hashed even for a public client, so timing does not tell it apart either. A public
        // client's digest is empty and never matches, but it is refused explicitly. The previous
        // secret (during a rotation's overlap) is compared in the same constant time.
        let matched = rotation::match_secret(&client, secret, self.clock.now());
        let ok = client.enabled && !client.public && !client.secret_sha256.is_empty();
        match matched {
            rotation::SecretMatch::Current if ok => Ok(client),
            rotation::SecretMatch::Previous if ok => {
                crate::telemetry::previous_secret_used(&client.id);
                tracing::info!(
                    client_id = %client.id,
                    previous_secret_expires_at = client.previous_secret_expires_at,
                    "client authenticated with its previous secret (rotation overlap)"
                );
                Ok(client)
            }
            _ => Err(ClientError::Rejected),
        }
    }

    /// Registers a client from code (seeding, tests), without an audit event: an operator's
    /// registration goes through [`ClientRegistry::create_by`] (the CLI and the admin API do).
    pub async fn create(&self, new: NewClient) -> Result<(Client, Option<String>), ClientError> {
        self.register(new, None).await
    }

    /// Registers a client, with its `client.created` audit event by `actor` in the same
    /// transaction; returns it with its secret, which is not stored and cannot be shown again.
    /// A public client gets no secret (`None`) and an empty stored digest.
    pub async fn create_by(
        &self,
        new: NewClient,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<(Client, Option<String>), ClientError> {
        self.register(new, Some((actor, request))).await
    }

    async fn register(
        &self,
        new: NewClient,
        by: Option<(&Actor, &RequestMeta)>,
    ) -> Result<(Client, Option<String>), ClientError> {
        let (client, secret) = self.build(new).await?;
        let (id, now) = (client.id.clone(), client.created_at);
        let audit = by.map(|(actor, request)| {
            AuditEvent::new(EventType::ClientCreated, actor.clone())
                .client(&id)
                .request(request)
                .detail(serde_json::json!({
                    "allowed_scopes": client.allowed_scopes, "public": client.public,
                }))
                .record(now)
        });
        match self.store.insert_client(&client, audit.as_ref()).await {
            Ok(()) => {
                if let Some(a) = &audit {
                    crate::domain::audit::log(a);
                }
            }
            Err(StoreError::Conflict(_)) => return Err(ClientError::Exists(id)),
            Err(e) => return Err(ClientError::Store(e)),
        }
        self.cache.invalidate(&id).await;
        self.origins.invalidate();
        Ok((client, secret))
    }

    /// The client `new` describes, validated, created now, with its secret (`None` for a public
    /// client): what every registration (operator's or dynamic) stores. Nothing is written.
    async fn build(&self, new: NewClient) -> Result<(Client, Option<String>), ClientError> {
        let id = match new.id {
            Some(id) => id,
            None => random::token(16),
        };
        validate_client_id(&id)?;
        // Client-credentials tokens carry the client id as `sub`, user tokens the user id: the two
        // must never meet, or a client could obtain tokens that name a user as their subject.
        if self
            .store
            .find_user(&id)
            .await
            .map_err(ClientError::from)?
            .is_some()
        {
            return Err(ClientError::Invalid(format!(
                "client id {id:?} is the subject id of a user; choose another"
            )));
        }
        for s in new.allowed_scopes.iter().chain(&new.default_scopes) {
            validate_scope_token(s)?;
        }
        if let Some(extra) = new
            .default_scopes
            .iter()
            .find(|s| !new.allowed_scopes.contains(s))
        {
            return Err(ClientError::Invalid(format!(
                "default scope {extra:?} is not among the allowed scopes"
            )));
        }
        for r in &new.allowed_resources {
            validate_resource(r)
                .map_err(|p| ClientError::Invalid(format!("resource {r:?} {p}")))?;
        }
        let redirect_uris = checked_uris("redirect URI", new.redirect_uris)?;
        let post_logout_redirect_uris =
            checked_uris("post-logout redirect URI", new.post_logout_redirect_uris)?;
        let allowed_origins = checked_origins(new.allowed_origins)?;
        let (method, jwks, jwks_uri) = auth_registration::checked_auth(
            new.public,
            new.token_endpoint_auth_method,
            new.jwks,
            new.jwks_uri,
        )?;
        let (secret, secret_sha256) = if !method.uses_secret() {
            (None, Vec::new())
        } else {
            let secret = random::token(SECRET_BYTES);
            let digest = random::sha256(secret.as_bytes());
            (Some(secret), digest)
        };
        let now = self.clock.now();
        let client = Client {
            id: id.clone(),
            name: new.name,
            secret_sha256,
            enabled: true,
            alg: new.alg,
            allowed_scopes: new.allowed_scopes.into(),
            default_scopes: new.default_scopes.into(),
            allowed_resources: new.allowed_resources.into(),
            redirect_uris,
            post_logout_redirect_uris,
            allowed_origins,
            public: new.public,
            first_party: new.first_party,
            always_refresh: new.always_refresh,
            introspect_any: new.introspect_any,
            backchannel_logout_uri: checked_backchannel_uri(new.backchannel_logout_uri)?,
            backchannel_logout_session_required: new.backchannel_logout_session_required,
            require_mfa: new.require_mfa,
            previous_secret_sha256: None,
            previous_secret_expires_at: None,
            rate_limit: new.rate_limit,
            token_endpoint_auth_method: method,
            jwks,
            jwks_uri,
            dpop: new.dpop,
            require_pushed_authorization_requests: new.require_pushed_authorization_requests,
            created_at: now,
            updated_at: now,
        };
        Ok((client, secret))
    }

    /// Every client.
    pub async fn list(&self) -> Result<Vec<Client>, ClientError> {
        Ok(self.store.list_clients().await?)
    }

    /// Enables or disables on the command line; false if no such client.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<bool, ClientError> {
        let flip = self
            .set_enabled_by(
                id,
                enabled,
                &Actor::Admin("cli".into()),
                &RequestMeta::default(),
            )
            .await?;
        Ok(flip != Flip::NotFound)
    }

    /// Issues a new secret with no overlap (the old one stops working at once); `None` if no such
    /// client. With an overlap: [`ClientRegistry::rotate_secret_by`].
    pub async fn rotate_secret(&self, id: &str) -> Result<Option<String>, ClientError> {
        let cli = Actor::Admin("cli".into());
        let rotated = self
            .rotate_secret_by(id, Some(0), &cli, &RequestMeta::default())
            .await?;
        Ok(rotated.map(|r| r.secret))
    }
}

/// A `backchannel_logout_uri` as registered: checked, an empty one is none.
fn checked_backchannel_uri(uri: Option<String>) -> Result<Option<String>, ClientError> {
    match uri.filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => match validate_backchannel_logout_uri(&u) {
            Ok(()) => Ok(Some(u)),
            Err(p) => Err(ClientError::Invalid(format!(
                "backchannel logout URI {u:?} {p}"
            ))),
        },
    }
}

/// Validates each URI (`what` names them in the error) and drops exact duplicates, keeping order.
fn checked_uris(what: &str, uris: Vec<String>) -> Result<Vec<String>, ClientError> {
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        validate_redirect_uri(&uri)
            .map_err(|p| ClientError::Invalid(format!("{what} {uri:?} {p}")))?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
