//! The key store of one trusted issuer: cached keys, background refresh, refetch on unknown `kid` with a
//! cooldown, one shared in-flight fetch, and bounded serving of stale keys while the IdP is down.
//!
//! Keys the issuer's revocation feed lists as revoked (`IssuerKeys::revoke_kids`) are dropped at
//! once and kept out of every later fetch while they are remembered, so a JWKS cached by an HTTP
//! cache (or a replica that has not reloaded yet) cannot bring them back. The revoked kids live in the
//! same immutable snapshot as the keys: checking one takes no lock beyond the snapshot read every
//! key lookup makes, and a poll that changes nothing only reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use auth_core::{Alg, Clock, UnixTime};

use crate::error::VerifyError;
use crate::fetch::{self, FetchError};
use crate::keys::{KeySet, VerifyingKey, parse_jwks};
use crate::metrics::SourceMetrics;

mod revoked;

/// Freshness and abuse limits of a key store. See [`crate::VerifierBuilder`] for the defaults.
#[derive(Debug, Clone)]
pub(crate) struct StorePolicy {
    /// Algorithms keys may be bound to.
    pub algorithms: Vec<Alg>,
    /// At most one refetch for unknown kids per this many seconds (also after a failed fetch).
    pub refetch_cooldown: i64,
    /// How long a kid still unknown after a refetch is remembered as unknown.
    pub unknown_kid_ttl: i64,
    /// Bounds on the cache lifetime taken from `Cache-Control: max-age`.
    pub min_ttl: i64,
    /// Upper bound, see `min_ttl`.
    pub max_ttl: i64,
    /// Lifetime when the response has no `max-age`.
    pub default_ttl: i64,
    /// How long past their lifetime keys keep being used while refreshes fail. Then: fail closed.
    pub max_stale: i64,
    /// Largest JWKS or discovery document accepted.
    pub max_document_bytes: usize,
}

/// Most unknown kids remembered at once; a flood beyond that clears the memory (the cooldown still
/// bounds fetches).
const MAX_REMEMBERED_UNKNOWN: usize = 4096;

#[derive(Debug, Default)]
struct Snapshot {
    keys: KeySet,
    /// Revoked kids (from the revocation feed) -> until when they are remembered. Replaced only
    /// under the write lock of `current`, so a fetch cannot reinstate a key being revoked.
    revoked: Arc<HashMap<String, UnixTime>>,
    /// When the keys were fetched (clock time), `None` before the first success.
    fetched_at: Option<UnixTime>,
    /// Until when they are fresh.
    fresh_until: UnixTime,
    /// Bumped by every successful fetch (to share one in-flight fetch).
    generation: u64,
}

#[derive(Debug, Default)]
struct RefetchState {
    last_refetch: Option<UnixTime>,
    unknown: HashMap<String, UnixTime>,
}

/// The keys of one trusted issuer (see [`crate::Verifier::issuer_keys`]): for monitoring and tests.
#[derive(Debug)]
pub struct IssuerKeys {
    issuer: String,
    configured_jwks_uri: Option<String>,
    /// What discovery said, once it was fetched.
    discovered: Mutex<Option<Discovered>>,
    /// The `ETag` of the JWKS the current keys came from, sent back as `If-None-Match`.
    jwks_etag: Mutex<Option<String>>,
    http: reqwest::Client,
    policy: Arc<StorePolicy>,
    clock: Arc<dyn Clock>,
    current: RwLock<Arc<Snapshot>>,
    fetch_lock: Arc<tokio::sync::Mutex<()>>,
    refetch: Mutex<RefetchState>,
    fetches: AtomicU64,
    /// `fresh_until + max_stale` of the current keys, readable without the lock (cache hits check it).
    usable_until: AtomicI64,
    /// Bumped whenever the set of kids changes: cached verifications made under another version are
    /// verified again, so a key removed from the JWKS stops being trusted at once.
    keyset_version: AtomicU64,
    /// Fetches, failures and the age of the keys, for the host's metrics recorder.
    metrics: SourceMetrics,
}

