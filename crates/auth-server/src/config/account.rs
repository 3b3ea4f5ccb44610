//! `[account]`: the account page at `/account` (see `domain::account`).

use serde::Deserialize;

/// The default of [`AccountConfig::recent_auth_secs`]: five minutes.
pub const DEFAULT_RECENT_AUTH_SECS: i64 = 300;

/// `[account]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// A sensitive change on the account page (ending another session, withdrawing consent,
    /// managing sign-in methods) needs a sign-in at most this many seconds old; an older one is
    /// sent to `/account/reauth` to enter the password again.
    #[serde(default = "default_recent_auth_secs")]
    pub recent_auth_secs: i64,
}

fn default_recent_auth_secs() -> i64 {
    DEFAULT_RECENT_AUTH_SECS
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            recent_auth_secs: DEFAULT_RECENT_AUTH_SECS,
        }
    }
}

impl AccountConfig {
    /// The problem with the settings, with the offending key.
    pub(super) fn problem(&self) -> Option<(&'static str, &'static str)> {
        (!(10..=86_400).contains(&self.recent_auth_secs))
            .then_some(("account.recent_auth_secs", "must be between 10 and 86400"))
    }
}
