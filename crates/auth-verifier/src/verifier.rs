//! The verifier: trusted issuers, policy, the verified-token cache, revocations.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{Alg, Clock, SystemClock, UnixTime};

use crate::claims::{self, Claims};
use crate::error::{InitError, VerifyError};
use crate::feed::{Feed, Freshness};
use crate::fetch::{self, FetchError};
use crate::revocation::Revocations;
use crate::store::{IssuerKeys, StorePolicy};
use crate::token_cache::TokenCache;
use crate::validate;

/// Default leeway for `exp`, `nbf` and `iat`: small, but never zero (clocks drift; a zero leeway makes
/// fresh tokens fail at random on `iat`).
pub const DEFAULT_LEEWAY_SECS: i64 = 30;
/// Default size cap of a token, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The revocation feed of an auth-server issuer: `<issuer>/revocations`.
pub fn revocation_feed(issuer: &str) -> String {
    format!("{}/revocations", issuer.trim_end_matches('/'))
}

/// Verifies access tokens locally. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuers: HashMap<String, Arc<IssuerKeys>>,
    audience: String,
    leeway: i64,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    cache: Option<TokenCache>,
    revocations: Revocations,
    feeds: Vec<Feed>,
    /// Issuers whose tokens are refused while their feed is stale or incomplete (`None`, the
    /// default, costs nothing per request).
    feed_freshness: Option<HashMap<String, Arc<Freshness>>>,
    http: reqwest::Client,
}

/// One trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    issuer: String,
    jwks_uri: Option<String>,
    revocation_feed: Option<String>,
    revocations_max_age: Option<Duration>,
}

impl IssuerConfig {
    /// An issuer whose JWKS is found through OpenID Connect discovery.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_uri: None,
            revocation_feed: None,
            revocations_max_age: None,
        }
    }

    /// Fails closed on revocation: this issuer's tokens are refused
    /// ([`crate::VerifyError::RevocationsStale`]) while the last complete poll of its revocation
    /// feed is older than `max_age`, including before the first one and while the feed says it is
    /// incomplete. By default revocation fails open (an unreachable feed keeps what is known).
    /// Needs [`IssuerConfig::revocation_feed`]; `max_age` should be a few poll intervals.
    pub fn require_fresh_revocations(mut self, max_age: Duration) -> Self {
        self.revocations_max_age = Some(max_age);
        self
    }

    /// Polls this revocation feed in the background (auth-server serves it at
    /// `<issuer>/revocations`), so tokens revoked at the issuer are refused before their `exp`.
    pub fn revocation_feed(mut self, url: impl Into<String>) -> Self {
        self.revocation_feed = Some(url.into());
        self
    }

    /// Uses this JWKS URL instead of discovery.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }
}

