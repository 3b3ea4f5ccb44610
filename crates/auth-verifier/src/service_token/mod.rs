//! A service's own access tokens for calling another service: the client-credentials grant
//! (RFC 6749 §4.4) or OAuth 2.0 Token Exchange (RFC 8693 §2.1: the user's access token as
//! `subject_token`, a target `resource` (RFC 8707) and a narrowed `scope`), each with
//! `client_secret_basic` (RFC 6749 §2.3.1).
//!
//! [`ServiceTokenSource`] caches every token until shortly before it expires
//! ([`DEFAULT_REFRESH_MARGIN`]), in a bounded cache keyed by the SHA-256 of what was asked (the grant,
//! the subject token for an exchange, the resource and the scope). An exchanged token is never
//! reused past the subject token's `exp`. One request at a time per key: concurrent callers share
//! the one in flight. A response without `expires_in` is reused as if the token lived
//! [`DEFAULT_LIFETIME`] (60 s, so for 30 s). The token endpoint is configured, or found once through
//! the issuer's OpenID discovery document. Secrets (the client secret, the tokens) never appear in
//! `Debug` output or logs.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_core::{Clock, SystemClock, UnixTime};
use moka::future::Cache;
use moka::ops::compute::Op;
use sha2::{Digest, Sha256};

mod error;
mod request;
#[cfg(test)]
mod tests;

pub use error::{OAuthError, OAuthErrorCode, ServiceTokenError};

/// A cached token is replaced this long before it expires (or at half its lifetime, if shorter).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The lifetime assumed when the token response has no `expires_in` (RFC 6749 §5.1 makes it
/// optional): short, so that such a token is reused for 30 s only.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// Most tokens cached at once (one per client-credentials target, one per subject token and target
/// for exchanges); beyond it the least useful are dropped.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;

/// `grant_type` of RFC 8693 §2.1.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// How this service authenticates to the token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// `client_secret_basic` (RFC 6749 §2.3.1): id and secret, form-encoded, in HTTP Basic.
    SecretBasic {
        /// The client id.
        client_id: String,
        /// The secret (never shown by `Debug`).
        client_secret: String,
    },
}

impl ClientAuth {
    /// `client_secret_basic` with this id and secret.
    pub fn secret_basic(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::SecretBasic {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        match self {
            Self::SecretBasic { client_id, .. } => client_id,
        }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretBasic { client_id, .. } => f
                .debug_struct("SecretBasic")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

/// Where the token endpoint is.
#[derive(Debug, Clone)]
pub enum TokenEndpoint {
    /// This URL.
    Url(String),
    /// The `token_endpoint` of this issuer's OpenID discovery document, fetched once (at the
    /// first token request; a failure is retried at the next).
    Discover {
        /// The issuer identifier (the document's `issuer` must equal it).
        issuer: String,
    },
}

/// What to ask for: a grant, the audience of the service to call (`resource`, RFC 8707) and the
/// scope (space-separated; empty: the IdP's default for that audience).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    grant: Grant<'a>,
    resource: &'a str,
    scope: &'a str,
}

#[derive(Clone, Copy)]
enum Grant<'a> {
    ClientCredentials,
    Exchange {
        subject_token: &'a str,
        subject_expires_at: UnixTime,
    },
}

impl fmt::Debug for Grant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::ClientCredentials => f.write_str("ClientCredentials"),
            Grant::Exchange {
                subject_expires_at, ..
            } => f
                .debug_struct("Exchange")
                .field("subject_token", &"<redacted>")
                .field("subject_expires_at", subject_expires_at)
                .finish(),
        }
    }
}

impl<'a> TokenRequest<'a> {
    /// This service's own token (RFC 6749 §4.4) for `resource`.
    pub fn client_credentials(resource: &'a str, scope: &'a str) -> Self {
        Self {
            grant: Grant::ClientCredentials,
            resource,
            scope,
        }
    }

    /// A token for `resource` on behalf of the subject of `subject_token` (RFC 8693 §2.1: the
    /// access token this service received, which expires at `subject_expires_at`, its verified
    /// `exp`). The token obtained is never reused past that time.
    pub fn exchange(
        subject_token: &'a str,
        subject_expires_at: UnixTime,
        resource: &'a str,
        scope: &'a str,
    ) -> Self {
        Self {
            grant: Grant::Exchange {
                subject_token,
                subject_expires_at,
            },
            resource,
            scope,
        }
    }

