//! The typed configuration, loaded once at start: the TOML file, then `AUTH_SERVER_*` environment
//! overrides (`AUTH_SERVER_<X>_FILE=/path` reads the value of `AUTH_SERVER_<X>` from a file, for
//! secrets), then validation that names the offending key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod account;
mod backchannel;
mod branding;
mod dpop;
mod issuer;
mod ops;
mod overrides;
mod par;
mod proxies;
mod rate_limits;
mod registration;
mod validate;

pub use account::AccountConfig;
pub use backchannel::BackchannelConfig;
pub use branding::{BrandingConfig, Rgb};
pub use dpop::DpopConfig;
pub use ops::{AdminApiPlacement, AdminConfig, AuditConfig, HealthConfig, LogConfig, LogFormat};
use overrides::{apply_override, merge, resolve_files};
pub use par::ParConfig;
pub use proxies::TrustedProxies;
pub use rate_limits::RateLimitsConfig;
pub use registration::RegistrationConfig;

/// Every setting of the server. See `config/auth-server.toml` for the documented defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listening socket and issuer.
    pub server: ServerConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// Token lifetimes.
    pub tokens: TokensConfig,
    /// Signing keys and rotation.
    pub keys: KeysConfig,
    /// Client registry.
    pub clients: ClientsConfig,
    /// User password hashing.
    pub passwords: PasswordsConfig,
    /// The single sign-on session.
    pub sessions: SessionsConfig,
    /// The authorization endpoint.
    pub authorize: AuthorizeConfig,
    /// Sign-in throttling.
    pub login: LoginConfig,
    /// The pages' product name, logo and accent colour.
    #[serde(default)]
    pub branding: BrandingConfig,
    /// The admin listener: metrics and the admin API.
    pub admin: AdminConfig,
    /// Log lines.
    pub log: LogConfig,
    /// Audit events.
    pub audit: AuditConfig,
    /// Readiness and draining.
    pub health: HealthConfig,
    /// The account page.
    #[serde(default)]
    pub account: AccountConfig,
    /// Delivery of back-channel logout tokens.
    pub backchannel_logout: BackchannelConfig,
    /// Per-client rate limits at the token, introspection and revocation endpoints.
    pub rate_limits: RateLimitsConfig,
    /// Dynamic client registration.
    #[serde(default)]
    pub registration: RegistrationConfig,
    /// DPoP (RFC 9449) at the token endpoint.
    #[serde(default)]
    pub dpop: DpopConfig,
    /// Pushed authorization requests (RFC 9126).
    #[serde(default)]
    pub par: ParConfig,
}

/// `[sessions]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Seconds without use after which a session ends.
    pub idle_timeout_secs: i64,
    /// Seconds after sign-in after which a session ends.
    pub absolute_timeout_secs: i64,
    /// Live sessions one user may have; a new sign-in beyond it ends the oldest.
    pub max_per_user: u64,
}

/// `[authorize]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeConfig {
    /// Authorization-code lifetime.
    pub code_ttl_secs: i64,
    /// Whether confidential clients must use PKCE too.
    pub require_pkce: bool,
}

/// `[login]`: brute-force throttling (see `domain::sso::throttle`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// Failures for one account from one client address before that pair is locked out.
    pub max_failures_per_pair: i32,
    /// Failures for one account from all addresses before the account is slowed down (never locked).
    pub max_failures_per_account: i32,
    /// Failures from one client address, over all usernames, before the address is locked out.
    pub max_failures_per_address: i32,
    /// Failures a browser with a valid device cookie may make before the cookie is invalidated.
    pub max_failures_per_device: i32,
    /// The counting window of the hard limits (pair, address, device).
    pub failure_window_secs: i64,
    /// How long an account's failures are remembered after the last one (its slow-down count starts
    /// over after this long without a failure).
    pub account_memory_secs: i64,
    /// How long a lockout of a pair or an address lasts.
    pub lockout_secs: i64,
    /// The first delay between attempts on a slowed-down account; it doubles with each attempt.
    pub slowdown_initial_secs: i64,
    /// The longest delay between attempts on a slowed-down account.
    pub slowdown_max_secs: i64,
    /// Lifetime of a device cookie (renewed at each successful sign-in).
    pub device_cookie_ttl_secs: i64,
}

/// `[passwords]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordsConfig {
    /// argon2id memory in KiB.
    pub memory_kib: u32,
    /// argon2id iterations.
    pub iterations: u32,
    /// argon2id lanes.
    pub parallelism: u32,
    /// Hashes at once (0: one per core).
    pub max_concurrent: usize,
    /// Hashes waiting beyond those.
    pub max_waiting: usize,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Socket address to listen on.
    pub bind: SocketAddr,
    /// The issuer identifier (RFC 8414 §2).
    pub issuer: String,
    /// Reverse proxies whose `X-Forwarded-For` is believed, for throttling sign-ins per client
    /// address: addresses or CIDR blocks, separated by commas (empty: none, the header is ignored).
    #[serde(default)]
    pub trusted_proxies: TrustedProxies,
    /// Seconds a client has, from the first byte of a request, to send the request line and every
    /// header (the slowloris defence).
    pub header_read_timeout_secs: u64,
    /// Seconds a connection with no request in progress (new, or kept alive after a response) may
    /// wait for the first byte of its next request.
    pub idle_timeout_secs: u64,
    /// Connections served at once; beyond it the listener stops accepting until one closes.
    pub max_connections: u32,
}