/// Builds a [`Verifier`]. Every setting has a safe default except the issuers and the audience.
#[derive(Debug)]
pub struct VerifierBuilder {
    issuers: Vec<IssuerConfig>,
    audience: Option<String>,
    algorithms: Vec<Alg>,
    leeway: i64,
    max_token_bytes: usize,
    policy: StorePolicy,
    connect_timeout: Duration,
    total_timeout: Duration,
    cache_capacity: u64,
    clock: Arc<dyn Clock>,
    background_refresh: bool,
    revocation_poll: Duration,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            audience: None,
            algorithms: Alg::ALL.to_vec(),
            leeway: DEFAULT_LEEWAY_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            policy: StorePolicy {
                algorithms: Alg::ALL.to_vec(),
                refetch_cooldown: 30,
                unknown_kid_ttl: 300,
                min_ttl: 30,
                max_ttl: 86_400,
                default_ttl: 300,
                max_stale: 2 * 3600,
                max_document_bytes: 256 * 1024,
            },
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            cache_capacity: 10_000,
            clock: Arc::new(SystemClock),
            background_refresh: true,
            revocation_poll: Duration::from_secs(15),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl VerifierBuilder {
    /// Trusts an issuer (repeatable). Tokens are routed by their exact `iss`.
    pub fn issuer(mut self, issuer: IssuerConfig) -> Self {
        self.issuers.push(issuer);
        self
    }
    /// This service's audience: `aud` must contain it.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
    /// The algorithms accepted (default: ES256 and RS256).
    pub fn algorithms(mut self, algs: &[Alg]) -> Self {
        self.algorithms = algs.to_vec();
        self
    }
    /// Leeway for `exp`, `nbf`, `iat` (default 30 s).
    pub fn leeway(mut self, d: Duration) -> Self {
        self.leeway = secs(d);
        self
    }
    /// Token size cap (default 8 KiB).
    pub fn max_token_bytes(mut self, n: usize) -> Self {
        self.max_token_bytes = n;
        self
    }
    /// At most one refetch for unknown kids per this period (default 30 s).
    pub fn refetch_cooldown(mut self, d: Duration) -> Self {
        self.policy.refetch_cooldown = secs(d);
        self
    }
    /// How long a kid that stayed unknown after a refetch is refused without a fetch (default 5 min).
    pub fn unknown_kid_ttl(mut self, d: Duration) -> Self {
        self.policy.unknown_kid_ttl = secs(d);
        self
    }
    /// Bounds on the JWKS lifetime taken from `Cache-Control: max-age` (default 30 s .. 24 h), and
    /// the lifetime when there is none (default 5 min).
    pub fn key_ttl(mut self, min: Duration, default: Duration, max: Duration) -> Self {
        self.policy.min_ttl = secs(min);
        self.policy.default_ttl = secs(default);
        self.policy.max_ttl = secs(max);
        self
    }
    /// How long keys past their lifetime stay in use while the IdP is unreachable (default 2 h).
    /// After that, verification fails closed until a refresh succeeds.
    pub fn max_stale(mut self, d: Duration) -> Self {
        self.policy.max_stale = secs(d);
        self
    }
    /// Connect and total timeouts of JWKS fetches (default 2 s and 5 s).
    pub fn http_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.connect_timeout = connect;
        self.total_timeout = total;
        self
    }
    /// Size of the verified-token cache (default 10,000 entries; 0 disables it).
    pub fn token_cache(mut self, capacity: u64) -> Self {
        self.cache_capacity = capacity;
        self
    }
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Whether to refresh keys in the background (default true; tests turn it off and call
    /// [`Verifier::refresh`]).
    pub fn background_refresh(mut self, on: bool) -> Self {
        self.background_refresh = on;
        self
    }

    /// How often the issuers' revocation feeds are polled (default 15 s): how long a token revoked
    /// at the IdP may still be accepted here.
    pub fn revocation_poll(mut self, every: Duration) -> Self {
        self.revocation_poll = every.max(Duration::from_secs(1));
        self
    }

    /// Builds the verifier and fetches every issuer's keys once. A failed first fetch is not an
    /// error (the IdP may be starting too): it is logged and retried in the background, and tokens
    /// are refused with [`VerifyError::KeysUnavailable`] until keys arrive.
    pub async fn build(mut self) -> Result<Verifier, InitError> {
        let audience = self
            .audience
            .ok_or_else(|| InitError::Config("an audience is required".into()))?;
        if self.issuers.is_empty() {
            return Err(InitError::Config("at least one issuer is required".into()));
        }
        if self.algorithms.is_empty() {
            return Err(InitError::Config(
                "at least one algorithm is required".into(),
            ));
        }
        if self.policy.min_ttl > self.policy.max_ttl || self.leeway < 0 || self.leeway > 300 {
            return Err(InitError::Config(
                "inconsistent key TTL bounds or leeway".into(),
            ));
        }
        self.policy.algorithms = self.algorithms.clone();
        let http =
            fetch::client(self.connect_timeout, self.total_timeout).map_err(InitError::Http)?;
        let policy = Arc::new(self.policy);
        let mut issuers = HashMap::new();
        let mut feeds = Vec::new();
        let mut freshness = HashMap::new();
        for i in self.issuers {
            fetch::check_url(&i.issuer).map_err(InitError::Config)?;
            if let Some(u) = &i.jwks_uri {
                fetch::check_url(u).map_err(InitError::Config)?;
            }
            if i.revocations_max_age.is_some() && i.revocation_feed.is_none() {
                return Err(InitError::Config(
                    "require_fresh_revocations needs a revocation_feed".into(),
                ));
            }
            if let Some(url) = i.revocation_feed {
                fetch::check_url(&url).map_err(InitError::Config)?;
                let fresh = i
                    .revocations_max_age
                    .map(|m| Arc::new(Freshness::new(secs(m))));
                if let Some(f) = &fresh {
                    freshness.insert(i.issuer.clone(), f.clone());
                }
                feeds.push(Feed {
                    issuer: i.issuer.clone(),
                    url,
                    freshness: fresh,
                });
            }
            let store = Arc::new(IssuerKeys::new(
                i.issuer.clone(),
                i.jwks_uri,
                http.clone(),
                policy.clone(),
                self.clock.clone(),
            ));
            issuers.insert(i.issuer, store);
        }
        for store in issuers.values() {
            if let Err(e) = store.refresh().await {
                tracing::warn!(issuer = %store.issuer(), error = %e, "initial JWKS fetch failed; retrying in the background");
            }
            if self.background_refresh {
                store.spawn_refresher();
            }
        }
        let cache = (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity));
        let verifier = Verifier {
            inner: Arc::new(Inner {
                issuers,
                audience,
                leeway: self.leeway,
                max_token_bytes: self.max_token_bytes,
                clock: self.clock,
                cache,
                revocations: Revocations::default(),
                feeds,
                feed_freshness: (!freshness.is_empty()).then_some(freshness),
                http,
            }),
        };
        if !verifier.inner.feeds.is_empty() {
            // A failure is logged inside and retried at the next poll, like the keys.
            let _ = verifier.refresh_revocations().await;
            if self.background_refresh {
                verifier.spawn_revocation_poller(self.revocation_poll);
            }
        }
        Ok(verifier)
    }
}