    /// The cache key: SHA-256 over the grant, the subject token, the resource and the scope, each
    /// length-prefixed so that no two requests share a key.
    fn key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut field = |v: &[u8]| {
            h.update((v.len() as u64).to_be_bytes());
            h.update(v);
        };
        match self.grant {
            Grant::ClientCredentials => field(b"cc"),
            Grant::Exchange { subject_token, .. } => {
                field(b"exchange");
                field(subject_token.as_bytes());
            }
        }
        field(self.resource.as_bytes());
        field(self.scope.as_bytes());
        h.finalize().into()
    }
}

/// An access token from the token endpoint. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceToken {
    access_token: Arc<str>,
    scope: Option<Arc<str>>,
    expires_at: UnixTime,
}

impl ServiceToken {
    /// The token, for `Authorization: Bearer`.
    pub fn as_str(&self) -> &str {
        &self.access_token
    }

    /// The scope granted, when the IdP said (RFC 6749 §5.1).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// When it expires (Unix seconds, by this source's clock; with no `expires_in`, the assumed
    /// [`DEFAULT_LIFETIME`]), never after the subject token of an exchange.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceToken")
            .field("access_token", &"<redacted>")
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A cached token and when it stops being handed out.
#[derive(Debug, Clone)]
struct Cached {
    token: ServiceToken,
    refresh_at: UnixTime,
}

/// Evicts an entry from memory once its token has expired (handing it out stops earlier, at
/// `refresh_at`, by the source's clock).
struct UntilExpiry(Arc<dyn Clock>);

impl moka::Expiry<[u8; 32], Arc<Cached>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Cached>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let left = value.token.expires_at.saturating_sub(self.0.now()).max(0);
        Some(Duration::from_secs(left.unsigned_abs()))
    }
}

/// Fetches and caches this service's tokens. Cheap to clone (the clones share the cache); share
/// one per process.
#[derive(Clone)]
pub struct ServiceTokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    auth: ClientAuth,
    endpoint: TokenEndpoint,
    discovered: tokio::sync::OnceCell<String>,
    margin: Duration,
    clock: Arc<dyn Clock>,
    cache: Cache<[u8; 32], Arc<Cached>>,
    fetches: AtomicU64,
}

impl fmt::Debug for ServiceTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("ServiceTokenSource")
            .field("auth", &i.auth)
            .field("endpoint", &i.endpoint)
            .field("margin", &i.margin)
            .field("cached", &i.cache.entry_count())
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

/// Builds a [`ServiceTokenSource`]; see [`ServiceTokenSource::builder`].
#[derive(Debug)]
pub struct ServiceTokenSourceBuilder {
    auth: ClientAuth,
    endpoint: TokenEndpoint,
    http: Option<reqwest::Client>,
    margin: Duration,
    max_entries: u64,
    clock: Arc<dyn Clock>,
}

impl ServiceTokenSourceBuilder {
    /// The HTTP client to use (give it timeouts and no redirects); by default one like the
    /// verifier's: 2 s connect, 5 s total, no redirects.
    pub fn http(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Replace tokens this long before they expire (default [`DEFAULT_REFRESH_MARGIN`]); a token
    /// that lives less than twice the margin is reused for half its lifetime.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// At most this many tokens cached (default [`DEFAULT_MAX_ENTRIES`]).
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// The clock that decides expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source. Nothing is fetched until a token is asked for.
    pub fn build(self) -> Result<ServiceTokenSource, ServiceTokenError> {
        let (TokenEndpoint::Url(u) | TokenEndpoint::Discover { issuer: u }) = &self.endpoint;
        crate::fetch::check_url(u).map_err(ServiceTokenError::Config)?;
        let http = match self.http {
            Some(h) => h,
            None => crate::fetch::client(Duration::from_secs(2), Duration::from_secs(5))
                .map_err(ServiceTokenError::Config)?,
        };
        let cache = Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(UntilExpiry(self.clock.clone()))
            .build();
        Ok(ServiceTokenSource {
            inner: Arc::new(Inner {
                http,
                auth: self.auth,
                endpoint: self.endpoint,
                discovered: tokio::sync::OnceCell::new(),
                margin: self.margin,
                clock: self.clock,
                cache,
                fetches: AtomicU64::new(0),
            }),
        })
    }
}

/// How long a token that is valid for `lifetime` seconds is handed out: until `margin` before it
/// expires, or half its lifetime if that is shorter than the margin.
fn reuse_for(lifetime: i64, margin: Duration) -> i64 {
    let margin = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
    if lifetime > margin {
        lifetime - margin
    } else {
        lifetime.max(0) / 2
    }
}

impl ServiceTokenSource {
    /// A source authenticating as `auth` at `endpoint`.
    pub fn builder(auth: ClientAuth, endpoint: TokenEndpoint) -> ServiceTokenSourceBuilder {
        ServiceTokenSourceBuilder {
            auth,
            endpoint,
            http: None,
            margin: DEFAULT_REFRESH_MARGIN,
            max_entries: DEFAULT_MAX_ENTRIES,
            clock: Arc::new(SystemClock),
        }
    }