impl IssuerKeys {
    pub(crate) fn new(
        issuer: String,
        jwks_uri: Option<String>,
        http: reqwest::Client,
        policy: Arc<StorePolicy>,
        clock: Arc<dyn Clock>,
        metrics: SourceMetrics,
    ) -> Self {
        Self {
            issuer,
            configured_jwks_uri: jwks_uri,
            discovered: Mutex::new(None),
            jwks_etag: Mutex::new(None),
            http,
            policy,
            clock,
            current: RwLock::new(Arc::new(Snapshot::default())),
            fetch_lock: Arc::new(tokio::sync::Mutex::new(())),
            refetch: Mutex::new(RefetchState::default()),
            fetches: AtomicU64::new(0),
            usable_until: AtomicI64::new(i64::MIN),
            keyset_version: AtomicU64::new(0),
            metrics,
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The version of the set of kids (changes when a key appears or disappears).
    pub(crate) fn keyset_version(&self) -> u64 {
        self.keyset_version.load(Ordering::Acquire)
    }

    /// How many JWKS fetches were attempted (for monitoring and tests).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The kids currently held.
    pub fn kids(&self) -> Vec<String> {
        self.snapshot().keys.kids().map(str::to_owned).collect()
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The key for `kid`. On an unknown kid, refetches at most once per cooldown (shared between all
    /// concurrent callers); kids still unknown afterwards are remembered and refused without a fetch.
    ///
    /// The refetch runs in its own task holding the fetch lock: a caller that goes away (client
    /// disconnect, timeout) cannot cancel it and so cannot spend the cooldown for nothing.
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<VerifyingKey>, VerifyError> {
        let snap = self.snapshot();
        if snap.revoked.contains_key(kid) {
            return Err(VerifyError::KeyRevoked);
        }
        if let Some(key) = snap.keys.get(kid) {
            self.check_stale(&snap)?;
            return Ok(key.clone());
        }
        let now = self.clock.now();
        {
            let state = lock(&self.refetch);
            if state.unknown.get(kid).is_some_and(|until| *until > now) {
                return Err(VerifyError::UnknownKid);
            }
            if state
                .last_refetch
                .is_some_and(|t| now < t.saturating_add(self.policy.refetch_cooldown))
            {
                return Err(self.unknown_or_unavailable(&snap));
            }
        }
        let seen = snap.generation;
        let guard = self.fetch_lock.clone().lock_owned().await;
        // Someone else fetched while we waited: use their result.
        if self.snapshot().generation == seen {
            let allowed = {
                let mut state = lock(&self.refetch);
                let now = self.clock.now();
                let free = state
                    .last_refetch
                    .is_none_or(|t| now >= t.saturating_add(self.policy.refetch_cooldown));
                if free {
                    // The cooldown starts now, whatever the fetch's outcome.
                    state.last_refetch = Some(now);
                }
                free
            };
            if allowed {
                let store = Arc::clone(self);
                let fetch = tokio::spawn(async move {
                    let _guard = guard;
                    if let Err(e) = store.fetch_locked().await {
                        tracing::warn!(issuer = %store.issuer, error = %e, "JWKS refetch for an unknown kid failed");
                    }
                });
                let _ = fetch.await;
            }
        }
        let snap = self.snapshot();
        match snap.keys.get(kid) {
            Some(key) => {
                self.check_stale(&snap)?;
                Ok(key.clone())
            }
            None => {
                let now = self.clock.now();
                let mut state = lock(&self.refetch);
                if state.unknown.len() >= MAX_REMEMBERED_UNKNOWN {
                    state.unknown.retain(|_, until| *until > now);
                    if state.unknown.len() >= MAX_REMEMBERED_UNKNOWN {
                        state.unknown.clear();
                    }
                }
                // Remember the kid only if a fetch completed after it was missed: a failed or
                // skipped fetch proves nothing about it.
                if snap.generation != seen {
                    state.unknown.insert(
                        kid.to_owned(),
                        now.saturating_add(self.policy.unknown_kid_ttl),
                    );
                }
                Err(self.unknown_or_unavailable(&snap))
            }
        }
    }

    fn unknown_or_unavailable(&self, snap: &Snapshot) -> VerifyError {
        if snap.fetched_at.is_none() {
            VerifyError::KeysUnavailable
        } else {
            VerifyError::UnknownKid
        }
    }

    /// Fails closed once the keys are past their lifetime plus `max_stale` (used on cache hits too).
    /// `now` is the caller's reading of this store's clock, so a hit reads the clock once.
    pub(crate) fn ensure_not_stale(&self, now: UnixTime) -> Result<(), VerifyError> {
        if now > self.usable_until.load(Ordering::Acquire) {
            return Err(VerifyError::KeysStale);
        }
        Ok(())
    }

    /// Whether the background job would refresh now (80% of the keys' lifetime has passed, or there
    /// are no keys yet).
    pub fn refresh_due(&self) -> bool {
        let snap = self.snapshot();
        match snap.fetched_at {
            None => true,
            Some(at) => self.clock.now() >= at + (snap.fresh_until - at) * 4 / 5,
        }
    }

    fn check_stale(&self, snap: &Snapshot) -> Result<(), VerifyError> {
        if self.clock.now() > snap.fresh_until.saturating_add(self.policy.max_stale) {
            return Err(VerifyError::KeysStale);
        }
        Ok(())
    }

    /// Fetches the JWKS now (sharing a fetch already in flight). Keeps the current keys on failure.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let seen = self.snapshot().generation;
        let _guard = self.fetch_lock.lock().await;
        if self.snapshot().generation != seen {
            return Ok(()); // a concurrent fetch just completed
        }
        self.fetch_locked().await
    }

    async fn jwks_uri(&self) -> Result<String, FetchError> {
        if let Some(u) = &self.configured_jwks_uri {
            return Ok(u.clone());
        }
        Ok(self.discover().await?.jwks_uri)
    }

    /// The issuer's `revocation_feed_endpoint` from its discovery document (fetched now if it was
    /// not yet): the feed of an [`crate::IssuerConfig::auth_server`] issuer.
    pub(crate) async fn revocation_feed_endpoint(&self) -> Result<String, FetchError> {
        self.discover().await?.revocation_feed.ok_or_else(|| {
            FetchError::Invalid(format!(
                "the discovery document of {} lists no revocation_feed_endpoint",
                self.issuer
            ))
        })
    }

    /// The discovery document's URLs, fetched once (until a fetch succeeds, every call tries).
    async fn discover(&self) -> Result<Discovered, FetchError> {
        if let Some(d) = lock(&self.discovered).clone() {
            return Ok(d);
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let doc = fetch::get(&self.http, &url, self.policy.max_document_bytes).await?;
        let (jwks_uri, revocation_feed) = fetch::urls_from_discovery(&doc.body, &self.issuer)?;
        // Discovered URLs get the same rule as configured ones: https (http on loopback only).
        fetch::check_url(&jwks_uri).map_err(FetchError::Invalid)?;
        if let Some(feed) = &revocation_feed {
            fetch::check_url(feed).map_err(FetchError::Invalid)?;
        }
        let found = Discovered {
            jwks_uri,
            revocation_feed,
        };
        *lock(&self.discovered) = Some(found.clone());
        Ok(found)
    }

    /// Sets the age gauge from the time of the last successful fetch (see [`crate::metrics`]).
    pub(crate) fn update_age_gauge(&self) {
        let fetched_at = self.snapshot().fetched_at;
        self.metrics.set_age(fetched_at, self.clock.now());
    }

    /// Must be called with `fetch_lock` held.
    async fn fetch_locked(&self) -> Result<(), FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = self.fetch_and_swap().await;
        self.metrics.attempted(&outcome, self.clock.now());
        outcome
    }

    /// Fetches the JWKS (finding its URL first if needed) and makes it the current key set. With
    /// keys already held, asks with `If-None-Match`: a 304 keeps them and renews their lifetime from
    /// the 304's `Cache-Control` (RFC 9111 §4.3.4).
    async fn fetch_and_swap(&self) -> Result<(), FetchError> {
        let uri = self.jwks_uri().await?;
        let etag = match self.snapshot().fetched_at {
            Some(_) => lock(&self.jwks_etag).clone(),
            None => None,
        };
        let max_bytes = self.policy.max_document_bytes;
        let fetched =
            match fetch::get_if_none_match(&self.http, &uri, max_bytes, etag.as_deref()).await? {
                fetch::Conditional::Modified(fetched) => fetched,
                fetch::Conditional::NotModified { max_age } => {
                    self.renew(max_age);
                    return Ok(());
                }
            };
        let (keys, skipped) = parse_jwks(&fetched.body, &self.policy.algorithms)
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        for why in &skipped {
            tracing::warn!(issuer = %self.issuer, "skipping JWKS key: {why}");
        }
        *lock(&self.jwks_etag) = fetched.etag;
        let ttl = self.ttl(fetched.max_age);
        let now = self.clock.now();
        // Under the write lock, with the revoked kids read under it too: a revocation applied
        // meanwhile is either seen here or applied after this snapshot, never undone by it.
        let mut current = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let revoked = Arc::clone(&current.revoked);
        let keys = if revoked.is_empty() {
            keys
        } else {
            keys.without(|k| revoked.get(k).is_some_and(|until| *until > now))
        };
        let generation = current.generation + 1;
        // Cached verifications stay valid only under the same keys: the same kids *and* the same
        // material (an issuer that puts new material under an old kid has replaced the key).
        let keys_changed = !current.keys.same_keys(&keys);
        let snap = Arc::new(Snapshot {
            keys,
            revoked,
            fetched_at: Some(now),
            fresh_until: now.saturating_add(ttl),
            generation,
        });
        let usable_until = snap.fresh_until.saturating_add(self.policy.max_stale);
        *current = snap;
        self.usable_until.store(usable_until, Ordering::Release);
        if keys_changed {
            self.keyset_version.fetch_add(1, Ordering::AcqRel);
        }
        drop(current);
        // Kids remembered as unknown may exist now.
        lock(&self.refetch).unknown.clear();
        Ok(())
    }

    /// A lifetime from `max-age`, clamped to the policy's bounds.
    fn ttl(&self, max_age: Option<u64>) -> i64 {
        let p = &self.policy;
        max_age
            .map_or(p.default_ttl, |m| i64::try_from(m).unwrap_or(i64::MAX))
            .clamp(p.min_ttl, p.max_ttl)
    }

    /// A 304 for the keys held: the same keys, fetched now, fresh for the 304's lifetime. A completed
    /// fetch like any other (its generation moves), but the key set and its version stay.
    fn renew(&self, max_age: Option<u64>) {
        let ttl = self.ttl(max_age);
        let now = self.clock.now();
        let mut current = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let snap = Arc::new(Snapshot {
            keys: current.keys.clone(),
            revoked: Arc::clone(&current.revoked),
            fetched_at: Some(now),
            fresh_until: now.saturating_add(ttl),
            generation: current.generation + 1,
        });
        let usable_until = snap.fresh_until.saturating_add(self.policy.max_stale);
        *current = snap;
        self.usable_until.store(usable_until, Ordering::Release);
    }

    /// Seconds until the background job should refresh: at 80% of the keys' lifetime, or soon after a
    /// failure.
    fn next_refresh_in(&self) -> Duration {
        let snap = self.snapshot();
        let now = self.clock.now();
        let secs = match snap.fetched_at {
            None => self.policy.refetch_cooldown.min(30),
            Some(at) => {
                let lifetime = snap.fresh_until - at;
                let due = at + lifetime * 4 / 5;
                if due > now {
                    due - now
                } else {
                    self.policy.refetch_cooldown.min(30)
                }
            }
        };
        Duration::from_secs(u64::try_from(secs.max(1)).unwrap_or(1))
    }

    /// Starts the background refresher; it stops when the store is dropped.
    pub(crate) fn spawn_refresher(self: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(wait) = weak.upgrade().map(|s| s.next_refresh_in()) else {
                    return;
                };
                tokio::time::sleep(wait).await;
                let Some(store) = weak.upgrade() else { return };
                if let Err(e) = store.refresh().await {
                    let snap = store.snapshot();
                    let now = store.clock.now();
                    if now > snap.fresh_until.saturating_add(store.policy.max_stale) {
                        tracing::error!(issuer = %store.issuer, error = %e,
                            "JWKS refresh failed and the keys are past max_stale: failing closed");
                    } else {
                        tracing::warn!(issuer = %store.issuer, error = %e,
                            "JWKS refresh failed; still using the keys fetched earlier");
                    }
                }
            }
        });
    }
}

/// The URLs a discovery document gave.
#[derive(Debug, Clone)]
struct Discovered {
    jwks_uri: String,
    revocation_feed: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
