//! Proof keys already parsed, by algorithm and RFC 7638 thumbprint: a client signs every proof with
//! the same key, so its JWK is turned into a verifier once, not per request.
//!
//! The thumbprint is the SHA-256 of the key's required public members (RFC 7638 §3), computed by
//! [`super::Proof::parse`] from the proof's own `jwk`: equal thumbprints are the same public key,
//! and the algorithm is part of the cache key (one RSA key may sign RS256 or PS256 proofs). Bounded:
//! a full map is emptied and refilled.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::key::{ProofAlg, ProofKey};
use super::{DpopError, Proof};

type Map = HashMap<String, Arc<ProofKey>>;

#[derive(Debug)]
pub(crate) struct KeyCache {
    /// One map per algorithm, indexed like [`ProofAlg::ALL`].
    maps: [RwLock<Map>; ProofAlg::ALL.len()],
    capacity: usize,
}

fn index(alg: ProofAlg) -> usize {
    ProofAlg::ALL
        .iter()
        .position(|a| *a == alg)
        .unwrap_or_default()
}

impl KeyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            maps: std::array::from_fn(|_| RwLock::new(HashMap::new())),
            capacity: capacity.div_ceil(ProofAlg::ALL.len()).max(1),
        }
    }

    /// The parsed key of `proof`, from the cache or parsed now (and cached if valid).
    pub(crate) fn key_of(&self, proof: &Proof) -> Result<Arc<ProofKey>, DpopError> {
        let lock = &self.maps[index(proof.alg())];
        if let Ok(map) = lock.read()
            && let Some(k) = map.get(proof.jkt())
        {
            return Ok(k.clone());
        }
        let key = Arc::new(proof.parse_key()?);
        if let Ok(mut map) = lock.write() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(proof.jkt().to_owned(), key.clone());
        }
        Ok(key)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.maps
            .iter()
            .map(|m| m.read().map(|m| m.len()).unwrap_or_default())
            .sum()
    }
}