    /// How many token requests were sent to the token endpoint (for monitoring and tests).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// A token for `request`: the cached one while it is not due for refresh, else a new one (one
    /// request at a time per key: concurrent callers wait for it and share its answer). Failures
    /// are not cached.
    pub async fn token(
        &self,
        request: &TokenRequest<'_>,
    ) -> Result<ServiceToken, ServiceTokenError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        if let Grant::Exchange {
            subject_expires_at, ..
        } = request.grant
            && subject_expires_at <= now
        {
            return Err(ServiceTokenError::SubjectExpired);
        }
        let key = request.key();
        if let Some(c) = inner.cache.get(&key).await {
            if now < c.refresh_at {
                return Ok(c.token.clone());
            }
            self.forget(key, &c.token).await;
        }
        let fetched = inner
            .cache
            .try_get_with(key, async { self.fetch(request).await.map(Arc::new) })
            .await
            .map_err(|e| (*e).clone())?;
        Ok(fetched.token.clone())
    }

    /// Forgets `token` if it is the one cached for `request` (call it when the service it was sent
    /// to answered 401: the next [`ServiceTokenSource::token`] fetches a new one). A token that is
    /// no longer the cached one changes nothing, so a newer token fetched meanwhile stays.
    pub async fn invalidate(&self, request: &TokenRequest<'_>, token: &ServiceToken) {
        self.forget(request.key(), token).await;
    }

    async fn forget(&self, key: [u8; 32], token: &ServiceToken) {
        self.inner
            .cache
            .entry(key)
            .and_compute_with(|current| {
                let op = match current {
                    Some(e) if e.value().token == *token => Op::Remove,
                    _ => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
    }

    /// One request to the token endpoint.
    async fn fetch(&self, request: &TokenRequest<'_>) -> Result<Cached, ServiceTokenError> {
        let inner = &*self.inner;
        let endpoint = self.endpoint().await?;
        inner.fetches.fetch_add(1, Ordering::Relaxed);
        // Counted from before the request: the IdP's clock started no earlier.
        let now = inner.clock.now();
        let answer = request::send(&inner.http, &endpoint, &inner.auth, request).await?;
        let lifetime = answer
            .expires_in
            .unwrap_or(DEFAULT_LIFETIME.as_secs())
            .min(i64::MAX as u64 / 2);
        let mut expires_at = now.saturating_add(lifetime as i64);
        if let Grant::Exchange {
            subject_expires_at, ..
        } = request.grant
        {
            // Never past the subject token: the user's authorization ends there.
            expires_at = expires_at.min(subject_expires_at);
        }
        let refresh_at = now.saturating_add(reuse_for(expires_at - now, inner.margin));
        tracing::debug!(client_id = %inner.auth.client_id(), resource = %request.resource,
            exchange = matches!(request.grant, Grant::Exchange { .. }),
            expires_in = expires_at - now, "fetched a service token");
        Ok(Cached {
            token: ServiceToken {
                access_token: answer.access_token.into(),
                scope: answer.scope.map(Into::into),
                expires_at,
            },
            refresh_at,
        })
    }

    /// The token endpoint: configured, or discovered once.
    async fn endpoint(&self) -> Result<String, ServiceTokenError> {
        let inner = &*self.inner;
        match &inner.endpoint {
            TokenEndpoint::Url(u) => Ok(u.clone()),
            TokenEndpoint::Discover { issuer } => inner
                .discovered
                .get_or_try_init(|| request::discover(&inner.http, issuer))
                .await
                .cloned(),
        }
    }
}
