//! Where a key is in its lifecycle, as operators see it.

use auth_core::UnixTime;

use crate::domain::records::KeyRecord;

/// Where a key is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Pending,
    /// Signing (the newest active key of its algorithm signs; older ones are retiring).
    Active,
    /// No longer signing, still published until the tokens it signed have expired.
    Retired,
    /// Out of the JWKS.
    Removed,
    /// Revoked by an operator.
    Revoked,
}

impl KeyState {
    /// The state of `r` at `now`.
    pub fn of(r: &KeyRecord, now: UnixTime) -> Self {
        if r.revoked_at.is_some() {
            Self::Revoked
        } else if r.removed_at.is_some_and(|t| t <= now) {
            Self::Removed
        } else if r.activates_at > now {
            Self::Pending
        } else if r.retires_at.is_some_and(|t| t <= now) {
            Self::Retired
        } else {
            Self::Active
        }
    }

    /// The name shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Removed => "removed",
            Self::Revoked => "revoked",
        }
    }
}
