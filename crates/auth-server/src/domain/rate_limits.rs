//! Per-client rate limits at the token, introspection and revocation endpoints, and a per-address
//! limit on failed client authentication, with [`governor`]'s GCRA driven by the injected
//! [`Clock`] (so tests move time instead of sleeping).
//!
//! - **Where.** A client is limited *after* it authenticated: the limit is its own
//!   ([`Client::rate_limit`]) or the configured default, and a request that fails authentication
//!   never spends a client's budget (so nobody can exhaust a partner's limit by naming its id).
//!   Failed authentications are limited per source address instead: past the limit the address is
//!   answered 429 *before* any lookup until its next attempt is due, which bounds a flood of
//!   made-up client ids or guessed secrets from one address. An IPv6 address counts by its /64.
//! - **Replicas.** Each replica keeps its limiters in memory (no database round trip on the token
//!   path) and enforces `1/replicas` of every limit, rate and burst (burst rounded up). Behind a
//!   load balancer that spreads a client's requests evenly, N replicas admit about the limit in
//!   total; behind one that pins a client to one replica, that client gets `1/N` of it; if the
//!   setting is left at 1 with N replicas, up to N times the limit. The clock has a 1-second
//!   resolution: in any real interval of T seconds a limiter admits at most `burst + rate * (T + 1)`.
//! - **Memory.** Limiters live in bounded caches (100 000 clients, 100 000 addresses, idle ones
//!   dropped after an hour; a dropped limiter starts again full, as a long-idle one would be).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use auth_core::Clock;
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use moka::future::Cache;

use crate::domain::clients::{Client, RateLimit};

/// Most limiters kept per kind.
const MAX_LIMITERS: u64 = 100_000;
/// An idle limiter is dropped after this long.
const IDLE: Duration = Duration::from_secs(3600);

/// A refusal: the caller may try again in `retry_after_secs` (at least 1), the value of the
/// `Retry-After` header (RFC 9110 §10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Whole seconds until a request may be admitted again.
    pub retry_after_secs: u64,
}

/// The injected clock as governor's: whole seconds since the epoch, as a `Duration`.
#[derive(Debug, Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl GovernorClock for LimiterClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.0.now()).unwrap_or(0))
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, LimiterClock, NoOpMiddleware<Duration>>;

/// One limiter and the limit it enforces (rebuilt when the client's limit changes).
#[derive(Debug)]
struct Kept {
    limit: RateLimit,
    limiter: Limiter,
}

/// The limiters of one replica. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimits {
    clock: Arc<dyn Clock>,
    per_client: RateLimit,
    failed_auth: RateLimit,
    replicas: u32,
    clients: Cache<String, Arc<Kept>>,
    failures: Cache<IpAddr, Arc<Kept>>,
    /// Addresses out of failed-authentication budget, with when they may try again.
    blocked: Cache<IpAddr, i64>,
}

impl RateLimits {
    /// Limiters enforcing `per_client` (unless a client has its own) and `failed_auth` per
    /// address, each divided by `replicas`.
    pub fn new(
        clock: Arc<dyn Clock>,
        per_client: RateLimit,
        failed_auth: RateLimit,
        replicas: u32,
    ) -> Self {
        Self {
            clock,
            per_client,
            failed_auth,
            replicas: replicas.max(1),
            clients: bounded(),
            failures: bounded(),
            blocked: bounded(),
        }
    }

    /// No limits at all.
    pub fn off(clock: Arc<dyn Clock>) -> Self {
        Self::new(clock, RateLimit::Off, RateLimit::Off, 1)
    }

    /// Counts a request of the authenticated `client`: `Err` when it is over its limit.
    pub async fn admit_client(&self, client: &Client) -> Result<(), Refused> {
        self.admit(&client.id, client.rate_limit).await
    }

    /// Counts a request of the authenticated client `id`, whose own limit is `own` (`None`: the
    /// configured default): `Err` when it is over it.
    pub async fn admit(&self, id: &str, own: Option<RateLimit>) -> Result<(), Refused> {
        let limit = own.unwrap_or(self.per_client);
        let Some(quota) = self.quota(limit) else {
            return Ok(());
        };
        let kept = match self.clients.get(id).await {
            Some(k) if k.limit == limit => k,
            _ => {
                let k = Arc::new(self.kept(limit, quota));
                self.clients.insert(id.to_owned(), k.clone()).await;
                k
            }
        };
        self.check(&kept.limiter)
    }

    /// Whether `addr` is out of failed-authentication budget: `Err` until it may try again.
    pub async fn address_blocked(&self, addr: Option<IpAddr>) -> Result<(), Refused> {
        let Some(addr) = addr.map(bucket) else {
            return Ok(());
        };
        match self.blocked.get(&addr).await {
            Some(until) if until > self.clock.now() => Err(Refused {
                retry_after_secs: u64::try_from(until - self.clock.now()).unwrap_or(1),
            }),
            _ => Ok(()),
        }
    }

    /// Counts a failed client authentication from `addr`: `Err` when this one was over the
    /// address's limit (the address is then refused until it may try again).
    pub async fn failed_auth(&self, addr: Option<IpAddr>) -> Result<(), Refused> {
        let (Some(addr), Some(quota)) = (addr.map(bucket), self.quota(self.failed_auth)) else {
            return Ok(());
        };
        let limit = self.failed_auth;
        let kept = self
            .failures
            .get_with(addr, async { Arc::new(self.kept(limit, quota)) })
            .await;
        let refused = self.check(&kept.limiter);
        if let Err(r) = refused {
            let until = self
                .clock
                .now()
                .saturating_add(i64::try_from(r.retry_after_secs).unwrap_or(i64::MAX));
            self.blocked.insert(addr, until).await;
        }
        refused
    }

    fn kept(&self, limit: RateLimit, quota: Quota) -> Kept {
        Kept {
            limit,
            limiter: RateLimiter::direct_with_clock(quota, LimiterClock(self.clock.clone())),
        }
    }

    fn check(&self, limiter: &Limiter) -> Result<(), Refused> {
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(LimiterClock(self.clock.clone()).now());
            // Whole seconds, rounded up, at least 1: never "retry now" while refused.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Refused {
                retry_after_secs: secs.max(1),
            }
        })
    }

    /// This replica's share of `limit` (`None`: off).
    fn quota(&self, limit: RateLimit) -> Option<Quota> {
        quota(limit, self.replicas)
    }
}

/// A cache of at most [`MAX_LIMITERS`] entries, idle ones dropped after [`IDLE`].
fn bounded<K, V>() -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(MAX_LIMITERS)
        .time_to_idle(IDLE)
        .build()
}

/// The GCRA quota of `limit` for one of `replicas`: one request every `period * replicas /
/// requests`, bursts of `ceil(burst / replicas)`.
fn quota(limit: RateLimit, replicas: u32) -> Option<Quota> {
    let RateLimit::Every {
        requests,
        period_secs,
        burst,
    } = limit
    else {
        return None;
    };
    let nanos = u128::from(period_secs) * 1_000_000_000 * u128::from(replicas.max(1))
        / u128::from(requests.max(1));
    let interval = Duration::from_nanos(u64::try_from(nanos.max(1)).unwrap_or(u64::MAX));
    let burst = NonZeroU32::new(burst.div_ceil(replicas.max(1)).max(1))?;
    Some(Quota::with_period(interval)?.allow_burst(burst))
}

/// The key an address counts under: itself, or its /64 for IPv6 (one host usually has a whole
/// /64 to pick from).
fn bucket(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
