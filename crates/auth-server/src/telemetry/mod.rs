//! Prometheus metrics: the process's recorder, the metric names, and the one-line recording helpers
//! the other layers call.
//!
//! Events (requests, tokens, sign-ins, cache lookups, database errors, waits) go through the
//! [`metrics`] facade into one [`PrometheusRecorder`](metrics_exporter_prometheus::PrometheusRecorder)
//! per process, installed by [`install`] when `admin.metrics` is on. Without it the facade's macros
//! are no-ops: nothing is recorded. Values that are a state rather than an event (queue depths, the
//! database pool, the signing keys' ages, build information) are read when `/metrics` is rendered
//! and written beside the recorder's output with an [`Exposition`], so they cost nothing between
//! scrapes and never go stale (a key that left the ring leaves the output).
//!
//! The helpers use `&'static str` label values wherever they can, so the hot paths (the token
//! endpoint) allocate nothing beyond what the facade itself needs, and take no lock of ours.
//! This module is beneath every other layer (like `config`): it knows no domain, store or http type.

mod exposition;
mod fair_use;
pub mod names;

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use exposition::Exposition;
pub use fair_use::{PREVIOUS_SECRET_USED, RATE_LIMITED, previous_secret_used, rate_limited};
use names::*;

/// Histogram buckets, in seconds: every histogram here is a latency or a wait, from a cached
/// client-credentials token (well under a millisecond) to a sign-in queued behind a login storm.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

/// How often histogram samples are folded into their buckets between scrapes, so memory stays
/// bounded when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder: `None` inside once an install was attempted and another recorder was
/// already in place.
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder for this process, once: later calls (a second server in the
/// same process) return the same handle. Returns `None`, with a warning, if another recorder was
/// installed first by someone else. Never panics.
pub fn install() -> Option<PrometheusHandle> {
    RECORDER.get_or_init(install_once).clone()
}

/// The recorder's handle, if [`install`] succeeded in this process.
pub fn handle() -> Option<PrometheusHandle> {
    RECORDER.get().cloned().flatten()
}

fn install_once() -> Option<PrometheusHandle> {
    let builder = match PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "metrics disabled: invalid histogram buckets");
            return None;
        }
    };
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("metrics disabled: another metrics recorder is installed in this process");
        return None;
    }
    names::describe_all();
    fair_use::describe();
    let upkeep = handle.clone();
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = started {
        // Rendering runs the upkeep too: memory is then bounded by the scrape interval.
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
    }
    Some(handle)
}

/// The Prometheus text exposition: the recorder's metrics, then the gauges `sample` writes.
pub fn render(handle: &PrometheusHandle, sample: impl FnOnce(&mut Exposition)) -> String {
    let mut out = handle.render();
    let mut gauges = Exposition::new(&mut out);
    gauges.gauge(
        BUILD_INFO,
        "Build information: the version, as a label; always 1.",
    );
    gauges.sample(BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    sample(&mut gauges);
    out
}

/// The grant a token was issued by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `authorization_code` (RFC 6749 §4.1).
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
    TokenExchange,
}

/// A metric handle registered at its first use and kept: later uses are one atomic operation, with
/// no lookup, hash or allocation (the hot paths: tokens, client-cache hits). The recorder is
/// installed at start, before any request, so the first use registers with it; in a process without
/// one the kept handle is a no-op, as every call would be.
struct Kept(OnceLock<Counter>);

impl Kept {
    fn get(&self, register: impl FnOnce() -> Counter) -> &Counter {
        self.0.get_or_init(register)
    }
}

