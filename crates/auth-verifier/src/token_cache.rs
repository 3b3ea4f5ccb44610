//! The verified-token cache: claims of tokens already verified, keyed by the SHA-256 of the whole token.
//!
//! Sharded maps behind plain mutexes: a hit takes one uncontended lock on one of 32 shards and clones
//! an `Arc`. (A moka cache measured slower under load on two cores; see docs/BENCHMARKS.md.) Entries
//! are dropped once their token has expired; when a shard is full, expired entries go first, then
//! arbitrary ones: the bound is on memory, and correctness never depends on an entry being present.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth_core::UnixTime;

use crate::claims::Claims;

const SHARDS: usize = 32;

#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Vec<Mutex<HashMap<[u8; 32], Arc<Claims>>>>,
    per_shard: usize,
}

impl TokenCache {
    pub(crate) fn new(capacity: u64) -> Self {
        let per_shard = usize::try_from(capacity)
            .unwrap_or(usize::MAX)
            .div_ceil(SHARDS)
            .max(1);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
        }
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<HashMap<[u8; 32], Arc<Claims>>> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<Claims>> {
        match self.shard(key).lock() {
            Ok(map) => map.get(key).cloned(),
            Err(_) => None,
        }
    }

    pub(crate) fn insert(&self, key: [u8; 32], claims: Arc<Claims>, now: UnixTime) {
        let Ok(mut map) = self.shard(&key).lock() else {
            return;
        };
        if map.len() >= self.per_shard {
            map.retain(|_, c| c.exp > now);
            if map.len() >= self.per_shard
                && let Some(k) = map.keys().next().copied()
            {
                map.remove(&k);
            }
        }
        map.insert(key, claims);
    }

    pub(crate) fn clear(&self) {
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
        c.insert(k1, claims(10), 0);
        assert!(c.get(&k1).is_some());
        c.insert(k2, claims(100), 20); // k1 expired at 20: it goes first
        assert!(c.get(&k1).is_none());
        assert!(c.get(&k2).is_some());
        c.clear();
        assert!(c.get(&k2).is_none());
    }
}
