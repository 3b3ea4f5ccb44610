//! Building a [`Verifier`]: the trusted issuers ([`IssuerConfig`]), the validation [`Policy`], and
//! the key store's operational settings (fetch timeouts, key lifetimes, cache size, clock).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use auth_core::{Clock, SystemClock};

use crate::error::InitError;
use crate::feed::{Feed, FeedUrl, Freshness};
use crate::fetch;
use crate::metrics::{FeedAnswers, RecorderRef, SourceMetrics, VerifierMetrics, registered};
use crate::policy::{Policy, secs};
use crate::revocation::Revocations;
use crate::store::{IssuerKeys, StorePolicy};
use crate::token_cache::TokenCache;
use crate::verifier::{Inner, Verifier};
use crate::verifier_dpop::{DEFAULT_REPLAY_CAPACITY, DpopState};

/// Where auth-server serves its revocation feed: `<issuer>/revocations` (what its discovery
/// document lists as `revocation_feed_endpoint`, which [`IssuerConfig::auth_server`] reads).
pub fn revocation_feed(issuer: &str) -> String {
    format!("{}/revocations", issuer.trim_end_matches('/'))
}

/// One trusted issuer: where its keys and its revocation feed are.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    issuer: String,
    jwks_uri: Option<String>,
    revocation_feed: Option<FeedUrl>,
}

impl IssuerConfig {
    /// An issuer whose JWKS is found through OpenID Connect discovery.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_uri: None,
            revocation_feed: None,
        }
    }

    /// An auth-server issuer: its JWKS and its revocation feed through discovery (`jwks_uri` and
    /// `revocation_feed_endpoint`). Until the discovery document is fetched (the IdP may start
    /// after the service), polls fail and are retried; a document without
    /// `revocation_feed_endpoint` makes every poll fail with a clear error. An explicit
    /// [`IssuerConfig::revocation_feed`] wins.
    pub fn auth_server(issuer: &str) -> Self {
        let mut config = Self::new(issuer);
        config.revocation_feed = Some(FeedUrl::Discovered);
        config
    }

    /// Polls this revocation feed in the background (auth-server serves it at
    /// `<issuer>/revocations`), so tokens revoked at the issuer are refused before their `exp`.
    pub fn revocation_feed(mut self, url: impl Into<String>) -> Self {
        self.revocation_feed = Some(FeedUrl::Configured(url.into()));
        self
    }

    /// Uses this JWKS URL instead of discovery.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }
}

/// Builds a [`Verifier`] for one [`Policy`]. Every setting has a safe default except the issuers.
#[derive(Debug)]
pub struct VerifierBuilder {
    policy: Policy,
    issuers: Vec<IssuerConfig>,
    keys: StorePolicy,
    connect_timeout: Duration,
    total_timeout: Duration,
    cache_capacity: u64,
    clock: Arc<dyn Clock>,
    background_refresh: bool,
    revocation_poll: Duration,
    recorder: Option<RecorderRef>,
    external_url: Option<String>,
    dpop_window: (i64, i64),
    dpop_replay_capacity: usize,
}