impl Verifier {
    /// A builder with safe defaults.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// The audience this verifier requires.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The key store of a trusted issuer (for monitoring and tests).
    pub fn issuer_keys(&self, issuer: &str) -> Option<&Arc<IssuerKeys>> {
        self.inner.issuers.get(issuer)
    }

    /// Refreshes every issuer's keys now.
    pub async fn refresh(&self) {
        for store in self.inner.issuers.values() {
            if let Err(e) = store.refresh().await {
                tracing::warn!(issuer = %store.issuer(), error = %e, "JWKS refresh failed");
            }
        }
    }

    /// Verifies an access token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Arc<Claims>, VerifyError> {
        if let Some(answer) = self.verify_cached(token.as_bytes()) {
            return answer;
        }
        self.verify_in_full(token).await
    }

    /// The answer for a token this verifier has verified before, with no I/O and no signature check:
    /// `Some` on a cache hit (re-checked against time, key staleness and revocations, which may have
    /// changed since), `None` when the token must go through [`Verifier::verify`].
    ///
    /// It takes the token's bytes as received: only the exact bytes of a token verified before are
    /// a hit, so a caller may look them up before checking their syntax. This is the hot path of
    /// [`crate::axum::RequireBearer`], which answers a hit without boxing a future.
    pub fn verify_cached(&self, token: &[u8]) -> Option<Result<Arc<Claims>, VerifyError>> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_bytes {
            return Some(Err(VerifyError::TooLarge(inner.max_token_bytes)));
        }
        let (hit, version) = inner.cache.as_ref()?.get(token)?;
        let store = inner.issuers.get(&hit.iss)?;
        // Verified under another key set (a key may have left the JWKS): verify again in full.
        if store.keyset_version() != version {
            return None;
        }
        let now = inner.clock.now();
        let answer = self
            .check_time(&hit, now)
            .and_then(|()| store.ensure_not_stale(now))
            .and_then(|()| self.check_feed_fresh(&hit.iss, now))
            .and_then(|()| match inner.revocations.is_revoked(&hit) {
                true => Err(VerifyError::Revoked),
                false => Ok(hit),
            });
        Some(answer)
    }

    /// Verifies a token that [`Verifier::verify_cached`] did not find: signature and every claim,
    /// fetching keys if needed, then caches the result.
    pub(crate) async fn verify_in_full(&self, token: &str) -> Result<Arc<Claims>, VerifyError> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_bytes {
            return Err(VerifyError::TooLarge(inner.max_token_bytes));
        }
        let now = inner.clock.now();
        let parts = validate::split(token)?;
        let kid = validate::check_header(&parts.header)?;
        let claims = claims::parse(&parts.payload)?;
        // Route by the exact issuer; an unknown one is refused without any fetch.
        let store = inner
            .issuers
            .get(&claims.iss)
            .ok_or(VerifyError::UntrustedIssuer)?;
        // Before any key fetch or signature check: while the feed is stale nothing gets through.
        self.check_feed_fresh(&claims.iss, now)?;
        let version = store.keyset_version();
        let key = store.key(kid).await?;
        validate::check_signature(&parts, &key)?;
        self.check_time(&claims, now)?;
        if !claims.aud.contains(&inner.audience) {
            return Err(VerifyError::WrongAudience);
        }
        if inner.revocations.is_revoked(&claims) {
            return Err(VerifyError::Revoked);
        }
        let claims = Arc::new(claims);
        if let Some(cache) = &inner.cache {
            cache.insert(token.as_bytes(), (claims.clone(), version), now);
        }
        Ok(claims)
    }

    /// For an issuer configured with [`IssuerConfig::require_fresh_revocations`]: its feed must
    /// have been polled completely within the configured age.
    fn check_feed_fresh(&self, iss: &str, now: UnixTime) -> Result<(), VerifyError> {
        match self.inner.feed_freshness.as_ref().and_then(|m| m.get(iss)) {
            Some(f) if !f.is_fresh(now) => Err(VerifyError::RevocationsStale),
            _ => Ok(()),
        }
    }

    fn check_time(&self, c: &Claims, now: UnixTime) -> Result<(), VerifyError> {
        let leeway = self.inner.leeway;
        // Saturating: the claims are attacker-controlled numbers (i64::MAX must not overflow).
        if now >= c.exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        let latest = now.saturating_add(leeway);
        if c.nbf.is_some_and(|nbf| nbf > latest) || c.iat.is_some_and(|iat| iat > latest) {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }

    /// Revokes one token by `jti` until `exp` (cached verifications included).
    pub fn revoke_jti(&self, jti: &str, exp: UnixTime) {
        let now = self.inner.clock.now();
        self.inner
            .revocations
            .revoke_jti(jti, exp.saturating_add(self.inner.leeway), now);
        self.inner.revocations.prune(now);
    }

    /// Revokes every token of `sub` issued before `before` (logout everywhere, password change).
    pub fn revoke_subject_before(&self, sub: &str, before: UnixTime) {
        let now = self.inner.clock.now();
        self.inner
            .revocations
            .revoke_subjects_before(std::iter::once((sub, before)), now);
    }

    /// Polls every issuer's revocation feed now. Entries from earlier polls stay until their token
    /// expires, whatever this poll brings. Keys the feed lists as revoked stop being trusted at
    /// once (cached verifications included). Returns the first failure (all feeds are polled).
    pub async fn refresh_revocations(&self) -> Result<(), FetchError> {
        let inner = &*self.inner;
        let mut outcome = Ok(());
        for feed in &inner.feeds {
            let now = inner.clock.now();
            match feed
                .poll(&inner.http, &inner.revocations, inner.leeway, now)
                .await
            {
                Ok((n, kids)) => {
                    if let Some(store) = inner.issuers.get(&feed.issuer) {
                        store.revoke_kids(&kids, now);
                    }
                    tracing::debug!(issuer = %feed.issuer, revoked = n, revoked_keys = kids.len(),
                        "revocation feed polled")
                }
                Err(e) => {
                    tracing::warn!(issuer = %feed.issuer, error = %e,
                        "revocation feed poll failed; keeping the revocations already known");
                    if outcome.is_ok() {
                        outcome = Err(e);
                    }
                }
            }
        }
        inner.revocations.prune(inner.clock.now());
        outcome
    }

    /// Polls the feeds every `every` until the verifier is dropped.
    fn spawn_revocation_poller(&self, every: Duration) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                let _ = Verifier { inner }.refresh_revocations().await;
            }
        });
    }

    /// Empties the verified-token cache.
    pub fn purge_cache(&self) {
        if let Some(c) = &self.inner.cache {
            c.clear();
        }
    }
}
