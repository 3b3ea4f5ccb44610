//! Validation of a loaded configuration: every error names the key at fault.

use super::issuer::validate_issuer;
use super::{Config, ConfigError};
use crate::domain::passwords::{OWASP_ITERATIONS, OWASP_MEMORY_KIB, OWASP_PARALLELISM};

/// Upper bounds keep `now + lifetime` far from overflow, whatever the file says.
const TEN_YEARS: i64 = 10 * 366 * 86_400;

fn invalid(key: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.to_owned(),
    }
}

/// `Err` naming `key` unless `holds`.
fn check(holds: bool, key: &'static str, problem: &str) -> Result<(), ConfigError> {
    if holds {
        Ok(())
    } else {
        Err(invalid(key, problem))
    }
}

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        validate_issuer(&self.server.issuer).map_err(|p| invalid("server.issuer", p))?;
        self.branding
            .validate()
            .map_err(|(key, p)| invalid(key, &p))?;
        let srv = &self.server;
        http_serve::Limits::from_secs(
            srv.header_read_timeout_secs,
            srv.idle_timeout_secs,
            srv.max_connections,
        )
        .map_err(|(setting, problem)| {
            let key = match setting {
                http_serve::Setting::HeaderReadTimeout => "server.header_read_timeout_secs",
                http_serve::Setting::IdleTimeout => "server.idle_timeout_secs",
                http_serve::Setting::MaxConnections => "server.max_connections",
            };
            invalid(key, problem)
        })?;
        let db = &self.database;
        check(
            db.url.starts_with("sqlite:") || db.url.starts_with("postgres"),
            "database.url",
            "must start with sqlite: or postgres://",
        )?;
        check(
            db.max_connections > 0,
            "database.max_connections",
            "must be at least 1",
        )?;
        check(
            db.connect_wait_secs <= 3600,
            "database.connect_wait_secs",
            "must be at most 3600",
        )?;
        self.validate_keys_and_tokens()?;
        self.validate_sessions_and_login()?;
        if let Some((key, problem)) = self.dpop.problem() {
            return Err(invalid(key, problem));
        }
        if let Some((key, problem)) = self.account.problem() {
            return Err(invalid(key, problem));
        }
        if let Some((key, problem)) = self.par.problem() {
            return Err(invalid(key, problem));
        }
        self.validate_ops()
    }

    fn validate_ops(&self) -> Result<(), ConfigError> {
        let a = &self.admin;
        check(
            !a.enabled || a.bind != self.server.bind || a.bind.port() == 0,
            "admin.bind",
            "must differ from server.bind (set admin.api = \"public\" to serve the admin API there)",
        )?;
        check(
            !a.audience.trim().is_empty(),
            "admin.audience",
            "must not be empty",
        )?;
        self.backchannel_logout
            .validate()
            .map_err(|(key, p)| invalid(key, p))?;
        check(
            (1..=36_600).contains(&self.audit.retention_days),
            "audit.retention_days",
            "must be between 1 and 36600",
        )?;
        check(
            self.health.database_grace_secs <= 3600,
            "health.database_grace_secs",
            "must be at most 3600",
        )?;
        check(
            self.health.shutdown_delay_secs <= 600,
            "health.shutdown_delay_secs",
            "must be at most 600",
        )?;
        check(
            self.health.drain_secs <= 3600,
            "health.drain_secs",
            "must be at most 3600",
        )
    }

    fn validate_keys_and_tokens(&self) -> Result<(), ConfigError> {
        let (k, t) = (&self.keys, &self.tokens);
        let between = |key, v: i64, lo: i64, hi: i64| {
            check(
                (lo..=hi).contains(&v),
                key,
                &format!("must be between {lo} and {hi}"),
            )
        };
        between(
            "tokens.access_token_ttl_secs",
            t.access_token_ttl_secs,
            30,
            86_400,
        )?;
        between(
            "keys.refresh_interval_secs",
            k.refresh_interval_secs,
            5,
            3600,
        )?;
        check(
            k.publish_lead_secs >= 4 * k.refresh_interval_secs,
            "keys.publish_lead_secs",
            "must be at least 4 x keys.refresh_interval_secs, so verifiers can learn a key before it signs",
        )?;
        // Saturating: the lead has no upper bound of its own (found by fuzz/fuzz_targets/config.rs).
        check(
            k.rotation_period_secs >= k.publish_lead_secs.saturating_mul(2),
            "keys.rotation_period_secs",
            "must be at least 2 x keys.publish_lead_secs",
        )?;
        check(
            [2048, 3072, 4096].contains(&k.rsa_bits),
            "keys.rsa_bits",
            "must be 2048, 3072 or 4096",
        )?;
        let p = &self.passwords;
        check(
            p.memory_kib >= OWASP_MEMORY_KIB
                && p.iterations >= OWASP_ITERATIONS
                && p.parallelism >= OWASP_PARALLELISM,
            "passwords.memory_kib",
            "with iterations and parallelism must be at least the OWASP argon2id minimum (19456 KiB, 2, 1)",
        )?;
        between("tokens.id_token_ttl_secs", t.id_token_ttl_secs, 30, 86_400)?;
        check(
            t.refresh_token_idle_secs >= 60
                && t.refresh_token_absolute_secs >= t.refresh_token_idle_secs,
            "tokens.refresh_token_idle_secs",
            "must be at least 60 and at most tokens.refresh_token_absolute_secs",
        )?;
        between(
            "tokens.refresh_reuse_grace_secs",
            t.refresh_reuse_grace_secs,
            0,
            60,
        )?;
        for (key, secs) in [
            ("keys.rotation_period_secs", k.rotation_period_secs),
            (
                "tokens.refresh_token_absolute_secs",
                t.refresh_token_absolute_secs,
            ),
            (
                "sessions.absolute_timeout_secs",
                self.sessions.absolute_timeout_secs,
            ),
        ] {
            check(secs <= TEN_YEARS, key, "must be at most 10 years")?;
        }
        Ok(())
    }

    fn validate_sessions_and_login(&self) -> Result<(), ConfigError> {
        let s = &self.sessions;
        check(
            s.idle_timeout_secs >= 60 && s.absolute_timeout_secs >= s.idle_timeout_secs,
            "sessions.idle_timeout_secs",
            "must be at least 60 and at most sessions.absolute_timeout_secs",
        )?;
        check(
            (1..=1000).contains(&s.max_per_user),
            "sessions.max_per_user",
            "must be between 1 and 1000",
        )?;
        check(
            (10..=600).contains(&self.authorize.code_ttl_secs),
            "authorize.code_ttl_secs",
            "must be between 10 and 600 (RFC 6749 §4.1.2: at most 10 minutes)",
        )?;
        let l = &self.login;
        for (key, n) in [
            ("login.max_failures_per_pair", l.max_failures_per_pair),
            ("login.max_failures_per_account", l.max_failures_per_account),
            ("login.max_failures_per_address", l.max_failures_per_address),
            ("login.max_failures_per_device", l.max_failures_per_device),
        ] {
            check(
                (1..=1_000_000).contains(&n),
                key,
                "must be between 1 and 1000000",
            )?;
        }
        for (key, secs) in [
            ("login.failure_window_secs", l.failure_window_secs),
            ("login.account_memory_secs", l.account_memory_secs),
            ("login.lockout_secs", l.lockout_secs),
            ("login.slowdown_initial_secs", l.slowdown_initial_secs),
            ("login.slowdown_max_secs", l.slowdown_max_secs),
            ("login.device_cookie_ttl_secs", l.device_cookie_ttl_secs),
        ] {
            check(
                (1..=TEN_YEARS).contains(&secs),
                key,
                "must be at least 1 second and at most 10 years",
            )?;
        }
        check(
            l.slowdown_initial_secs <= l.slowdown_max_secs,
            "login.slowdown_initial_secs",
            "must be at most login.slowdown_max_secs",
        )?;
        check(
            (0..=crate::model::values::MAX_SECRET_OVERLAP_SECS)
                .contains(&self.clients.secret_rotation_overlap_secs),
            "clients.secret_rotation_overlap_secs",
            "must be between 0 and 2592000 (30 days)",
        )?;
        if let Some((key, problem)) = self.rate_limits.problem() {
            return Err(invalid(key, &problem));
        }
        check(
            self.clients.cache_ttl_secs <= 3600,
            "clients.cache_ttl_secs",
            "must be at most 3600",
        )?;
        check(
            (10..=3600).contains(&self.clients.assertion_max_lifetime_secs),
            "clients.assertion_max_lifetime_secs",
            "must be 10 to 3600",
        )
    }
}
