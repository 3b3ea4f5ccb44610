//! `[rate_limits]`: per-client rate limits at the token, introspection and revocation endpoints,
//! and the per-address limit on failed client authentication (see `domain::rate_limits`).

use serde::Deserialize;

use crate::model::values::RateLimit;

/// The most replicas `rate_limits.replicas` may name.
pub const MAX_REPLICAS: u32 = 1_000;

/// `[rate_limits]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// Each authenticated client's limit unless it has its own (`client ... --rate-limit`):
    /// `<requests>/<s|min|h>[,burst=<n>]`, or `off`.
    pub per_client: String,
    /// Failed client authentications admitted per source address (same syntax, or `off`); past
    /// it, the address is answered 429 without a lookup until it may try again.
    pub failed_auth_per_address: String,
    /// How many replicas share the traffic: each enforces `1/replicas` of every limit (rate and
    /// burst, rounded up), so that N replicas behind an even load balancer admit about the limit
    /// in total.
    pub replicas: u32,
}

impl RateLimitsConfig {
    /// `per_client`, read.
    pub fn per_client_limit(&self) -> RateLimit {
        self.per_client.parse().unwrap_or(RateLimit::Off)
    }

    /// `failed_auth_per_address`, read.
    pub fn failed_auth_limit(&self) -> RateLimit {
        self.failed_auth_per_address
            .parse()
            .unwrap_or(RateLimit::Off)
    }

    /// The problem with the settings, with the offending key.
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if let Err(e) = self.per_client.parse::<RateLimit>() {
            return Some(("rate_limits.per_client", e.to_string()));
        }
        if let Err(e) = self.failed_auth_per_address.parse::<RateLimit>() {
            return Some(("rate_limits.failed_auth_per_address", e.to_string()));
        }
        (!(1..=MAX_REPLICAS).contains(&self.replicas)).then(|| {
            (
                "rate_limits.replicas",
                format!("must be between 1 and {MAX_REPLICAS}"),
            )
        })
    }
}
