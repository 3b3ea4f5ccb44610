//! KEK rotation: `auth-server keys rewrap` re-seals every stored private key under the current
//! key-encryption key.
//!
//! Run it with the new KEK current and the old one previous (see the README's "Key-encryption key
//! rotation"). Each row not yet under the current KEK is opened with the KEK its `kek_id` names,
//! checked like a row the ring loads ([`super::binding::verify`]), sealed under the current KEK
//! with the version-2 associated data, and stored by a conditional update
//! ([`crate::store::Store::rewrap_key`]: same `kid`, same old `kek_id`, same old blob, not revoked)
//! that writes its `key.rewrapped` audit event in the same transaction. So two rewraps running at
//! once, or a rewrap racing a rotation, a revocation or a version-1 re-seal, re-seal each row
//! exactly once and never store a blob made from a stale read. Revoked rows hold no private key
//! and are skipped.

use auth_core::Alg;
use serde_json::json;

use super::binding::{self, AAD_V2};
use super::{KeyError, KeyManager};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::records::KeyRecord;
use crate::store::keys::Sealed;

/// How often one row is re-read and tried again when another writer changed it in between.
const ATTEMPTS: usize = 3;

/// What a rewrap did, row by row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// The id of the current KEK, under which every re-sealed row now is.
    pub kek_id: String,
    /// Rows this call re-sealed (kids).
    pub rewrapped: Vec<String>,
    /// Rows already under the current KEK when read.
    pub already_current: usize,
    /// Rows another writer moved to the current KEK while this call was working on them.
    pub rewrapped_elsewhere: usize,
    /// Revoked rows (their private key is erased; nothing to re-seal).
    pub revoked: usize,
    /// Rows that could not be re-sealed, with the reason: sealed under a KEK this server does not
    /// hold, or failing the checks every loaded row passes. They still need the old KEK.
    pub failed: Vec<(String, String)>,
}

impl RewrapReport {
    /// Whether every private key is now sealed under the current KEK (so previous KEKs may go).
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// What happened to one row.
enum Outcome {
    Rewrapped,
    AlreadyCurrent,
    Elsewhere,
    Revoked,
    Failed(String),
}

impl KeyManager {
    /// An operator's KEK rotation on the command line ([`KeyManager::rewrap_by`] by `cli`).
    pub async fn rewrap(&self) -> Result<RewrapReport, KeyError> {
        self.rewrap_by(&Actor::Admin("cli".into()), &RequestMeta::default())
            .await
    }

    /// Re-seals every key row not under the current KEK (see the module documentation), each with
    /// a `key.rewrapped` audit event by `actor`, then reloads the ring.
    pub async fn rewrap_by(
        &self,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<RewrapReport, KeyError> {
        let mut report = RewrapReport {
            kek_id: self.keks.current().id().to_owned(),
            ..RewrapReport::default()
        };
        for row in self.store.list_keys().await? {
            let kid = row.kid.clone();
            match self.rewrap_row(row, actor, request).await? {
                Outcome::Rewrapped => report.rewrapped.push(kid),
                Outcome::AlreadyCurrent => report.already_current += 1,
                Outcome::Elsewhere => report.rewrapped_elsewhere += 1,
                Outcome::Revoked => report.revoked += 1,
                Outcome::Failed(why) => report.failed.push((kid, why)),
            }
        }
        if let Err(e) = self.reload().await {
            tracing::warn!(error = %e, "reload after the rewrap failed; retried at the next reload");
        }
        tracing::info!(kek_id = %report.kek_id, rewrapped = report.rewrapped.len(),
            already_current = report.already_current, elsewhere = report.rewrapped_elsewhere,
            failed = report.failed.len(), "rewrap finished");
        Ok(report)
    }

    async fn rewrap_row(
        &self,
        mut row: KeyRecord,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Outcome, KeyError> {
        let current = self.keks.current();
        for attempt in 1..=ATTEMPTS {
            if row.revoked_at.is_some() {
                return Ok(Outcome::Revoked);
            }
            if row.kek_id == current.id() {
                return Ok(if attempt == 1 {
                    Outcome::AlreadyCurrent
                } else {
                    Outcome::Elsewhere
                });
            }
            let Some(old) = self.keks.by_id(&row.kek_id) else {
                let e = KeyError::UnknownKek {
                    kid: row.kid.clone(),
                    kek_id: row.kek_id.clone(),
                    held: self.keks.ids(),
                };
                return Ok(Outcome::Failed(e.to_string()));
            };
            let verified = match binding::verify(&row, old) {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Failed(e.to_string())),
            };
            let Some(der) = open(&row, old, verified.alg, &verified.jwk) else {
                return Ok(Outcome::Failed(
                    "the sealed private key does not open".into(),
                ));
            };
            let blob = binding::seal(current, &der, &row.kid, verified.alg, &verified.jwk)
                .map_err(KeyError::Crypto)?;
            let now = self.clock.now();
            let audit = AuditEvent::new(EventType::KeyRewrapped, actor.clone())
                .subject(&row.kid)
                .request(request)
                .detail(json!({
                    "alg": row.alg, "from_kek": row.kek_id, "to_kek": current.id(),
                }))
                .record(now);
            let sealed = Sealed {
                blob,
                kek_id: current.id().to_owned(),
                aad_version: AAD_V2,
            };
            let applied = self
                .store
                .rewrap_key(
                    &row.kid,
                    &row.kek_id,
                    &row.private_key_sealed,
                    sealed,
                    &audit,
                )
                .await?;
            if applied {
                crate::domain::audit::log(&audit);
                tracing::info!(kid = %row.kid, from = %row.kek_id, to = %current.id(),
                    "re-sealed signing key under the current key-encryption key");
                return Ok(Outcome::Rewrapped);
            }
            // Changed in between (re-sealed elsewhere, revoked, or a version-1 row re-sealed):
            // read it again and decide anew.
            match self.store.key(&row.kid).await? {
                Some(fresh) => row = fresh,
                None => return Ok(Outcome::Failed("the row disappeared".into())),
            }
        }
        Ok(Outcome::Failed(format!(
            "changed by other writers {ATTEMPTS} times in a row; run the rewrap again"
        )))
    }
}

/// The PKCS#8 DER of a row that [`binding::verify`] accepted under `kek`.
fn open(
    row: &KeyRecord,
    kek: &super::kek::Kek,
    alg: Alg,
    jwk: &auth_core::jwk::Jwk,
) -> Option<Vec<u8>> {
    let aad = binding::aad_for(row.aad_version, &row.kid, alg, jwk).ok()?;
    kek.open(&row.private_key_sealed, &aad, &row.kid).ok()
}
