//! An administrator's changes to clients (admin API and command line): paging, partial updates,
//! enabling and disabling, secret rotation and deletion. Each change is a conditional update that
//! writes its audit event (by the acting administrator, with the request's id and address) in its
//! own transaction: of two administrators racing on one client, one change applies and the other
//! is told so ([`ClientError::Conflict`], or [`Flip::Unchanged`]), and the trail has exactly one
//! event per applied change.

use super::validate::{validate_resource, validate_scope_token};
use super::{
    AuthMethod, Client, ClientError, ClientRegistry, checked_backchannel_uri, checked_uris,
};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use auth_core::Alg;

/// How many times an update is retried when a concurrent change to the same client won.
const UPDATE_ATTEMPTS: usize = 3;

/// The fields an update sets (`None`: unchanged). A client stays public or confidential for life
/// (a public client has no secret to keep).
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    /// Display name.
    pub name: Option<String>,
    /// Token algorithm.
    pub alg: Option<Alg>,
    /// Scopes it may be granted.
    pub allowed_scopes: Option<Vec<String>>,
    /// Scopes granted by default (must stay a subset of the allowed ones).
    pub default_scopes: Option<Vec<String>>,
    /// Resource indicators (RFC 8707) it may ask for.
    pub allowed_resources: Option<Vec<String>>,
    /// Redirection URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Web origins allowed for CORS (besides the redirect URIs' origins).
    pub allowed_origins: Option<Vec<String>>,
    /// May authenticate.
    pub enabled: Option<bool>,
    /// Skips consent.
    pub first_party: Option<bool>,
    /// Refresh tokens from the code grant without `offline_access`.
    pub always_refresh: Option<bool>,
    /// May introspect any token.
    pub introspect_any: Option<bool>,
    /// Back-channel logout URI (an empty string removes it).
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: Option<bool>,
    /// Every sign-in needs a second factor.
    pub require_mfa: Option<bool>,
    /// Its own rate limit (`Some(None)`: back to the configured default).
    pub rate_limit: Option<Option<super::RateLimit>>,
    /// RFC 7591 §2 `token_endpoint_auth_method` (a public client keeps `none`). Moving to
    /// `private_key_jwt` drops the secret; moving back needs a new one (`rotate-secret`).
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// Inline JWK Set (JSON text); setting it drops `jwks_uri`, an empty string removes it.
    pub jwks: Option<String>,
    /// JWK Set URL; setting it drops `jwks`, an empty string removes it.
    pub jwks_uri: Option<String>,
    /// DPoP policy (RFC 9449).
    pub dpop: Option<crate::domain::values::DpopPolicy>,
    /// Authorization requests must be pushed (RFC 9126 §6).
    pub require_pushed_authorization_requests: Option<bool>,
}

/// What enabling or disabling did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flip {
    /// This call changed it.
    Changed,
    /// It already was so; nothing written, no event.
    Unchanged,
    /// No such client.
    NotFound,
}

/// One page of clients, by id.
#[derive(Debug, Clone)]
pub struct ClientPage {
    /// The clients.
    pub clients: Vec<Client>,
    /// The id to pass as `after` for the next page, if there may be one.
    pub next: Option<String>,
}

