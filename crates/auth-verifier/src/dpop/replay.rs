//! The in-memory, bounded cache of DPoP proof `jti`s already accepted (RFC 9449 §11.1), per
//! verifier (one process).
//!
//! Entries are keyed by 128 bits of the SHA-256 of the `jti` (a fixed size per entry, whatever the
//! proof carried) and kept until the proof would leave its `iat` window. Lookup and insertion are
//! separate: the lookup runs before any signature check (a replay costs none), the insertion after
//! the proof verified, and is atomic (of two requests racing with one proof, one wins).
//!
//! When a shard is full of live entries, a new proof is refused ([`Remember::Full`]): evicting a
//! live entry would let its proof be replayed, so the bound fails closed.

use std::collections::HashMap;
use std::sync::Mutex;

use auth_core::UnixTime;
use sha2::{Digest, Sha256};

const SHARDS: usize = 16;

type Key = [u8; 16];

/// The answer of [`ReplayCache::remember`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Remember {
    /// First use: remembered.
    First,
    /// Seen before and still within its window.
    Replayed,
    /// No room for it among live entries.
    Full,
}

#[derive(Debug)]
pub(crate) struct ReplayCache {
    shards: Vec<Mutex<HashMap<Key, UnixTime>>>,
    per_shard: usize,
}

fn key(jti: &str) -> Key {
    let digest = Sha256::digest(jti.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

impl ReplayCache {
    /// A cache of about `capacity` live entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, k: &Key) -> &Mutex<HashMap<Key, UnixTime>> {
        &self.shards[usize::from(k[0]) % SHARDS]
    }

    /// Whether `jti` was accepted before and is still within its window at `now`.
    pub(crate) fn seen(&self, jti: &str, now: UnixTime) -> bool {
        let k = key(jti);
        match self.shard(&k).lock() {
            Ok(map) => map.get(&k).is_some_and(|until| *until >= now),
            // A poisoned shard: fail closed.
            Err(_) => true,
        }
    }

    /// Records `jti` until `until` (inclusive), unless it is already there and live.
    pub(crate) fn remember(&self, jti: &str, until: UnixTime, now: UnixTime) -> Remember {
        let k = key(jti);
        let Ok(mut map) = self.shard(&k).lock() else {
            return Remember::Full;
        };
        if map.get(&k).is_some_and(|u| *u >= now) {
            return Remember::Replayed;
        }
        if map.len() >= self.per_shard {
            map.retain(|_, u| *u >= now);
            if map.len() >= self.per_shard {
                return Remember::Full;
            }
        }
        map.insert(k, until);
        Remember::First
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_within_its_window_then_forgotten() {
        let c = ReplayCache::new(100);
        assert!(!c.seen("a", 10));
        assert_eq!(c.remember("a", 75, 10), Remember::First);
        assert!(c.seen("a", 75));
        assert_eq!(c.remember("a", 80, 20), Remember::Replayed);
        assert!(!c.seen("a", 76), "past its window it is no longer a replay");
        assert_eq!(c.remember("a", 140, 76), Remember::First);
        assert_eq!(c.remember("b", 75, 10), Remember::First);
    }

    #[test]
    fn a_full_cache_drops_expired_entries_and_refuses_rather_than_evict_live_ones() {
        let c = ReplayCache::new(SHARDS); // one entry per shard
        let first = "jti-0";
        let same_shard = (1..10_000)
            .map(|i| format!("jti-{i}"))
            .find(|j| key(j)[0] as usize % SHARDS == key(first)[0] as usize % SHARDS)
            .unwrap_or_default();
        assert_eq!(c.remember(first, 50, 0), Remember::First);
        assert_eq!(c.remember(&same_shard, 60, 10), Remember::Full);
        assert!(c.seen(first, 10), "the live entry was kept");
        assert_eq!(c.remember(&same_shard, 120, 51), Remember::First);
        assert!(!c.seen(first, 51));
    }

    #[test]
    fn racing_threads_remember_one_jti_once() {
        let c = ReplayCache::new(1000);
        let firsts = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| c.remember("same", 100, 0) == Remember::First))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(false))
                .filter(|first| *first)
                .count()
        });
        assert_eq!(firsts, 1);
    }
}
