//! `[backchannel_logout]`: delivery of OpenID Connect Back-Channel Logout 1.0 logout tokens from
//! the outbox (see `domain::sso::backchannel`).

use serde::Deserialize;

/// `[backchannel_logout]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackchannelConfig {
    /// Seconds a client has to answer one POST (connect included).
    pub timeout_secs: u64,
    /// Attempts per logout token before it is given up (and recorded as failed).
    pub max_attempts: i32,
    /// Delay before the second attempt; it doubles with each attempt after that.
    pub backoff_initial_secs: i64,
    /// The longest delay between attempts.
    pub backoff_max_secs: i64,
    /// How long a claimed row is leased to the replica that claimed it (must exceed
    /// `timeout_secs`, so a row is never sent by two replicas at once).
    pub lease_secs: i64,
    /// How often each replica looks for due rows, in milliseconds.
    pub poll_interval_ms: u64,
    /// Rows one replica claims and sends at once.
    pub batch: u64,
    /// Lifetime of a logout token (`exp` - `iat`).
    pub token_ttl_secs: i64,
    /// Delivered and given-up rows are deleted after this many days.
    pub keep_days: i64,
}

impl BackchannelConfig {
    /// The key at fault and why, if any.
    pub(super) fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        let checks: [(bool, &'static str, &'static str); 9] = [
            (
                (1..=300).contains(&self.timeout_secs),
                "backchannel_logout.timeout_secs",
                "must be 1 to 300",
            ),
            (
                (1..=100).contains(&self.max_attempts),
                "backchannel_logout.max_attempts",
                "must be 1 to 100",
            ),
            (
                (0..=86_400).contains(&self.backoff_initial_secs),
                "backchannel_logout.backoff_initial_secs",
                "must be 0 to 86400",
            ),
            (
                self.backoff_max_secs >= self.backoff_initial_secs
                    && self.backoff_max_secs <= 7 * 86_400,
                "backchannel_logout.backoff_max_secs",
                "must be at least backoff_initial_secs and at most 604800",
            ),
            (
                self.lease_secs > i64::try_from(self.timeout_secs).unwrap_or(i64::MAX)
                    && self.lease_secs <= 3_600,
                "backchannel_logout.lease_secs",
                "must exceed timeout_secs and be at most 3600",
            ),
            (
                (10..=600_000).contains(&self.poll_interval_ms),
                "backchannel_logout.poll_interval_ms",
                "must be 10 to 600000",
            ),
            (
                (1..=1_000).contains(&self.batch),
                "backchannel_logout.batch",
                "must be 1 to 1000",
            ),
            (
                (10..=3_600).contains(&self.token_ttl_secs),
                "backchannel_logout.token_ttl_secs",
                "must be 10 to 3600",
            ),
            (
                (1..=3_650).contains(&self.keep_days),
                "backchannel_logout.keep_days",
                "must be 1 to 3650",
            ),
        ];
        match checks.into_iter().find(|(ok, _, _)| !ok) {
            Some((_, key, problem)) => Err((key, problem)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, DEFAULT_TOML};

    #[test]
    fn defaults_are_valid_and_a_lease_shorter_than_the_timeout_is_refused() {
        let Ok(mut c) = Config::from_toml_and_env(DEFAULT_TOML, Vec::new()) else {
            panic!("the embedded defaults load");
        };
        assert!(c.backchannel_logout.validate().is_ok());
        c.backchannel_logout.lease_secs = 5;
        c.backchannel_logout.timeout_secs = 5;
        assert_eq!(
            c.backchannel_logout.validate().map_err(|(key, _)| key),
            Err("backchannel_logout.lease_secs")
        );
    }
}
