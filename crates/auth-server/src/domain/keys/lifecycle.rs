//! When to create the next signing key, and when the old one retires and leaves the JWKS.
//!
//! Pure functions of the stored key times, the schedule and the clock, so every replica reaches the
//! same decision and the rules are testable without a database or a wait.

use auth_core::UnixTime;

/// Extra time a retired key stays in the JWKS beyond the last token it can have signed, for clock
/// skew between the IdP and its verifiers.
pub const CLOCK_SKEW_ALLOWANCE_SECS: i64 = 300;

/// The rotation schedule, from `[keys]` and `[tokens]`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Seconds between automatic rotations.
    pub rotation_period: i64,
    /// Seconds a new key is published before it signs.
    pub publish_lead: i64,
    /// Seconds between key-set reloads on each replica.
    pub refresh_interval: i64,
    /// Longest access-token lifetime.
    pub access_token_ttl: i64,
}

/// The stored times of the newest key of one algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Newest {
    /// Its generation number.
    pub generation: i64,
    /// When it starts (started) signing.
    pub activates_at: UnixTime,
}

/// What to do for one algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The current key is not due for rotation.
    Nothing,
    /// A key already waits to activate; rotating again would only lengthen the wait.
    AlreadyPending {
        /// When the pending key activates.
        activates_at: UnixTime,
    },
    /// No key exists: create generation 1, signing at once (no verifier can have cached a JWKS yet).
    First,
    /// Create the next key.
    Next {
        /// Its generation.
        generation: i64,
        /// When it starts signing: at least `publish_lead` from now.
        activates_at: UnixTime,
        /// When the current key leaves the JWKS.
        predecessor_removed_at: UnixTime,
    },
}

impl Schedule {
    /// Decides what to do at `now`. `forced` is an operator's `keys rotate`: rotate even if not due.
    pub fn plan(&self, newest: Option<Newest>, now: UnixTime, forced: bool) -> Plan {
        let Some(newest) = newest else {
            return Plan::First;
        };
        if newest.activates_at > now {
            return Plan::AlreadyPending {
                activates_at: newest.activates_at,
            };
        }
        let due = newest.activates_at + self.rotation_period - self.publish_lead;
        if !forced && now < due {
            return Plan::Nothing;
        }
        // Published now, signing only after every verifier honouring the JWKS max-age has seen it.
        let earliest = now + self.publish_lead;
        let activates_at = if forced {
            earliest
        } else {
            earliest.max(newest.activates_at + self.rotation_period)
        };
        Plan::Next {
            generation: newest.generation + 1,
            activates_at,
            predecessor_removed_at: self.removal_after_retirement(activates_at),
        }
    }

    /// When a key that stops signing at `retires_at` may leave the JWKS: a replica may keep signing
    /// with it for up to one refresh interval after that, its tokens live `access_token_ttl`, and
    /// verifiers' clocks may lag.
    pub fn removal_after_retirement(&self, retires_at: UnixTime) -> UnixTime {
        retires_at + self.refresh_interval + self.access_token_ttl + CLOCK_SKEW_ALLOWANCE_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Schedule = Schedule {
        rotation_period: 10_000,
        publish_lead: 1_000,
        refresh_interval: 60,
        access_token_ttl: 900,
    };

    fn newest(generation: i64, activates_at: UnixTime) -> Option<Newest> {
        Some(Newest {
            generation,
            activates_at,
        })
    }

    /// When the planned next key activates, if the plan is to make one.
    fn next_activation(plan: Plan) -> Option<UnixTime> {
        match plan {
            Plan::Next { activates_at, .. } => Some(activates_at),
            _ => None,
        }
    }

    #[test]
    fn first_key_when_none() {
        assert_eq!(S.plan(None, 5, false), Plan::First);
    }

    #[test]
    fn next_key_is_published_ahead_and_activates_on_schedule() {
        let newest = newest(1, 0);
        assert_eq!(S.plan(newest, 8_999, false), Plan::Nothing);
        match S.plan(newest, 9_000, false) {
            Plan::Next {
                generation,
                activates_at,
                predecessor_removed_at,
            } => {
                assert_eq!(generation, 2);
                assert_eq!(activates_at, 10_000);
                assert_eq!(predecessor_removed_at, 10_000 + 60 + 900 + 300);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn late_rotation_still_gets_the_full_lead() {
        assert_eq!(
            next_activation(S.plan(newest(3, 0), 50_000, false)),
            Some(51_000)
        );
    }

    #[test]
    fn forced_rotation_keeps_the_lead_and_never_stacks() {
        assert_eq!(
            next_activation(S.plan(newest(1, 100), 200, true)),
            Some(1_200)
        );
        let pending = newest(2, 1_200);
        for forced in [true, false] {
            assert_eq!(
                S.plan(pending, 300, forced),
                Plan::AlreadyPending {
                    activates_at: 1_200
                }
            );
        }
    }
}
