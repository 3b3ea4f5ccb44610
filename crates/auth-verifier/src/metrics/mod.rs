//! What the verifier records, through the [`metrics`] facade: whatever recorder the host installed
//! (globally, or given to [`crate::VerifierBuilder::metrics_recorder`]) receives it; without one,
//! every handle is a no-op. A library never installs a recorder itself.
//!
//! Every series is registered once, when the verifier is built, with labels from a fixed set, so
//! recording is one relaxed atomic add on a handle held here: no key lookup, lock or allocation on
//! the request path. Hence a recorder must be in place *before* [`crate::VerifierBuilder::build`].
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `auth_verifier_verifications_total` | counter | `audience`, `outcome` (`ok`, `rejected`), `reason` (`valid`, or [`VerifyError::reason`]) | tokens verified |
//! | `auth_verifier_token_cache_hits_total` | counter | `audience` | answered from the verified-token cache |
//! | `auth_verifier_token_cache_misses_total` | counter | `audience` | looked up in the cache and verified in full |
//! | `auth_verifier_jwks_fetches_total` | counter | `audience`, `issuer` | JWKS fetches attempted (discovery included) |
//! | `auth_verifier_jwks_fetch_failures_total` | counter | `audience`, `issuer`, `reason` ([`FetchError::reason`]) | of which failed |
//! | `auth_verifier_jwks_last_success_timestamp_seconds` | gauge | `audience`, `issuer` | Unix time of the last successful JWKS fetch (0: none yet) |
//! | `auth_verifier_jwks_age_seconds` | gauge | `audience`, `issuer` | seconds since the last successful JWKS fetch, as of the last [`crate::Verifier::update_age_gauges`] (`+Inf`: none yet) |
//! | `auth_verifier_revocation_feed_polls_total` | counter | `audience`, `issuer` | revocation-feed polls attempted |
//! | `auth_verifier_revocation_feed_failures_total` | counter | `audience`, `issuer`, `reason` ([`FetchError::reason`]) | of which failed |
//! | `auth_verifier_revocation_feed_last_success_timestamp_seconds` | gauge | `audience`, `issuer` | Unix time of the last successful poll (0: none yet) |
//! | `auth_verifier_revocation_feed_age_seconds` | gauge | `audience`, `issuer` | seconds since the last successful poll, as of the last [`crate::Verifier::update_age_gauges`] (`+Inf`: none yet) |
//!
//! The `audience` label tells apart several verifiers recording into one registry (two services in
//! one process, or an IdP verifying its own admin tokens). The age gauges are computed from stored
//! timestamps when the host calls [`crate::Verifier::update_age_gauges`], just before it renders a
//! scrape: an age set only on success would freeze at 0 exactly when refreshes stop.

use std::sync::Arc;

use metrics::{Counter, Gauge, Recorder, Unit};

use crate::error::VerifyError;
use crate::fetch::FetchError;

const VERIFICATIONS: &str = "auth_verifier_verifications_total";
const CACHE_HITS: &str = "auth_verifier_token_cache_hits_total";
const CACHE_MISSES: &str = "auth_verifier_token_cache_misses_total";
const JWKS_FETCHES: &str = "auth_verifier_jwks_fetches_total";
const JWKS_FAILURES: &str = "auth_verifier_jwks_fetch_failures_total";
const JWKS_LAST: &str = "auth_verifier_jwks_last_success_timestamp_seconds";
const JWKS_AGE: &str = "auth_verifier_jwks_age_seconds";
const FEED_POLLS: &str = "auth_verifier_revocation_feed_polls_total";
const FEED_FAILURES: &str = "auth_verifier_revocation_feed_failures_total";
const FEED_LAST: &str = "auth_verifier_revocation_feed_last_success_timestamp_seconds";
const FEED_AGE: &str = "auth_verifier_revocation_feed_age_seconds";
const FEED_ANSWERS: &str = "auth_verifier_revocation_feed_answers_total";

/// The recorder given to [`crate::VerifierBuilder::metrics_recorder`].
#[derive(Clone)]
pub(crate) struct RecorderRef(pub(crate) Arc<dyn Recorder + Send + Sync>);

impl std::fmt::Debug for RecorderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecorderRef")
    }
}

/// Runs `register` against `recorder` if given, else against the current (global) one.
pub(crate) fn registered<T>(recorder: Option<&RecorderRef>, register: impl FnOnce() -> T) -> T {
    match recorder {
        Some(r) => metrics::with_local_recorder(&*r.0, register),
        None => register(),
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        VERIFICATIONS,
        "Access tokens verified, by outcome and reason."
    );
    describe_counter!(
        CACHE_HITS,
        "Verifications answered from the verified-token cache."
    );
    describe_counter!(CACHE_MISSES, "Cache lookups that had to verify in full.");
    describe_counter!(JWKS_FETCHES, "JWKS fetches attempted (discovery included).");
    describe_counter!(JWKS_FAILURES, "JWKS fetches that failed, by reason.");
    describe_gauge!(
        JWKS_LAST,
        Unit::Seconds,
        "Unix time of the last successful JWKS fetch."
    );
    describe_gauge!(
        JWKS_AGE,
        Unit::Seconds,
        "Seconds since the last successful JWKS fetch."
    );
    describe_counter!(FEED_POLLS, "Revocation feed polls attempted.");
    describe_counter!(
        FEED_FAILURES,
        "Revocation feed polls that failed, by reason."
    );
    describe_gauge!(
        FEED_LAST,
        Unit::Seconds,
        "Unix time of the last successful feed poll."
    );
    describe_counter!(
        FEED_ANSWERS,
        "Successful feed polls by answer: full (the whole list), incremental (changes since the cursor), not_modified (304)."
    );
    describe_gauge!(
        FEED_AGE,
        Unit::Seconds,
        "Seconds since the last successful feed poll."
    );
}