/// Counts an access token issued by `grant`, signed with `alg` (`"ES256"` or `"RS256"`).
pub fn token_issued(grant: Grant, alg: &'static str) {
    static KEPT: [Kept; 8] = [const { Kept(OnceLock::new()) }; 8];
    let (g, grant) = match grant {
        Grant::ClientCredentials => (0, "client_credentials"),
        Grant::AuthorizationCode => (1, "authorization_code"),
        Grant::RefreshToken => (2, "refresh_token"),
        Grant::TokenExchange => (3, "token_exchange"),
    };
    let a = match alg {
        "ES256" => 0,
        "RS256" => 1,
        other => {
            counter!(TOKENS_ISSUED, "grant" => grant, "alg" => other).increment(1);
            return;
        }
    };
    KEPT[g * 2 + a]
        .get(|| counter!(TOKENS_ISSUED, "grant" => grant, "alg" => alg))
        .increment(1);
}

/// How a sign-in attempt (`POST /login`) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in: a session was created.
    Success,
    /// Wrong password or unknown user (one answer for both).
    Rejected,
    /// Too many failures from this client or for this account: locked out for a while.
    Locked,
    /// The account is slowed down after failures.
    Slowed,
    /// Refused because the password checks are saturated.
    Busy,
    /// The form's CSRF token did not match.
    Csrf,
    /// The form or the authorization request it carries is invalid.
    Invalid,
    /// Storage failed.
    Error,
}

/// Counts a sign-in attempt by outcome.
pub fn sign_in(outcome: SignIn) {
    let outcome = match outcome {
        SignIn::Success => "success",
        SignIn::Rejected => "rejected",
        SignIn::Locked => "locked",
        SignIn::Slowed => "slowed",
        SignIn::Busy => "busy",
        SignIn::Csrf => "csrf",
        SignIn::Invalid => "invalid",
        SignIn::Error => "error",
    };
    counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// Counts a client-cache lookup (a hit, or a miss that went to the database).
pub fn client_cache(hit: bool) {
    static HIT: Kept = Kept(OnceLock::new());
    static MISS: Kept = Kept(OnceLock::new());
    if hit {
        HIT.get(|| counter!(CLIENT_CACHE_LOOKUPS, "result" => "hit"))
            .increment(1);
    } else {
        MISS.get(|| counter!(CLIENT_CACHE_LOOKUPS, "result" => "miss"))
            .increment(1);
    }
}

/// Counts `n` back-channel logout tokens with `outcome` (`delivered`, `retried`, `failed`).
pub fn backchannel_logout(outcome: &'static str, n: u64) {
    counter!(names::BACKCHANNEL_LOGOUTS, "outcome" => outcome).increment(n);
}

/// Counts a database error of `kind` (`acquire`, `connection`, `conflict`, `query`).
pub fn db_error(kind: &'static str) {
    counter!(DB_ERRORS, "kind" => kind).increment(1);
}

/// Records how long a job waited in the thread pool `pool` before a thread took it.
pub fn pool_wait(pool: &'static str, waited: Duration) {
    histogram!(POOL_WAIT, "pool" => pool).record(waited.as_secs_f64());
}

/// The latency histogram of HTTP requests with `method` to `route` (the route template, never the
/// raw path) answered with `status`: callers keep it (see `http::metrics_layer`).
pub fn http_histogram(method: &'static str, route: String, status: &'static str) -> Histogram {
    histogram!(HTTP_DURATION, "method" => method, "route" => route, "status" => status)
}

/// Records the size of the revocation feed just rendered.
pub fn revocation_feed(tokens: usize, subjects: usize, keys: usize, bytes: usize) {
    #[allow(clippy::cast_precision_loss)]
    let f = |n: usize| n as f64;
    gauge!(REVOCATION_FEED_ENTRIES, "kind" => "tokens").set(f(tokens));
    gauge!(REVOCATION_FEED_ENTRIES, "kind" => "subjects").set(f(subjects));
    gauge!(REVOCATION_FEED_ENTRIES, "kind" => "keys").set(f(keys));
    gauge!(REVOCATION_FEED_BYTES).set(f(bytes));
}

/// One answer of the revocation feed: `full`, `incremental` or `not_modified`.
pub fn revocation_feed_answer(answer: &'static str) {
    counter!(REVOCATION_FEED_ANSWERS, "answer" => answer).increment(1);
}

#[cfg(test)]
mod tests;
