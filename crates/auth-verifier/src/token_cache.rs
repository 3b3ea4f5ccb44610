//! The verified-token cache: claims of tokens already verified.
//!
//! Two levels. Behind, sharded maps under plain mutexes, keyed by the SHA-256 of the whole token (a
//! moka cache measured slower under load on two cores; see docs/BENCHMARKS.md). In front, a small
//! per-thread map keyed by the token itself under a fast seeded hash, so that a hit computes no
//! SHA-256 and writes no memory another core reads (each thread holds its own copy of the claims,
//! so even their reference count is not shared). A front entry is found only by the exact token
//! bytes; only verified tokens ever enter it.
//!
//! Entries are dropped once their token has expired; when a map is full, expired entries go first,
//! then arbitrary ones: the bound is on memory, and correctness never depends on an entry being
//! present, because every hit is re-checked (expiry, key staleness, revocations) by the verifier.
//! `clear` bumps an epoch that empties every thread's map on its next use.
//!
//! An entry may carry the service's typed claims ([`crate::Verified`]), parsed once; the per-thread
//! copy copies them too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth_core::UnixTime;
use sha2::{Digest, Sha256};

use crate::claims::Claims;
use crate::typed::Custom;

const SHARDS: usize = 32;

/// Cached claims, the issuer's key-set version they were verified under, and the typed claims
/// parsed from them, if any.
pub(crate) type Entry = (Arc<Claims>, u64, Option<Custom>);
/// Entries in each thread's own map (tokens are about 1 KB: a few hundred KB per thread at most).
const PER_THREAD: usize = 256;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

type Digest32 = [u8; 32];

#[derive(Default)]
struct Local {
    owner: usize,
    epoch: u64,
    map: HashMap<Box<[u8]>, Entry, foldhash::fast::RandomState>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    id: usize,
    epoch: AtomicU64,
    shards: Vec<Mutex<HashMap<Digest32, Entry>>>,
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

