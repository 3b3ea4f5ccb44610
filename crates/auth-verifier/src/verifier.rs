//! The verifier: trusted issuers, the policy, the verified-token cache, revocations.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{Clock, UnixTime};

use crate::builder::{IssuerConfig, VerifierBuilder};
use crate::claims::{self, Claims};
use crate::error::{InitError, VerifyError};
use crate::feed::{Feed, Freshness};
use crate::fetch::FetchError;
use crate::metrics::VerifierMetrics;
use crate::policy::Policy;
use crate::revocation::Revocations;
use crate::store::IssuerKeys;
use crate::token_cache::TokenCache;
use crate::typed::{Custom, Parser};
use crate::validate;
use crate::verifier_dpop::{DpopState, bearer_only};

/// Verified claims and the typed claims parsed with them, if any.
pub(crate) type Hit = (Arc<Claims>, Option<Custom>);

/// Verifies access tokens locally. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

/// What a [`Verifier`] shares between its clones; put together by [`VerifierBuilder::build`].
#[derive(Debug)]
pub(crate) struct Inner {
    /// Looked up on every verification, cache hits included: a fast seeded hash, not SipHash
    /// (the keys are the configured issuers, not attacker-chosen).
    pub(crate) issuers: HashMap<String, Arc<IssuerKeys>, foldhash::fast::RandomState>,
    pub(crate) policy: Policy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: Option<TokenCache>,
    pub(crate) revocations: Revocations,
    pub(crate) feeds: Vec<Feed>,
    /// Issuers whose tokens are refused while their feed is stale or incomplete (`None`, the
    /// default, costs nothing per request).
    pub(crate) feed_freshness: Option<HashMap<String, Arc<Freshness>>>,
    pub(crate) http: reqwest::Client,
    pub(crate) metrics: VerifierMetrics,
    /// DPoP: the external URL, the proof window, the replay and key caches.
    pub(crate) dpop: DpopState,
}

impl Verifier {
    /// A builder for a verifier that accepts what `policy` accepts, with safe defaults for the
    /// rest.
    pub fn builder(policy: Policy) -> VerifierBuilder {
        VerifierBuilder::new(policy)
    }

