//! The operations sections: `[admin]` (the admin listener: metrics and the admin API), `[log]`,
//! `[audit]` and `[health]`.

use std::net::SocketAddr;

use serde::Deserialize;

/// Where the admin REST API (`/admin/v1`) is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminApiPlacement {
    /// On the admin listener, beside `/metrics` (the default).
    Admin,
    /// On the public listener, beside the OAuth endpoints (for deployments that expose one port).
    Public,
    /// Not served.
    Off,
}

/// `[admin]`: the admin listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Whether the admin listener runs at all.
    pub enabled: bool,
    /// Its socket address; loopback by default, never the public port unless configured.
    pub bind: SocketAddr,
    /// Whether `/metrics` is served (and metrics are recorded).
    pub metrics: bool,
    /// Where `/admin/v1` is served.
    pub api: AdminApiPlacement,
    /// The `aud` an access token must carry to be accepted by the admin API.
    pub audience: String,
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Days an audit event is kept before the background job deletes it.
    pub retention_days: i64,
}

/// `[health]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// `/readyz` stays ready while the database answered within this many seconds, so a short
    /// database blip does not take every replica out of the load balancer.
    pub database_grace_secs: u64,
    /// On SIGTERM, readiness turns 503 at once, and the listeners keep accepting (answering
    /// `/readyz` with 503) for this many seconds, so load balancers take the replica out before
    /// its connections are refused.
    pub shutdown_delay_secs: u64,
    /// Then the listeners stop, and requests in flight get this long to finish.
    pub drain_secs: u64,
}
