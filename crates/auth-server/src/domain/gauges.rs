//! The metrics that are a state rather than an event, read when `/metrics` is rendered: the thread
//! pools' queues, the password checks admitted, the database pool, and the signing keys' ages and
//! next activation and rotation (from the key ring and the rotation schedule, with the injected
//! clock). Reading them costs nothing between scrapes, and a key that left the ring leaves the
//! output.

use std::sync::Arc;

use auth_core::{Alg, Clock, UnixTime};

use super::keys::KeyManager;
use super::keys::lifecycle::Schedule;
use super::passwords::PasswordHasher;
use super::signing_pool::SigningPool;
use crate::store::Store;
use crate::telemetry::Exposition;
use crate::telemetry::names::*;

/// What the scrape-time gauges read. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gauges {
    /// The database pool.
    pub store: Store,
    /// The key ring.
    pub keys: Arc<KeyManager>,
    /// The rotation schedule the key job follows.
    pub schedule: Schedule,
    /// The password checks.
    pub hasher: PasswordHasher,
    /// The RS256 signing threads.
    pub signing: SigningPool,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// One held key's times, as the gauges need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTimes {
    /// Its algorithm.
    pub alg: Alg,
    /// Its kid.
    pub kid: String,
    /// Its generation.
    pub generation: i64,
    /// When it starts (started) signing.
    pub activates_at: UnixTime,
}

/// A held key's state at a moment.
fn state(k: &KeyTimes, signing: bool, now: UnixTime) -> &'static str {
    if signing {
        "signing"
    } else if k.activates_at > now {
        "pending"
    } else {
        "retired"
    }
}

/// Per algorithm: `(seconds until a new key next starts signing, seconds until the key job creates
/// the next key)`, following [`Schedule::plan`]: the next key is created `publish_lead` before the
/// newest key's `activates_at + rotation_period`, and activates then; a pending key activates at its
/// own time. `None` when no key of `alg` is held.
pub fn next_times(
    keys: &[KeyTimes],
    alg: Alg,
    schedule: &Schedule,
    now: UnixTime,
) -> Option<(i64, i64)> {
    let newest = keys
        .iter()
        .filter(|k| k.alg == alg)
        .max_by_key(|k| (k.generation, k.activates_at))?;
    let next_activation = keys
        .iter()
        .filter(|k| k.alg == alg && k.activates_at > now)
        .map(|k| k.activates_at)
        .min()
        .unwrap_or(newest.activates_at + schedule.rotation_period);
    let next_creation = newest.activates_at + schedule.rotation_period - schedule.publish_lead;
    Some((next_activation - now, next_creation - now))
}

impl Gauges {
    /// Writes every scrape-time gauge.
    pub fn write(&self, out: &mut Exposition<'_>) {
        let (admitted, capacity, argon_waiting) = self.hasher.load();
        out.gauge(
            POOL_QUEUE_DEPTH,
            "Jobs waiting for a thread, by pool: argon2 (password checks), rsa-sign (RS256 signatures).",
        );
        out.sample(
            POOL_QUEUE_DEPTH,
            &[("pool", "argon2")],
            count(argon_waiting),
        );
        out.sample(
            POOL_QUEUE_DEPTH,
            &[("pool", self.signing.name())],
            count(self.signing.waiting()),
        );
        out.gauge(
            PASSWORD_HASH_IN_FLIGHT,
            "Password checks admitted, queued or running.",
        );
        out.sample(PASSWORD_HASH_IN_FLIGHT, &[], count(admitted));
        out.gauge(
            PASSWORD_HASH_CAPACITY,
            "Most password checks admitted at once (threads + queue); beyond it sign-ins are refused as busy.",
        );
        out.sample(PASSWORD_HASH_CAPACITY, &[], count(capacity));
        if let Some(pool) = self.store.pool_status() {
            out.gauge(
                DB_POOL_CONNECTIONS,
                "Database connections by state: in_use, idle.",
            );
            out.sample(
                DB_POOL_CONNECTIONS,
                &[("state", "in_use")],
                pool.in_use.into(),
            );
            out.sample(DB_POOL_CONNECTIONS, &[("state", "idle")], pool.idle.into());
            out.gauge(DB_POOL_MAX, "The database pool's connection limit.");
            out.sample(DB_POOL_MAX, &[], pool.max.into());
        }
        self.write_keys(out);
    }