impl VerifierBuilder {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            keys: StorePolicy {
                algorithms: policy.algorithms.clone(),
                refetch_cooldown: 30,
                unknown_kid_ttl: 300,
                min_ttl: 30,
                max_ttl: 86_400,
                default_ttl: 300,
                max_stale: 2 * 3600,
                max_document_bytes: 256 * 1024,
            },
            policy,
            issuers: Vec::new(),
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            cache_capacity: 10_000,
            clock: Arc::new(SystemClock),
            background_refresh: true,
            revocation_poll: Duration::from_secs(15),
            recorder: None,
            external_url: None,
            dpop_window: (
                crate::dpop::DEFAULT_PROOF_MAX_AGE_SECS,
                crate::dpop::DEFAULT_PROOF_LEEWAY_SECS,
            ),
            dpop_replay_capacity: DEFAULT_REPLAY_CAPACITY,
        }
    }

    /// Trusts an issuer (repeatable). Tokens are routed by their exact `iss`.
    pub fn issuer(mut self, issuer: IssuerConfig) -> Self {
        self.issuers.push(issuer);
        self
    }
    /// At most one refetch for unknown kids per this period (default 30 s).
    pub fn refetch_cooldown(mut self, d: Duration) -> Self {
        self.keys.refetch_cooldown = secs(d);
        self
    }
    /// How long a kid that stayed unknown after a refetch is refused without a fetch (default 5 min).
    pub fn unknown_kid_ttl(mut self, d: Duration) -> Self {
        self.keys.unknown_kid_ttl = secs(d);
        self
    }
    /// Bounds on the JWKS lifetime taken from `Cache-Control: max-age` (default 30 s .. 24 h), and
    /// the lifetime when there is none (default 5 min).
    pub fn key_ttl(mut self, min: Duration, default: Duration, max: Duration) -> Self {
        self.keys.min_ttl = secs(min);
        self.keys.default_ttl = secs(default);
        self.keys.max_ttl = secs(max);
        self
    }
    /// How long keys past their lifetime stay in use while the IdP is unreachable (default 2 h).
    /// After that, verification fails closed until a refresh succeeds.
    pub fn max_stale(mut self, d: Duration) -> Self {
        self.keys.max_stale = secs(d);
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

    /// Records this verifier's metrics into `recorder` instead of the global one (the default: the
    /// recorder installed with `metrics::set_global_recorder` before [`VerifierBuilder::build`],
    /// if any). For a host that keeps one registry per component, and for tests. The metrics are
    /// listed in the crate's README section; the host calls [`Verifier::update_age_gauges`] before
    /// rendering them.
    pub fn metrics_recorder(mut self, recorder: Arc<dyn metrics::Recorder + Send + Sync>) -> Self {
        self.recorder = Some(RecorderRef(recorder));
        self
    }

    /// The URL clients use to reach this service (`https://orders.example.com`, or with a path
    /// prefix a proxy strips), whatever proxies sit in front of it: the axum layer checks a DPoP
    /// proof's `htu` (RFC 9449 §4.3) against this followed by the request's path, never against
    /// the `Host` header. Without it the layer refuses the `DPoP` scheme (bearer tokens still work).
    pub fn external_url(mut self, url: impl Into<String>) -> Self {
        self.external_url = Some(url.into());
        self
    }

    /// How old a DPoP proof may be and the clock skew allowed on its `iat` (default 60 s and 5 s):
    /// a proof's `jti` is remembered for their sum.
    pub fn dpop_proof_window(mut self, max_age: Duration, leeway: Duration) -> Self {
        self.dpop_window = (secs(max_age), secs(leeway));
        self
    }

    /// How many live DPoP proof `jti`s the replay cache holds (default 200,000). When it is full
    /// of unexpired entries, new proofs are refused until some expire (never evicted: that would
    /// allow a replay).
    pub fn dpop_replay_capacity(mut self, n: usize) -> Self {
        self.dpop_replay_capacity = n;
        self
    }

    /// Builds the verifier and fetches every issuer's keys once. A failed first fetch is not an
    /// error (the IdP may be starting too): it is logged and retried in the background, and tokens
    /// are refused with [`crate::VerifyError::KeysUnavailable`] until keys arrive.
    pub async fn build(mut self) -> Result<Verifier, InitError> {
        self.policy.validate()?;
        if self.issuers.is_empty() {
            return Err(InitError::Config("at least one issuer is required".into()));
        }
        if self.keys.min_ttl > self.keys.max_ttl {
            return Err(InitError::Config("inconsistent key TTL bounds".into()));
        }
        self.keys.algorithms = self.policy.algorithms.clone();
        let external_url = match self.external_url.take() {
            Some(url) => Some(check_external_url(&url).map_err(InitError::Config)?),
            None => None,
        };
        let (max_age, leeway) = self.dpop_window;
        if !(1..=3600).contains(&max_age) || !(0..=300).contains(&leeway) {
            return Err(InitError::Config(
                "the DPoP proof window must be 1 s to 1 h, its leeway at most 5 min".into(),
            ));
        }
        let http =
            fetch::client(self.connect_timeout, self.total_timeout).map_err(InitError::Http)?;
        let keys = Arc::new(self.keys);
        let recorder = self.recorder.as_ref();
        let audience = self.policy.audience.as_str();
        let mut issuers = HashMap::default();
        let mut feeds = Vec::new();
        let mut freshness = HashMap::new();
        for i in self.issuers {
            fetch::check_url(&i.issuer).map_err(InitError::Config)?;
            if let Some(u) = &i.jwks_uri {
                fetch::check_url(u).map_err(InitError::Config)?;
            }
            if self.policy.fresh_revocations.is_some() && i.revocation_feed.is_none() {
                return Err(InitError::Config(
                    "require_fresh_revocations needs every issuer's revocation_feed".into(),
                ));
            }
            if let Some(url) = i.revocation_feed {
                if let FeedUrl::Configured(url) = &url {
                    fetch::check_url(url).map_err(InitError::Config)?;
                }
                let fresh = self.policy.fresh_revocations.map(Freshness::new);
                let fresh = fresh.map(Arc::new);
                if let Some(f) = &fresh {
                    freshness.insert(i.issuer.clone(), f.clone());
                }
                feeds.push(Feed {
                    issuer: i.issuer.clone(),
                    url,
                    freshness: fresh,
                    metrics: registered(recorder, || SourceMetrics::feed(audience, &i.issuer)),
                    answers: registered(recorder, || FeedAnswers::register(audience, &i.issuer)),
                    last_success: AtomicI64::new(i64::MIN),
                    state: Default::default(),
                });
            }
            let store = IssuerKeys::new(
                i.issuer.clone(),
                i.jwks_uri,
                http.clone(),
                keys.clone(),
                self.clock.clone(),
                registered(recorder, || SourceMetrics::jwks(audience, &i.issuer)),
            );
            issuers.insert(i.issuer, Arc::new(store));
        }
        let metrics = registered(recorder, || VerifierMetrics::register(audience));
        for store in issuers.values() {
            if let Err(e) = store.refresh().await {
                tracing::warn!(issuer = %store.issuer(), error = %e, "initial JWKS fetch failed; retrying in the background");
            }
            if self.background_refresh {
                store.spawn_refresher();
            }
        }
        let verifier = Verifier::from_inner(Inner {
            issuers,
            policy: self.policy,
            clock: self.clock,
            cache: (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity)),
            revocations: Revocations::default(),
            feeds,
            feed_freshness: (!freshness.is_empty()).then_some(freshness),
            http,
            metrics,
            dpop: DpopState::new(external_url, self.dpop_window, self.dpop_replay_capacity),
        });
        verifier
            .start_revocations(self.background_refresh.then_some(self.revocation_poll))
            .await;
        Ok(verifier)
    }
}

/// An external URL: absolute `http`/`https`, no user information, query or fragment; returned
/// normalized (RFC 3986 §6.2.2, §6.2.3) without a trailing `/`.
fn check_external_url(url: &str) -> Result<String, String> {
    let bad = || format!("the external URL {url:?} must be an absolute http(s) URL without query");
    if url.contains(['?', '#']) {
        return Err(bad());
    }
    let normalized = crate::dpop::normalize_htu(url).ok_or_else(bad)?;
    Ok(normalized.trim_end_matches('/').to_owned())
}