impl ServerConfig {
    /// The listener's slow-client limits (validated with the configuration).
    pub fn limits(&self) -> http_serve::Limits {
        http_serve::Limits::from_secs(
            self.header_read_timeout_secs,
            self.idle_timeout_secs,
            self.max_connections,
        )
        .unwrap_or_default()
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://...` or `postgres://...`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// Seconds to wait for a pooled connection.
    pub acquire_timeout_secs: u64,
    /// Seconds the server keeps retrying, at start, a database that cannot be reached yet.
    pub connect_wait_secs: u64,
}

/// `[tokens]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    /// Access-token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// ID-token lifetime in seconds.
    pub id_token_ttl_secs: i64,
    /// Refresh tokens expire after this long unused.
    pub refresh_token_idle_secs: i64,
    /// No refresh token of a grant lives longer than this.
    pub refresh_token_absolute_secs: i64,
    /// A rotated refresh token presented again within this many seconds is a retry, not a theft.
    pub refresh_reuse_grace_secs: i64,
}

/// `[keys]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Where the key-encryption key lives when `AUTH_SERVER_KEYS_KEK` is not set (created with a
    /// fresh key on first start). `AUTH_SERVER_KEYS_KEK_FILE` sets it.
    pub kek_file: PathBuf,
    /// A file of previous key-encryption keys (base64, one a line), still accepted for opening
    /// stored keys during a KEK rotation, when `AUTH_SERVER_KEYS_KEK_PREVIOUS` is not set; empty:
    /// none. Never created. `AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE` sets it.
    pub kek_previous_file: PathBuf,
    /// Seconds between automatic rotations.
    pub rotation_period_secs: i64,
    /// Seconds a key is published before it signs.
    pub publish_lead_secs: i64,
    /// Seconds between key-set reloads on each replica.
    pub refresh_interval_secs: i64,
    /// RSA modulus size in bits.
    pub rsa_bits: usize,
}

/// `[clients]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientsConfig {
    /// Seconds a client record may be served from the in-memory cache.
    pub cache_ttl_secs: u64,
    /// Seconds `client rotate-secret` keeps the previous secret accepted when no overlap is given
    /// (0: it stops at once; at most 30 days).
    pub secret_rotation_overlap_secs: i64,
    /// Longest lifetime (`exp` minus now) of a `private_key_jwt` client assertion (RFC 7523 §3).
    #[serde(default = "default_assertion_max_lifetime")]
    pub assertion_max_lifetime_secs: u64,
}

fn default_assertion_max_lifetime() -> u64 {
    300
}

/// The configuration could not be loaded; the message names the file, variable or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An `AUTH_SERVER_<X>_FILE` variable names a file that cannot be read.
    #[error("cannot read {var}={path}: {source}")]
    SecretFile {
        /// The variable.
        var: String,
        /// The file it names.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file, after environment overrides, is not valid.
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// A value is out of range.
    #[error("invalid configuration: `{key}` {problem}")]
    Invalid {
        /// The dotted key, e.g. `keys.publish_lead_secs`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// The embedded defaults: the documented file, compiled in so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../../../config/auth-server.toml");

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "AUTH_SERVER_";

/// `AUTH_SERVER_*` variables that are not settings: the file path (`AUTH_SERVER_CONFIG`), the KEKs
/// themselves (`AUTH_SERVER_KEYS_KEK`, `AUTH_SERVER_KEYS_KEK_PREVIOUS`, read only by the key loader,
/// [`crate::app::App::load_kek`]), and the log filter (`AUTH_SERVER_LOG`). Their `_FILE` forms:
/// `AUTH_SERVER_KEYS_KEK_FILE` and `AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE` are the settings
/// `keys.kek_file` and `keys.kek_previous_file`, which mean just that ("the KEK is in this file").
const NOT_SETTINGS: [&str; 4] = ["CONFIG", "KEYS_KEK", "KEYS_KEK_PREVIOUS", "LOG"];

impl Config {
    /// Loads `path` (or the embedded defaults when `None`) and applies `AUTH_SERVER_*` variables from
    /// the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (for tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_owned(),
                source,
            })?,
            None => DEFAULT_TOML.to_owned(),
        };
        Self::from_toml_and_env(&text, env)
    }

    /// Parses TOML text, applies overrides, validates.
    pub fn from_toml_and_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let file: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        let defaults: toml::Table = DEFAULT_TOML
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(format!("embedded defaults: {e}")))?;
        // A file states only what differs from the embedded defaults.
        let mut table = defaults.clone();
        merge(&mut table, file);
        let ours: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(name, value)| Some((name.strip_prefix(ENV_PREFIX)?.to_owned(), value)))
            .collect();
        for o in resolve_files(ENV_PREFIX, ours, &defaults)? {
            if NOT_SETTINGS.contains(&o.rest.as_str()) {
                continue;
            }
            apply_override(&mut table, &defaults, &o)?;
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The `Cache-Control: max-age` of the JWKS, derived from the rotation schedule.
    ///
    /// A new key is published `publish_lead_secs` before it signs, and a replica may need up to
    /// `refresh_interval_secs` to see it. A verifier that cached the JWKS just before the key appeared
    /// keeps that copy for `max-age`; so `max-age` must be below `publish_lead - refresh_interval`.
    /// Half of that leaves room for a verifier's own background refresh and for clock skew.
    pub fn jwks_max_age_secs(&self) -> i64 {
        ((self.keys.publish_lead_secs - self.keys.refresh_interval_secs) / 2).clamp(0, 86_400)
    }
}

#[cfg(test)]
mod tests;