/// The per-verifier counters (call under [`registered`]).
#[derive(Debug)]
pub(crate) struct VerifierMetrics {
    ok: Counter,
    /// Indexed by [`VerifyError::reason_index`].
    rejected: [Counter; VerifyError::REASONS.len()],
    cache_hits: Counter,
    cache_misses: Counter,
}

impl VerifierMetrics {
    pub(crate) fn register(audience: &str) -> Self {
        describe();
        let aud = audience.to_owned();
        let verifications = |outcome: &'static str, reason: &'static str| {
            metrics::counter!(VERIFICATIONS, "audience" => aud.clone(), "outcome" => outcome,
                "reason" => reason)
        };
        Self {
            ok: verifications("ok", "valid"),
            rejected: VerifyError::REASONS.map(|reason| verifications("rejected", reason)),
            cache_hits: metrics::counter!(CACHE_HITS, "audience" => aud.clone()),
            cache_misses: metrics::counter!(CACHE_MISSES, "audience" => aud.clone()),
        }
    }

    /// Counts one verification's answer.
    #[inline]
    pub(crate) fn verified<T>(&self, answer: &Result<T, VerifyError>) {
        match answer {
            Ok(_) => self.ok.increment(1),
            Err(e) => self.rejected(e),
        }
    }

    /// Counts one refused token.
    #[inline]
    pub(crate) fn rejected(&self, error: &VerifyError) {
        self.rejected[error.reason_index()].increment(1);
    }

    #[inline]
    pub(crate) fn cache_hit(&self) {
        self.cache_hits.increment(1);
    }

    #[inline]
    pub(crate) fn cache_miss(&self) {
        self.cache_misses.increment(1);
    }
}

/// Attempts, failures by reason, and the freshness of one background source (an issuer's JWKS, or
/// its revocation feed).
#[derive(Debug)]
pub(crate) struct SourceMetrics {
    attempts: Counter,
    /// Indexed by [`FetchError::reason_index`].
    failures: [Counter; FetchError::REASONS.len()],
    last_success: Gauge,
    age: Gauge,
}

impl SourceMetrics {
    /// An issuer's JWKS (call under [`registered`]).
    pub(crate) fn jwks(audience: &str, issuer: &str) -> Self {
        Self::register(
            [JWKS_FETCHES, JWKS_FAILURES, JWKS_LAST, JWKS_AGE],
            audience,
            issuer,
        )
    }

    /// An issuer's revocation feed (call under [`registered`]).
    pub(crate) fn feed(audience: &str, issuer: &str) -> Self {
        Self::register(
            [FEED_POLLS, FEED_FAILURES, FEED_LAST, FEED_AGE],
            audience,
            issuer,
        )
    }

    /// A source that records nothing (a store built outside a verifier, in unit tests).
    #[cfg(test)]
    pub(crate) fn noop() -> Self {
        Self {
            attempts: Counter::noop(),
            failures: FetchError::REASONS.map(|_| Counter::noop()),
            last_success: Gauge::noop(),
            age: Gauge::noop(),
        }
    }

    fn register(names: [&'static str; 4], audience: &str, issuer: &str) -> Self {
        describe();
        let [attempts, failures, last, age] = names;
        let (aud, iss) = (audience.to_owned(), issuer.to_owned());
        let last_success =
            metrics::gauge!(last, "audience" => aud.clone(), "issuer" => iss.clone());
        let age = metrics::gauge!(age, "audience" => aud.clone(), "issuer" => iss.clone());
        // Nothing fetched yet: infinitely old, so that an alert on the age fires.
        age.set(f64::INFINITY);
        Self {
            attempts: metrics::counter!(attempts, "audience" => aud.clone(), "issuer" => iss.clone()),
            failures: FetchError::REASONS.map(|reason| {
                metrics::counter!(failures, "audience" => aud.clone(), "issuer" => iss.clone(),
                    "reason" => reason)
            }),
            last_success,
            age,
        }
    }

    /// Counts an attempt and its outcome; a success at `now` (Unix seconds) sets the timestamp.
    pub(crate) fn attempted<T>(&self, outcome: &Result<T, FetchError>, now: i64) {
        self.attempts.increment(1);
        match outcome {
            Ok(_) => self.last_success.set(now as f64),
            Err(e) => self.failures[e.reason_index()].increment(1),
        }
    }

    /// Sets the age gauge: `now - last` seconds (never negative), `+Inf` without a success.
    pub(crate) fn set_age(&self, last: Option<i64>, now: i64) {
        match last {
            Some(at) => self.age.set(now.saturating_sub(at).max(0) as f64),
            None => self.age.set(f64::INFINITY),
        }
    }
}

/// What successful polls of one revocation feed answered.
#[derive(Debug)]
pub(crate) struct FeedAnswers([Counter; 3]);

/// The kinds of [`FeedAnswers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedAnswer {
    /// The whole list (at start, after an incomplete answer, or from a server without cursors).
    Full = 0,
    /// Only what changed since the cursor.
    Incremental = 1,
    /// 304: nothing changed.
    NotModified = 2,
}

impl FeedAnswers {
    /// An issuer's feed (call under [`registered`]).
    pub(crate) fn register(audience: &str, issuer: &str) -> Self {
        describe();
        Self(["full", "incremental", "not_modified"].map(|answer| {
            metrics::counter!(FEED_ANSWERS, "audience" => audience.to_owned(),
                "issuer" => issuer.to_owned(), "answer" => answer)
        }))
    }

    /// Counts one answer.
    pub(crate) fn count(&self, answer: FeedAnswer) {
        self.0[answer as usize].increment(1);
    }
}

#[cfg(test)]
mod tests;