    fn write_keys(&self, out: &mut Exposition<'_>) {
        let now = self.clock.now();
        let snapshot = self.keys.ring().snapshot();
        let times: Vec<KeyTimes> = snapshot
            .keys
            .iter()
            .map(|k| KeyTimes {
                alg: k.alg,
                kid: k.kid.clone(),
                generation: k.generation,
                activates_at: k.activates_at,
            })
            .collect();
        let signing: Vec<&str> = Alg::ALL
            .iter()
            .filter_map(|a| snapshot.signing_key(*a, now).map(|(k, _)| k.kid.as_str()))
            .collect();
        out.gauge(
            KEY_AGE,
            "Seconds since each published signing key activated (negative while pending), by alg, kid and state (pending, signing, retired).",
        );
        for k in &times {
            let state = state(k, signing.contains(&k.kid.as_str()), now);
            let labels = [("alg", k.alg.as_str()), ("kid", &k.kid), ("state", state)];
            out.sample(KEY_AGE, &labels, seconds(now - k.activates_at));
        }
        let next: Vec<(Alg, (i64, i64))> = Alg::ALL
            .into_iter()
            .filter_map(|a| next_times(&times, a, &self.schedule, now).map(|t| (a, t)))
            .collect();
        out.gauge(
            KEY_NEXT_ACTIVATION,
            "Seconds until a new signing key starts signing, by alg (the pending key, or the next one the schedule creates).",
        );
        for (alg, (activation, _)) in &next {
            out.sample(
                KEY_NEXT_ACTIVATION,
                &[("alg", alg.as_str())],
                seconds(*activation),
            );
        }
        out.gauge(
            KEY_NEXT_ROTATION,
            "Seconds until the key job creates and publishes the next signing key, by alg; negative when overdue.",
        );
        for (alg, (_, rotation)) in &next {
            out.sample(
                KEY_NEXT_ROTATION,
                &[("alg", alg.as_str())],
                seconds(*rotation),
            );
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn count(n: usize) -> f64 {
    n as f64
}

#[allow(clippy::cast_precision_loss)]
fn seconds(s: i64) -> f64 {
    s as f64
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

    fn key(alg: Alg, generation: i64, activates_at: UnixTime) -> KeyTimes {
        KeyTimes {
            alg,
            kid: format!("{alg}-{generation}"),
            generation,
            activates_at,
        }
    }

    #[test]
    fn next_activation_and_rotation_follow_the_schedule() {
        // One key, active since 100: the next is created at 100 + 10000 - 1000 and signs at 10100.
        let one = [key(Alg::Es256, 1, 100)];
        assert_eq!(next_times(&one, Alg::Es256, &S, 600), Some((9_500, 8_500)));
        assert_eq!(next_times(&one, Alg::Rs256, &S, 600), None);
        // Overdue (the key job has not run yet): the rotation is negative.
        assert_eq!(next_times(&one, Alg::Es256, &S, 9_600), Some((500, -500)));
        // A pending successor: it activates at its own time; the one after is due a period later.
        let two = [key(Alg::Es256, 1, 100), key(Alg::Es256, 2, 10_100)];
        assert_eq!(
            next_times(&two, Alg::Es256, &S, 9_200),
            Some((900, 10_100 + 9_000 - 9_200))
        );
    }

    #[test]
    fn states() {
        let k = key(Alg::Rs256, 1, 100);
        assert_eq!(state(&k, true, 200), "signing");
        assert_eq!(state(&k, false, 50), "pending");
        assert_eq!(state(&k, false, 200), "retired");
    }
}