    fn shard(&self, key: &Digest32) -> &Mutex<HashMap<Digest32, Entry>> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    /// Runs `f` on this thread's map, emptied first if it belongs to another cache or epoch.
    fn with_local<R>(&self, f: impl FnOnce(&mut Local) -> R) -> R {
        let epoch = self.epoch.load(Ordering::Acquire);
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if l.owner != self.id || l.epoch != epoch {
                *l = Local {
                    owner: self.id,
                    epoch,
                    map: HashMap::default(),
                };
            }
            f(&mut l)
        })
    }

    #[cfg(test)]
    pub(crate) fn get(&self, token: &[u8]) -> Option<Entry> {
        self.get_with(token, true)
    }

    /// [`TokenCache::get`]; the typed claims are left out of the answer unless `custom` (an
    /// untyped hit then touches nothing but the claims' reference count).
    #[inline]
    pub(crate) fn get_with(&self, token: &[u8], custom: bool) -> Option<Entry> {
        let local = self.with_local(|l| {
            let (claims, version, typed) = l.map.get(token)?;
            Some((
                claims.clone(),
                *version,
                typed.as_ref().filter(|_| custom).cloned(),
            ))
        });
        if let Some(hit) = local {
            return Some(hit);
        }
        let key: Digest32 = Sha256::digest(token).into();
        let shared = match self.shard(&key).lock() {
            Ok(map) => map.get(&key).cloned(),
            Err(_) => None,
        }?;
        // This thread's own copy, so later hits share nothing with other threads.
        let custom = shared.2.as_ref().and_then(Custom::deep_copy);
        let own = (Arc::new((*shared.0).clone()), shared.1, custom);
        self.put_local(token, own.clone());
        Some(own)
    }

    fn put_local(&self, token: &[u8], entry: Entry) {
        self.with_local(|l| {
            if l.map.len() >= PER_THREAD {
                l.map.clear();
            }
            l.map.insert(token.into(), entry);
        });
    }

    pub(crate) fn insert(&self, token: &[u8], entry: Entry, now: UnixTime) {
        self.put_local(token, entry.clone());
        let key: Digest32 = Sha256::digest(token).into();
        let Ok(mut map) = self.shard(&key).lock() else {
            return;
        };
        if map.len() >= self.per_shard {
            map.retain(|_, (c, _, _)| c.exp > now);
            if map.len() >= self.per_shard
                && let Some(k) = map.keys().next().copied()
            {
                map.remove(&k);
            }
        }
        map.insert(key, entry);
    }

    /// Attaches typed claims to the entry of `token`, if it is still cached (here and shared).
    pub(crate) fn set_custom(&self, token: &[u8], custom: Custom) {
        self.with_local(|l| {
            if let Some(e) = l.map.get_mut(token) {
                e.2 = Some(custom.clone());
            }
        });
        let key: Digest32 = Sha256::digest(token).into();
        if let Ok(mut map) = self.shard(&key).lock()
            && let Some(e) = map.get_mut(&key)
        {
            e.2 = Some(custom);
        }
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

    fn shard_of(token: &str) -> usize {
        usize::from(Sha256::digest(token)[0]) % SHARDS
    }

    #[test]
    fn bounded_and_expired_first() {
        let c = TokenCache::new(SHARDS as u64); // one entry per shard
        let t1 = "token-0";
        let t2 = (1..10_000)
            .map(|i| format!("token-{i}"))
            .find(|t| shard_of(t) == shard_of(t1))
            .unwrap_or_default();
        c.insert(t1.as_bytes(), (claims(10), 0, None), 0);
        assert!(c.get(t1.as_bytes()).is_some());
        c.insert(t2.as_bytes(), (claims(100), 0, None), 20); // t1 expired at 20: it leaves the shared level first
        // Seen from a thread with no local copy (this one may keep its own until it is full or
        // cleared: hits are re-checked against expiry by the verifier anyway).
        let (has1, has2) = std::thread::scope(|s| {
            s.spawn(|| {
                (
                    c.get(t1.as_bytes()).is_some(),
                    c.get(t2.as_bytes()).is_some(),
                )
            })
            .join()
            .unwrap_or((true, false))
        });
        assert!(!has1 && has2);
        assert!(c.get(t2.as_bytes()).is_some());
        c.clear();
        assert!(
            c.get(t2.as_bytes()).is_none(),
            "clear empties this thread's map too"
        );
    }

    #[test]
    fn per_thread_copies_and_owner_isolation() {
        let a = TokenCache::new(64);
        let b = TokenCache::new(64);
        let t = "a.b.c";
        a.insert(t.as_bytes(), (claims(50), 0, None), 0);
        let first = a.get(t.as_bytes()).map_or_else(|| claims(0), |e| e.0);
        let second = a.get(t.as_bytes()).map_or_else(|| claims(0), |e| e.0);
        assert!(
            Arc::ptr_eq(&first, &second),
            "the second hit comes from this thread's map"
        );
        assert_eq!(first.exp, 50);
        assert!(
            b.get(t.as_bytes()).is_none(),
            "another cache's entries are not visible"
        );
        assert!(a.get(b"a.b.d").is_none(), "only the exact token is a hit");
        let other_thread = std::thread::scope(|s| {
            s.spawn(|| a.get(t.as_bytes()).map(|e| e.0.exp))
                .join()
                .ok()
                .flatten()
        });
        assert_eq!(other_thread, Some(50));
    }

    #[test]
    fn a_full_thread_map_starts_over_but_the_shared_level_still_answers() {
        let c = TokenCache::new(10_000);
        for i in 0..=PER_THREAD {
            c.insert(format!("t{i}").as_bytes(), (claims(50), 0, None), 0);
        }
        let local_len = c.with_local(|l| l.map.len());
        assert!(local_len <= PER_THREAD, "{local_len}");
        assert!((0..=PER_THREAD).all(|i| c.get(format!("t{i}").as_bytes()).is_some()));
    }
}
