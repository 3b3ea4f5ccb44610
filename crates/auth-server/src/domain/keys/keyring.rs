//! The in-memory key set: ready signers and the pre-rendered JWKS.
//!
//! Rebuilt from the database every refresh interval; the JWKS body and its ETag change only when the
//! published key set does, and requests read one `Arc` snapshot without touching the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use auth_core::jwk::{Jwk, JwkSet};
use auth_core::{Alg, UnixTime};
use bytes::Bytes;
use josekit::jws::JwsSigner;

use super::kek::Kek;
use super::material;
use crate::domain::random;
use crate::store::entities::signing_key;

/// A key as the running server holds it.
#[derive(Debug, Clone)]
pub struct LoadedKey {
    /// Key id.
    pub kid: String,
    /// Its one algorithm.
    pub alg: Alg,
    /// Generation within the algorithm.
    pub generation: i64,
    /// When it may start signing.
    pub activates_at: UnixTime,
    /// When it stops signing (its successor activates), if scheduled.
    pub retires_at: Option<UnixTime>,
    /// When it leaves the JWKS, if scheduled.
    pub removed_at: Option<UnixTime>,
    /// Its public JWK.
    pub jwk: Jwk,
    /// `None` if the private part could not be opened (wrong KEK): published, but never used to sign.
    pub signer: Option<Arc<dyn JwsSigner>>,
}

/// One consistent view of the key set.
#[derive(Debug)]
pub struct Snapshot {
    /// Keys in JWKS order.
    pub keys: Vec<LoadedKey>,
    /// The rendered `{"keys":[...]}` document.
    pub jwks: Bytes,
    /// Strong ETag of `jwks`, quoted.
    pub etag: String,
}

impl Snapshot {
    fn empty() -> Self {
        Self::render(Vec::new())
    }

    fn render(keys: Vec<LoadedKey>) -> Self {
        let set = JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        };
        let body = serde_json::to_vec(&set).unwrap_or_else(|_| b"{\"keys\":[]}".to_vec());
        let etag = random::strong_etag(&body);
        Self {
            keys,
            jwks: Bytes::from(body),
            etag,
        }
    }

    /// The key that signs for `alg` at `now`: the newest whose `activates_at` has passed, that has not
    /// retired, and that this replica can use. Every replica computes the same answer from the clock
    /// alone. A retired key never signs again, even when its successor cannot be used here (wrong
    /// KEK): then there is no key and token requests fail, rather than signing with a key that is
    /// about to leave the JWKS.
    pub fn signing_key(
        &self,
        alg: Alg,
        now: UnixTime,
    ) -> Option<(&LoadedKey, &Arc<dyn JwsSigner>)> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg && k.activates_at <= now)
            .filter(|k| k.retires_at.is_none_or(|r| r > now))
            .filter(|k| k.removed_at.is_none_or(|r| r > now))
            .filter_map(|k| k.signer.as_ref().map(|s| (k, s)))
            .max_by_key(|(k, _)| (k.activates_at, k.generation))
    }
}

/// The shared, swappable key set.
#[derive(Debug)]
pub struct KeyRing {
    current: RwLock<Arc<Snapshot>>,
}

impl Default for KeyRing {
    fn default() -> Self {
        Self {
            current: RwLock::new(Arc::new(Snapshot::empty())),
        }
    }
}

impl KeyRing {
    /// The current snapshot (a cheap `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the snapshot with one built from `rows` (the keys live at `now`). Signers already
    /// loaded are reused; new private keys are opened with `kek`. Returns true if the published
    /// JWKS changed.
    pub fn install(&self, rows: &[signing_key::Model], kek: &Kek) -> bool {
        let old = self.snapshot();
        let reuse: HashMap<&str, &Arc<dyn JwsSigner>> = old
            .keys
            .iter()
            .filter_map(|k| k.signer.as_ref().map(|s| (k.kid.as_str(), s)))
            .collect();
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            match load(row, kek, reuse.get(row.kid.as_str()).copied()) {
                Ok(k) => keys.push(k),
                Err(e) => {
                    tracing::error!(kid = %row.kid, error = %e, "skipping unusable signing key")
                }
            }
        }
        let new = Snapshot::render(keys);
        let changed = new.etag != old.etag;
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(new),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(new),
        }
        changed
    }
}

fn load(
    row: &signing_key::Model,
    kek: &Kek,
    reuse: Option<&Arc<dyn JwsSigner>>,
) -> Result<LoadedKey, String> {
    let alg: Alg = row.alg.parse().map_err(|e| format!("{e}"))?;
    let jwk: Jwk = serde_json::from_str(&row.public_jwk).map_err(|e| format!("public JWK: {e}"))?;
    let signer = match reuse {
        Some(s) => Some(s.clone()),
        None => {
            let opened = kek
                .open(&row.private_key_sealed, &aad(&row.kid, alg), &row.kid)
                .and_then(|der| {
                    material::signer(alg, &der, &row.kid)
                        .map_err(|e| super::kek::KekError::Seal(e.to_string()))
                });
            match opened {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(kid = %row.kid, kek_id = %row.kek_id, error = %e,
                        "private key cannot be opened; the key stays published but will not sign");
                    None
                }
            }
        }
    };
    Ok(LoadedKey {
        kid: row.kid.clone(),
        alg,
        generation: row.generation,
        activates_at: row.activates_at,
        retires_at: row.retires_at,
        removed_at: row.removed_at,
        jwk,
        signer,
    })
}

/// The associated data that binds a sealed private key to its row.
pub fn aad(kid: &str, alg: Alg) -> Vec<u8> {
    format!("signing-key|{kid}|{alg}").into_bytes()
}
