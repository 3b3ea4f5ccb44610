//! `[par]`: pushed authorization requests (RFC 9126, see `domain::sso::flow::pushed`).

use serde::Deserialize;

/// The default of [`ParConfig::request_ttl_secs`]: one minute.
pub const DEFAULT_REQUEST_TTL_SECS: i64 = 60;

/// `[par]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParConfig {
    /// RFC 9126 §5 `require_pushed_authorization_requests`: every client must push its
    /// authorization requests; a plain `/authorize` request is refused with `invalid_request`.
    /// (A client can also be required to, alone: its `require_pushed_authorization_requests`.)
    #[serde(default)]
    pub required: bool,
    /// The `expires_in` of a `request_uri` (RFC 9126 §2.2): how long after the push the browser
    /// may bring it to `/authorize`.
    #[serde(default = "default_request_ttl_secs")]
    pub request_ttl_secs: i64,
}

fn default_request_ttl_secs() -> i64 {
    DEFAULT_REQUEST_TTL_SECS
}

impl Default for ParConfig {
    fn default() -> Self {
        Self {
            required: false,
            request_ttl_secs: DEFAULT_REQUEST_TTL_SECS,
        }
    }
}

impl ParConfig {
    /// The problem with the settings, with the offending key.
    pub(super) fn problem(&self) -> Option<(&'static str, &'static str)> {
        (!(5..=600).contains(&self.request_ttl_secs))
            .then_some(("par.request_ttl_secs", "must be between 5 and 600"))
    }
}
