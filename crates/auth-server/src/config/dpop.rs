//! `[dpop]`: DPoP (RFC 9449) at the token endpoint (see `domain::dpop`).

use serde::Deserialize;

/// The default of [`DpopConfig::nonce_slot_secs`]: five minutes.
pub const DEFAULT_NONCE_SLOT_SECS: i64 = 300;

/// `[dpop]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    /// RFC 9449 §8: every proof at the token endpoint must carry a nonce this server issued
    /// (`use_dpop_nonce` otherwise, with the nonce in `DPoP-Nonce`). Off by default: proofs are
    /// already single-use across replicas and only accepted within a minute of their `iat`, so
    /// a nonce only narrows the window for proofs made ahead of time by someone who briefly
    /// held the key, and it costs every client one more round trip per nonce slot.
    #[serde(default)]
    pub require_nonce: bool,
    /// A nonce is valid in the time slot it was issued in and the next one: between one and two
    /// slots.
    #[serde(default = "default_nonce_slot_secs")]
    pub nonce_slot_secs: i64,
}

fn default_nonce_slot_secs() -> i64 {
    DEFAULT_NONCE_SLOT_SECS
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            require_nonce: false,
            nonce_slot_secs: DEFAULT_NONCE_SLOT_SECS,
        }
    }
}

impl DpopConfig {
    /// The problem with the settings, with the offending key.
    pub(super) fn problem(&self) -> Option<(&'static str, &'static str)> {
        (!(10..=86_400).contains(&self.nonce_slot_secs))
            .then_some(("dpop.nonce_slot_secs", "must be between 10 and 86400"))
    }
}
