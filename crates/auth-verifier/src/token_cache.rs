//! The verified-token cache: claims of tokens already verified, keyed by the SHA-256 of the whole token.
//!
//! Two levels. A small per-thread map in front (no shared memory is written on a hit: each thread
//! holds its own copy of the claims, so even their reference count is not shared), and behind it
//! sharded maps under plain mutexes. (A moka cache measured slower under load on two cores; see
//! docs/BENCHMARKS.md.) Entries are dropped once their token has expired; when a map is full, expired
//! entries go first, then arbitrary ones: the bound is on memory, and correctness never depends on an
//! entry being present, because every hit is re-checked (expiry, key staleness, revocations) by the
//! verifier. `clear` bumps an epoch that empties every thread's map on its next use.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth_core::UnixTime;

use crate::claims::Claims;

const SHARDS: usize = 32;

/// Cached claims and the issuer's key-set version they were verified under.
pub(crate) type Entry = (Arc<Claims>, u64);
/// Entries in each thread's own map.
const PER_THREAD: usize = 256;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

#[derive(Default)]
struct Local {
    owner: usize,
    epoch: u64,
    map: HashMap<[u8; 32], Entry>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    id: usize,
    epoch: AtomicU64,
    shards: Vec<Mutex<HashMap<[u8; 32], Entry>>>,
    per_shard: usize,
}

impl TokenCache {
    pub(crate) fn new(capacity: u64) -> Self {
        let per_shard = usize::try_from(capacity)
            .unwrap_or(usize::MAX)
            .div_ceil(SHARDS)
            .max(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
        }
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<HashMap<[u8; 32], Entry>> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Entry> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let local = LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if l.owner != self.id || l.epoch != epoch {
                *l = Local {
                    owner: self.id,
                    epoch,
                    map: HashMap::new(),
                };
            }
            l.map.get(key).cloned()
        });
        if local.is_some() {
            return local;
        }
        let shared = match self.shard(key).lock() {
            Ok(map) => map.get(key).cloned(),
            Err(_) => None,
        }?;
        // This thread's own copy, so later hits share nothing with other threads.
        let own = (Arc::new((*shared.0).clone()), shared.1);
        self.put_local(*key, own.clone());
        Some(own)
    }

    fn put_local(&self, key: [u8; 32], entry: Entry) {
        let epoch = self.epoch.load(Ordering::Acquire);
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if l.owner != self.id || l.epoch != epoch || l.map.len() >= PER_THREAD {
                *l = Local {
                    owner: self.id,
                    epoch,
                    map: HashMap::new(),
                };
            }
            l.map.insert(key, entry);
        });
    }

    pub(crate) fn insert(&self, key: [u8; 32], entry: Entry, now: UnixTime) {
        self.put_local(key, entry.clone());
        let Ok(mut map) = self.shard(&key).lock() else {
            return;
        };
        if map.len() >= self.per_shard {
            map.retain(|_, (c, _)| c.exp > now);
            if map.len() >= self.per_shard
                && let Some(k) = map.keys().next().copied()
            {
                map.remove(&k);
            }
        }
        map.insert(key, entry);
    }

    pub(crate) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for s in &self.shards {
            if let Ok(mut m) = s.lock() {
                m.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(Claims {
            iss: "i".into(),
            sub: None,
            aud: vec![],
            exp,
            nbf: None,
            iat: None,
            jti: None,
            client_id: None,
            scopes: vec![],
            extra: serde_json::Map::new(),
        })
    }

    #[test]
    fn bounded_and_expired_first() {
        let c = TokenCache::new(SHARDS as u64); // one entry per shard
        let k1 = [0u8; 32];
        let mut k2 = [0u8; 32];
        k2[1] = 1; // same shard as k1
        c.insert(k1, (claims(10), 0), 0);
        assert!(c.get(&k1).is_some());
        c.insert(k2, (claims(100), 0), 20); // k1 expired at 20: it leaves the shared level first
        // Seen from a thread with no local copy (this one may keep its own until it is full or
        // cleared: hits are re-checked against expiry by the verifier anyway).
        let (has1, has2) = std::thread::scope(|s| {
            s.spawn(|| (c.get(&k1).is_some(), c.get(&k2).is_some()))
                .join()
                .unwrap_or((true, false))
        });
        assert!(!has1 && has2);
        assert!(c.get(&k2).is_some());
        c.clear();
        assert!(c.get(&k2).is_none(), "clear empties this thread's map too");
    }

    #[test]
    fn per_thread_copies_and_owner_isolation() {
        let a = TokenCache::new(64);
        let b = TokenCache::new(64);
        let k = [7u8; 32];
        a.insert(k, (claims(50), 0), 0);
        let first = a.get(&k).map_or_else(|| claims(0), |e| e.0);
        let second = a.get(&k).map_or_else(|| claims(0), |e| e.0);
        assert!(
            Arc::ptr_eq(&first, &second),
            "the second hit comes from this thread's map"
        );
        assert_eq!(first.exp, 50);
        assert!(
            b.get(&k).is_none(),
            "another cache's entries are not visible"
        );
        assert!(a.get(&k).is_some());
        let other_thread =
            std::thread::scope(|s| s.spawn(|| a.get(&k).map(|e| e.0.exp)).join().ok().flatten());
        assert_eq!(other_thread, Some(50));
    }
}