impl ClientUpdate {
    /// `c` with this update applied and validated, at `now`.
    fn apply(self, c: &Client, now: i64) -> Result<Client, ClientError> {
        let mut n = c.clone();
        self.apply_auth(&mut n)?;
        if let Some(name) = self.name {
            if name.trim().is_empty() || name.len() > 200 {
                return Err(ClientError::Invalid(
                    "name must be 1 to 200 characters".into(),
                ));
            }
            n.name = name;
        }
        if let Some(alg) = self.alg {
            n.alg = alg;
        }
        if let Some(s) = self.allowed_scopes {
            s.iter().try_for_each(|t| validate_scope_token(t))?;
            n.allowed_scopes = s.into();
        }
        if let Some(s) = self.default_scopes {
            s.iter().try_for_each(|t| validate_scope_token(t))?;
            n.default_scopes = s.into();
        }
        if let Some(extra) = n
            .default_scopes
            .iter()
            .find(|s| !n.allowed_scopes.contains(s))
        {
            return Err(ClientError::Invalid(format!(
                "default scope {extra:?} is not among the allowed scopes"
            )));
        }
        if let Some(rs) = self.allowed_resources {
            for r in &rs {
                validate_resource(r)
                    .map_err(|p| ClientError::Invalid(format!("resource {r:?} {p}")))?;
            }
            n.allowed_resources = rs.into();
        }
        if let Some(u) = self.redirect_uris {
            n.redirect_uris = checked_uris("redirect URI", u)?;
        }
        if let Some(u) = self.post_logout_redirect_uris {
            n.post_logout_redirect_uris = checked_uris("post-logout redirect URI", u)?;
        }
        if let Some(o) = self.allowed_origins {
            n.allowed_origins = super::checked_origins(o)?;
        }
        n.enabled = self.enabled.unwrap_or(n.enabled);
        n.first_party = self.first_party.unwrap_or(n.first_party);
        n.always_refresh = self.always_refresh.unwrap_or(n.always_refresh);
        n.introspect_any = self.introspect_any.unwrap_or(n.introspect_any);
        if let Some(u) = self.backchannel_logout_uri {
            n.backchannel_logout_uri = checked_backchannel_uri(Some(u))?;
        }
        n.backchannel_logout_session_required = self
            .backchannel_logout_session_required
            .unwrap_or(n.backchannel_logout_session_required);
        n.require_mfa = self.require_mfa.unwrap_or(n.require_mfa);
        n.dpop = self.dpop.unwrap_or(n.dpop);
        n.require_pushed_authorization_requests = self
            .require_pushed_authorization_requests
            .unwrap_or(n.require_pushed_authorization_requests);
        n.rate_limit = self.rate_limit.unwrap_or(n.rate_limit);
        n.updated_at = now.max(c.updated_at);
        Ok(n)
    }
}

impl ClientUpdate {
    /// The authentication method and keys, checked together (see `auth_registration`).
    fn apply_auth(&self, n: &mut Client) -> Result<(), ClientError> {
        let method = self
            .token_endpoint_auth_method
            .unwrap_or(n.token_endpoint_auth_method);
        let (mut jwks, mut jwks_uri) = (n.jwks.clone(), n.jwks_uri.clone());
        match (&self.jwks, &self.jwks_uri) {
            (Some(j), None) => (jwks, jwks_uri) = (Some(j.clone()), None),
            (None, Some(u)) => (jwks, jwks_uri) = (None, Some(u.clone())),
            (Some(j), Some(u)) => (jwks, jwks_uri) = (Some(j.clone()), Some(u.clone())),
            (None, None) if method != AuthMethod::PrivateKeyJwt => (jwks, jwks_uri) = (None, None),
            (None, None) => {}
        }
        let (method, jwks, jwks_uri) =
            super::auth_registration::checked_auth(n.public, Some(method), jwks, jwks_uri)?;
        if method == AuthMethod::PrivateKeyJwt {
            // No secret may authenticate it any more: neither the current one nor the one a
            // rotation replaced.
            n.secret_sha256 = Vec::new();
            n.previous_secret_sha256 = None;
            n.previous_secret_expires_at = None;
        }
        (n.token_endpoint_auth_method, n.jwks, n.jwks_uri) = (method, jwks, jwks_uri);
        Ok(())
    }
}

impl ClientRegistry {
    /// A page of at most `limit` clients with ids after `after`, read from the database.
    pub async fn page(&self, after: Option<&str>, limit: u64) -> Result<ClientPage, ClientError> {
        let clients = self.store.clients_page(after, limit).await?;
        let next = (clients.len() as u64 == limit)
            .then(|| clients.last().map(|c| c.id.clone()))
            .flatten();
        Ok(ClientPage { clients, next })
    }

    /// Client `id` as stored now (not from the cache).
    pub async fn fresh(&self, id: &str) -> Result<Option<Client>, ClientError> {
        Ok(self.store.find_client(id).await?)
    }