    /// A verifier under `policy` trusting one auth-server issuer ([`IssuerConfig::auth_server`]: its
    /// keys through discovery, its revocation feed polled), with the defaults for everything else:
    /// what a resource service of this IdP needs.
    pub async fn auth_server(issuer: &str, policy: Policy) -> Result<Verifier, InitError> {
        let trusted = IssuerConfig::auth_server(issuer);
        Self::builder(policy).issuer(trusted).build().await
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Polls the revocation feeds once, then (with `Some(every)`) every `every` in the background.
    pub(crate) async fn start_revocations(&self, every: Option<Duration>) {
        if self.inner.feeds.is_empty() {
            return;
        }
        // A failure is logged inside and retried at the next poll, like the keys.
        let _ = self.refresh_revocations().await;
        if let Some(every) = every {
            self.spawn_revocation_poller(every);
        }
    }

    /// The time now, by this verifier's clock.
    pub(crate) fn now(&self) -> auth_core::UnixTime {
        self.inner.clock.now()
    }

    /// The validation policy.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The audience this verifier requires.
    pub fn audience(&self) -> &str {
        &self.inner.policy.audience
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

    /// Verifies an access token presented as a bearer token and returns its claims. A DPoP-bound
    /// token (`cnf.jkt`) is refused with [`VerifyError::DpopBound`] (RFC 9449 §7.2): use
    /// [`Verifier::verify_dpop`] with its proof.
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
    ///
    /// Counted in the metrics: a hit as a cache hit and a verification, a miss as a cache miss.
    pub(crate) fn verify_cached(&self, token: &[u8]) -> Option<Result<Arc<Claims>, VerifyError>> {
        let answer = self.cache_lookup(token)?.and_then(bearer_only);
        self.inner.metrics.verified(&answer);
        Some(answer)
    }

    /// [`Verifier::verify_cached`] before counting the verification.
    pub(crate) fn cache_lookup(&self, token: &[u8]) -> Option<Result<Arc<Claims>, VerifyError>> {
        Some(
            self.cache_lookup_entry(token, false)?
                .map(|(claims, _)| claims),
        )
    }

    /// [`Verifier::cache_lookup`] with the typed claims cached with the token, if any and if
    /// `custom` (`false` leaves them out: an untyped hit does not touch them).
    #[inline]
    pub(crate) fn cache_lookup_entry(
        &self,
        token: &[u8],
        custom: bool,
    ) -> Option<Result<Hit, VerifyError>> {
        let inner = &*self.inner;
        let policy = &inner.policy;
        if token.len() > policy.max_token_bytes {
            return Some(Err(VerifyError::TooLarge(policy.max_token_bytes)));
        }
        let cache = inner.cache.as_ref()?;
        let Some((hit, version, custom)) = cache.get_with(token, custom) else {
            inner.metrics.cache_miss();
            return None;
        };
        // Verified under another key set (a key may have left the JWKS): verify again in full.
        let store = inner.issuers.get(&hit.iss);
        let Some(store) = store.filter(|s| s.keyset_version() == version) else {
            inner.metrics.cache_miss();
            return None;
        };
        inner.metrics.cache_hit();
        let now = inner.clock.now();
        let answer = policy
            .check_time(&hit, now)
            .and_then(|()| store.ensure_not_stale(now))
            .and_then(|()| self.check_feed_fresh(&hit.iss, now))
            .and_then(|()| match inner.revocations.is_revoked(&hit) {
                true => Err(VerifyError::Revoked),
                false => Ok((hit, custom)),
            });
        Some(answer)
    }

    /// Verifies a token that [`Verifier::verify_cached`] did not find: signature and every claim,
    /// fetching keys if needed, then caches the result (a bound token too, for the `DPoP` scheme)
    /// and answers as [`Verifier::verify`] does. Counted in the metrics.
    pub(crate) async fn verify_in_full(&self, token: &str) -> Result<Arc<Claims>, VerifyError> {
        let answer = self.verify_uncached(token).await.and_then(bearer_only);
        self.inner.metrics.verified(&answer);
        answer
    }

    /// Counts a token refused before [`Verifier::verify_in_full`] (by the axum layer's syntax
    /// check) as a verification.
    pub(crate) fn count_refused(&self, error: &VerifyError) {
        self.inner.metrics.rejected(error);
    }

    /// Sets the age gauges (seconds since each issuer's last successful JWKS fetch and feed poll)
    /// from the stored times and the clock: call it just before rendering metrics, so that the
    /// ages are true when scraped (see [`crate::metrics`]).
    pub fn update_age_gauges(&self) {
        let inner = &*self.inner;
        for store in inner.issuers.values() {
            store.update_age_gauge();
        }
        let now = inner.clock.now();
        for feed in &inner.feeds {
            feed.update_age_gauge(now);
        }
    }

    pub(crate) async fn verify_uncached(&self, token: &str) -> Result<Arc<Claims>, VerifyError> {
        let answer = self.verify_uncached_with(token, None).await;
        answer.map(|(claims, _)| claims)
    }

    /// Verifies `token` in full and caches it, with its typed claims parsed by `custom` (once per
    /// token: cache hits reuse them).
    pub(crate) async fn verify_uncached_with(
        &self,
        token: &str,
        custom: Option<Parser>,
    ) -> Result<Hit, VerifyError> {
        let inner = &*self.inner;
        let policy = &inner.policy;
        if token.len() > policy.max_token_bytes {
            return Err(VerifyError::TooLarge(policy.max_token_bytes));
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
        policy.check_time(&claims, now)?;
        policy.check_claims(&claims)?;
        if inner.revocations.is_revoked(&claims) {
            return Err(VerifyError::Revoked);
        }
        let custom = custom.map(|parse| parse(&claims)).transpose()?;
        let claims = Arc::new(claims);
        if let Some(cache) = &inner.cache {
            let entry = (claims.clone(), version, custom.clone());
            cache.insert(token.as_bytes(), entry, now);
        }
        Ok((claims, custom))
    }

    /// Under [`Policy::require_fresh_revocations`]: the issuer's feed must
    /// have been polled completely within the configured age.
    fn check_feed_fresh(&self, iss: &str, now: UnixTime) -> Result<(), VerifyError> {
        match self.inner.feed_freshness.as_ref().and_then(|m| m.get(iss)) {
            Some(f) if !f.is_fresh(now) => Err(VerifyError::RevocationsStale),
            _ => Ok(()),
        }
    }

    /// Revokes one token by `jti` until `exp` (cached verifications included).
    pub fn revoke_jti(&self, jti: &str, exp: UnixTime) {
        let now = self.inner.clock.now();
        self.inner
            .revocations
            .revoke_jti(jti, exp.saturating_add(self.inner.policy.leeway), now);
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
            let keys = inner.issuers.get(&feed.issuer).map(|k| &**k);
            match feed
                .poll(
                    &inner.http,
                    keys,
                    &inner.revocations,
                    inner.policy.leeway,
                    now,
                )
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
