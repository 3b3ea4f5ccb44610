//! The in-memory key set: ready signers and the pre-rendered JWKS.
//!
//! Rebuilt from the database every refresh interval; the JWKS body and its ETag change only when the
//! published key set does, and requests read one `Arc` snapshot without touching the database. A row
//! enters the ring only if it passes [`super::binding`]: its sealed private key opens under the
//! key-encryption key its `kek_id` names and its `kid` is the RFC 7638 thumbprint of its public key.
//! A row that does not is logged and neither published nor used to sign; a row naming a KEK this
//! server does not hold is also reported to the caller ([`Installed::unknown_kek`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use auth_core::jwk::{Jwk, JwkSet};
use auth_core::{Alg, UnixTime};
use bytes::Bytes;
use josekit::jws::JwsSigner;

use super::binding;
use super::kek_set::KekSet;
use crate::domain::random;
use crate::domain::records::KeyRecord;

/// A key as the running server holds it: only keys that passed every check of
/// [`super::binding`] are held, so every key in the JWKS can sign.
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
    /// Its private key.
    pub signer: Arc<dyn JwsSigner>,
    /// A digest of the stored row's key material (sealing version, KEK id, public JWK, sealed blob): a
    /// signer is reused at the next reload only for the very same row.
    row_digest: Vec<u8>,
}

/// A version-1 row that passed its checks, sealed anew with the version-2 associated data, for the
/// caller to store with a conditional update.
#[derive(Debug, Clone)]
pub struct Reseal {
    /// The row's kid.
    pub kid: String,
    /// The blob it holds now (the update applies only if it still does).
    pub old_sealed: Vec<u8>,
    /// The version-2 blob.
    pub new_sealed: Vec<u8>,
}

/// What [`KeyRing::install`] did.
#[derive(Debug, Default)]
pub struct Installed {
    /// Whether the published JWKS changed.
    pub changed: bool,
    /// The version-1 rows to re-seal.
    pub reseals: Vec<Reseal>,
    /// `(kid, kek_id)` of the rows sealed under a KEK this server does not hold (left out).
    pub unknown_kek: Vec<(String, String)>,
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

    /// The key that signs for `alg` at `now`: the newest held key whose `activates_at` has passed
    /// and that has not retired. Every replica computes the same answer from the clock alone. A
    /// retired key never signs again, even when its successor cannot be used here (wrong KEK): then
    /// there is no key and token requests fail, rather than signing with a key that is about to
    /// leave the JWKS.
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
            .map(|k| (k, &k.signer))
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

    /// Replaces the snapshot with one built from `rows` (the keys live at `now`). Only rows that
    /// pass [`binding::verify`] are held; every other row is logged and left out (never published,
    /// never used to sign). Each row is opened with the KEK its `kek_id` names. Signers already
    /// loaded from the same row are reused.
    pub fn install(&self, rows: &[KeyRecord], keks: &KekSet) -> Installed {
        let old = self.snapshot();
        let reuse: HashMap<&str, &LoadedKey> =
            old.keys.iter().map(|k| (k.kid.as_str(), k)).collect();
        let mut keys = Vec::with_capacity(rows.len());
        let mut reseals = Vec::new();
        let mut unknown_kek = Vec::new();
        for row in rows {
            let digest = row_digest(row);
            if let Some(k) = reuse.get(row.kid.as_str())
                && k.row_digest == digest
                && row.revoked_at.is_none()
            {
                keys.push(LoadedKey {
                    retires_at: row.retires_at,
                    removed_at: row.removed_at,
                    activates_at: row.activates_at,
                    generation: row.generation,
                    ..(*k).clone()
                });
                continue;
            }
            let Some(kek) = keks.by_id(&row.kek_id) else {
                tracing::error!(kid = %row.kid, kek_id = %row.kek_id, held = %keks.ids(),
                    "signing key row sealed under a key-encryption key this server does not hold");
                unknown_kek.push((row.kid.clone(), row.kek_id.clone()));
                continue;
            };
            let verified = match binding::verify(row, kek) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(kid = %row.kid, alg = %row.alg, kek_id = %row.kek_id,
                        aad_version = row.aad_version, error = %e,
                        "signing key row refused: not published and never used to sign");
                    continue;
                }
            };
            match binding::reseal(row, &verified, kek) {
                Some(Ok(new_sealed)) => reseals.push(Reseal {
                    kid: row.kid.clone(),
                    old_sealed: row.private_key_sealed.clone(),
                    new_sealed,
                }),
                Some(Err(e)) => tracing::warn!(kid = %row.kid, error = %e, "re-sealing failed"),
                None => {}
            }
            keys.push(LoadedKey {
                kid: row.kid.clone(),
                alg: verified.alg,
                generation: row.generation,
                activates_at: row.activates_at,
                retires_at: row.retires_at,
                removed_at: row.removed_at,
                jwk: verified.jwk,
                signer: verified.signer,
                row_digest: digest,
            });
        }
        let new = Snapshot::render(keys);
        let changed = new.etag != old.etag;
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(new),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(new),
        }
        Installed {
            changed,
            reseals,
            unknown_kek,
        }
    }
}

/// Identifies the stored key material of a row (length-prefixed, so no two rows collide).
fn row_digest(row: &KeyRecord) -> Vec<u8> {
    let mut buf = Vec::with_capacity(row.public_jwk.len() + row.private_key_sealed.len() + 64);
    for part in [
        row.aad_version.to_be_bytes().as_slice(),
        row.alg.as_bytes(),
        row.kid.as_bytes(),
        row.kek_id.as_bytes(),
        row.public_jwk.as_bytes(),
        &row.private_key_sealed,
    ] {
        buf.extend_from_slice(&(part.len() as u64).to_be_bytes());
        buf.extend_from_slice(part);
    }
    random::sha256(&buf)
}