    /// Applies `update` to client `id` by `actor`, conditional on the row being unchanged since it
    /// was read (retried a few times, then [`ClientError::Conflict`]), with its `client.updated`
    /// audit event (naming the changed fields) in the same transaction. `None` if no such client.
    pub async fn update_by(
        &self,
        id: &str,
        update: ClientUpdate,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Option<Client>, ClientError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(old) = self.store.find_client(id).await? else {
                return Ok(None);
            };
            let now = self.clock.now();
            let new = update.clone().apply(&old, now)?;
            let audit = AuditEvent::new(EventType::ClientUpdated, actor.clone())
                .client(id)
                .request(request)
                .detail(serde_json::json!({ "changed": changed_fields(&old, &new) }))
                .record(now);
            if self.store.replace_client_if(&old, &new, &audit).await? {
                crate::domain::audit::log(&audit);
                self.cache.invalidate(id).await;
                self.origins.invalidate();
                return Ok(Some(new));
            }
        }
        Err(ClientError::Conflict(id.to_owned()))
    }

    /// Enables or disables client `id` by `actor`: a conditional update on the flag, with its
    /// audit event (`client.disabled`, or `client.updated` for enabling) only when this call
    /// changed it.
    pub async fn set_enabled_by(
        &self,
        id: &str,
        enabled: bool,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Flip, ClientError> {
        let now = self.clock.now();
        let kind = if enabled {
            EventType::ClientUpdated
        } else {
            EventType::ClientDisabled
        };
        let audit = AuditEvent::new(kind, actor.clone())
            .client(id)
            .request(request)
            .detail(serde_json::json!({ "enabled": enabled }))
            .record(now);
        let flipped = self
            .store
            .flip_client_enabled(id, enabled, now, &audit)
            .await?;
        self.cache.invalidate(id).await;
        self.origins.invalidate();
        if flipped {
            crate::domain::audit::log(&audit);
            Ok(Flip::Changed)
        } else if self.store.client_exists(id).await? {
            Ok(Flip::Unchanged)
        } else {
            Ok(Flip::NotFound)
        }
    }

    /// Deletes client `id` by `actor`, ending what it holds in the same transaction (see
    /// `Store::delete_client`): its access tokens are cut off through the revocation feed, its
    /// grants revoked with their tokens, its codes and consents deleted. False if no such client.
    pub async fn delete_by(
        &self,
        id: &str,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<bool, ClientError> {
        let now = self.clock.now();
        let audit = AuditEvent::new(EventType::ClientDeleted, actor.clone())
            .client(id)
            .request(request)
            .record(now);
        let deleted = self.store.delete_client(id, now, &audit).await?;
        self.cache.invalidate(id).await;
        self.origins.invalidate();
        if deleted {
            crate::domain::audit::log(&audit);
        }
        Ok(deleted)
    }
}

/// The names of the fields that differ between `a` and `b` (never a secret).
fn changed_fields(a: &Client, b: &Client) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut diff = |name, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    diff("name", a.name != b.name);
    diff("alg", a.alg != b.alg);
    diff("allowed_scopes", a.allowed_scopes != b.allowed_scopes);
    diff("default_scopes", a.default_scopes != b.default_scopes);
    diff(
        "allowed_resources",
        a.allowed_resources != b.allowed_resources,
    );
    diff("redirect_uris", a.redirect_uris != b.redirect_uris);
    diff(
        "post_logout_redirect_uris",
        a.post_logout_redirect_uris != b.post_logout_redirect_uris,
    );
    diff("allowed_origins", a.allowed_origins != b.allowed_origins);
    diff("enabled", a.enabled != b.enabled);
    diff("first_party", a.first_party != b.first_party);
    diff("always_refresh", a.always_refresh != b.always_refresh);
    diff("introspect_any", a.introspect_any != b.introspect_any);
    diff(
        "backchannel_logout_uri",
        a.backchannel_logout_uri != b.backchannel_logout_uri,
    );
    diff(
        "backchannel_logout_session_required",
        a.backchannel_logout_session_required != b.backchannel_logout_session_required,
    );
    diff("require_mfa", a.require_mfa != b.require_mfa);
    diff("rate_limit", a.rate_limit != b.rate_limit);
    diff(
        "token_endpoint_auth_method",
        a.token_endpoint_auth_method != b.token_endpoint_auth_method,
    );
    diff("jwks", a.jwks != b.jwks);
    diff("jwks_uri", a.jwks_uri != b.jwks_uri);
    diff("dpop", a.dpop != b.dpop);
    diff(
        "require_pushed_authorization_requests",
        a.require_pushed_authorization_requests != b.require_pushed_authorization_requests,
    );
    out
}
