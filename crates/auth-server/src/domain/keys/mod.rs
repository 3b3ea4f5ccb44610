//! Signing keys: generation, sealing, the rotation lifecycle, and the in-memory key ring.
//!
//! The key that signs for an algorithm is the newest one whose `activates_at` has passed, so every
//! replica picks the same key from the clock alone, with no leader. A new key is created
//! `publish_lead` ahead of its activation (longer than the JWKS `max-age`); a retired key stays
//! published until every token it signed has expired. Creation is guarded by the unique
//! `(alg, generation)` index, so two replicas never both create the next key.
//!
//! Only rows that pass [`binding`] are loaded (sealed private key opens under the key-encryption
//! key, `kid` is the RFC 7638 thumbprint of the public key); rows sealed before the public key was
//! bound into the associated data are re-sealed at reload. An operator's emergency revocation
//! ([`KeyManager::revoke`]) takes a key out at once, with a successor signing at once.
//!
//! Each row is opened with the key-encryption key its `kek_id` names ([`kek_set`]): the current KEK
//! seals, previous KEKs are accepted for opening during a KEK rotation, and
//! [`KeyManager::rewrap`] ([`rewrap`]) re-seals every row under the current KEK.

use std::sync::Arc;

use auth_core::{Alg, Clock, UnixTime};

pub mod binding;
pub mod kek;
pub mod kek_set;
pub mod keyring;
pub mod lifecycle;
pub mod material;
pub mod rewrap;
mod state;

use kek_set::KekSet;
use keyring::KeyRing;
use lifecycle::{CLOCK_SKEW_ALLOWANCE_SECS, Newest, Plan, Schedule};
pub use state::KeyState;

use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::records::KeyRecord;
use crate::store::keys::KeyRevocation;
use crate::store::{Store, StoreError};

/// A key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Generating or sealing failed.
    #[error("{0}")]
    Crypto(String),
    /// A stored key is sealed under a key-encryption key this server does not hold.
    #[error(
        "signing key {kid} is sealed under key-encryption key {kek_id}, which this server does not \
         hold (it holds {held}): give it that KEK in AUTH_SERVER_KEYS_KEK or \
         AUTH_SERVER_KEYS_KEK_PREVIOUS (or their _FILE forms)"
    )]
    UnknownKek {
        /// The key's id.
        kid: String,
        /// The id of the KEK that sealed it.
        kek_id: String,
        /// The ids of the KEKs this server holds, current first.
        held: String,
    },
}

/// What a rotation did for one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// Not due.
    NotDue,
    /// A pending key already exists.
    AlreadyPending {
        /// When it activates.
        activates_at: UnixTime,
    },
    /// This call created a key.
    Created {
        /// Its kid.
        kid: String,
        /// Its generation.
        generation: i64,
        /// When it starts signing.
        activates_at: UnixTime,
    },
    /// Another replica created the same generation first; nothing was written here.
    LostRace,
}

/// What an emergency revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationOutcome {
    /// The key is revoked: out of the JWKS and never signing again.
    Revoked {
        /// Its algorithm.
        alg: String,
        /// The key that signs for the algorithm from now on, if one was created (none when the
        /// revoked key had already retired: its successor signs).
        successor: Option<String>,
    },
    /// It was already revoked.
    AlreadyRevoked,
    /// No such key.
    NotFound,
}

/// How many times a revocation is retried when a rotation took its successor's generation.
const REVOKE_ATTEMPTS: usize = 3;

/// Owns the key lifecycle and the key ring of this replica.
#[derive(Debug)]
pub struct KeyManager {
    store: Store,
    keks: KekSet,
    clock: Arc<dyn Clock>,
    schedule: Schedule,
    rsa_bits: usize,
    ring: KeyRing,
}

impl KeyManager {
    /// A manager with an empty ring; call [`KeyManager::maintain`] before serving.
    pub fn new(
        store: Store,
        keks: KekSet,
        clock: Arc<dyn Clock>,
        schedule: Schedule,
        rsa_bits: usize,
    ) -> Self {
        Self {
            store,
            keks,
            clock,
            schedule,
            rsa_bits,
            ring: KeyRing::default(),
        }
    }

    /// Every key, oldest first, with its lifecycle state at the current time.
    pub async fn list(&self) -> Result<Vec<(KeyRecord, KeyState)>, KeyError> {
        let now = self.clock.now();
        Ok(self
            .store
            .list_keys()
            .await?
            .into_iter()
            .map(|r| {
                let state = KeyState::of(&r, now);
                (r, state)
            })
            .collect())
    }

    /// The key ring that signs and publishes.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The periodic job of every replica: create keys that are due (the first ones on an empty
    /// database), then reload the ring.
    pub async fn maintain(&self) -> Result<Vec<(Alg, RotationOutcome)>, KeyError> {
        // Reload even when a rotation failed: successors and removals made by other replicas must
        // still reach this one.
        let rotated = self
            .rotate_inner(&Alg::ALL, false, &Actor::System, &RequestMeta::default())
            .await;
        let reloaded = self.reload().await;
        let out = rotated?;
        reloaded?;
        Ok(out)
    }

    /// An operator's rotation on the command line ([`KeyManager::rotate_by`] by `cli`).
    pub async fn rotate(&self, algs: &[Alg]) -> Result<Vec<(Alg, RotationOutcome)>, KeyError> {
        self.rotate_by(algs, &Actor::Admin("cli".into()), &RequestMeta::default())
            .await
    }

    /// An operator's rotation (`auth-server keys rotate`, `POST /admin/v1/keys/rotate`): creates
    /// the next key for each algorithm now, to activate after the publish lead, each with its
    /// `key.rotated` audit event by `actor` in the key's own transaction. Reloads the ring.
    pub async fn rotate_by(
        &self,
        algs: &[Alg],
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Vec<(Alg, RotationOutcome)>, KeyError> {
        let rotated = self.rotate_inner(algs, true, actor, request).await;
        let reloaded = self.reload().await;
        let out = rotated?;
        reloaded?;
        Ok(out)
    }

    /// Algorithms for which this replica has no key it can sign with at `now` (e.g. its KEK does not
    /// open the stored keys).
    pub fn algorithms_without_signer(&self) -> Vec<Alg> {
        let snap = self.ring.snapshot();
        let now = self.clock.now();
        Alg::ALL
            .into_iter()
            .filter(|a| snap.signing_key(*a, now).is_none())
            .collect()
    }

    /// Reloads the live keys from the database into the ring (only rows that pass [`binding`]),
    /// then re-seals version-1 rows that passed into version 2, each with a conditional update.
    /// A row sealed under a KEK this server does not hold is left out of the ring (the others are
    /// installed all the same, so revocations and removals still take effect) and the reload
    /// returns [`KeyError::UnknownKek`] naming it: start-up fails, and the periodic job logs it.
    pub async fn reload(&self) -> Result<(), KeyError> {
        let rows = self.store.live_keys(self.clock.now()).await?;
        let installed = self.ring.install(&rows, &self.keks);
        let (changed, reseals) = (installed.changed, installed.reseals);
        if changed {
            let held = self.ring.snapshot().keys.len();
            tracing::info!(
                rows = rows.len(),
                published = held,
                "published key set changed"
            );
        }
        for r in reseals {
            match self
                .store
                .reseal_key(&r.kid, &r.old_sealed, r.new_sealed, binding::AAD_V2)
                .await
            {
                Ok(true) => {
                    tracing::info!(kid = %r.kid, "re-sealed signing key with its public key bound")
                }
                Ok(false) => {
                    tracing::debug!(kid = %r.kid, "signing key re-sealed or revoked elsewhere")
                }
                Err(e) => {
                    tracing::warn!(kid = %r.kid, error = %e, "re-sealing failed; retried at the next reload")
                }
            }
        }
        match installed.unknown_kek.into_iter().next() {
            Some((kid, kek_id)) => Err(KeyError::UnknownKek {
                kid,
                kek_id,
                held: self.keks.ids(),
            }),
            None => Ok(()),
        }
    }

    /// Emergency revocation (`auth-server keys revoke KID`): the key leaves this replica's JWKS and
    /// stops signing at once, and a new key of its algorithm signs at once, with no publication
    /// lead (verifiers fetch it through their unknown-`kid` refetch). Its activation is dated
    /// [`CLOCK_SKEW_ALLOWANCE_SECS`] back, so a replica whose clock lags still has a key to sign
    /// with. Other replicas follow at their next reload. Its private key is erased from the
    /// database.
    ///
    /// Safe against a concurrent rotation or revocation on another replica: the revocation is a
    /// conditional update, the successor's generation is guarded by the unique index (on a clash
    /// the transaction is rolled back and retried), and the successor is inserted in the same
    /// transaction as the revocation, so the algorithm is never left without a signing key.
    pub async fn revoke(&self, kid: &str) -> Result<RevocationOutcome, KeyError> {
        self.revoke_by(kid, &Actor::Admin("cli".into()), &RequestMeta::default())
            .await
    }

    /// [`KeyManager::revoke`] by `actor`: its `key.revoked` audit event is written in the
    /// revocation's transaction, only when this call revoked the key.
    pub async fn revoke_by(
        &self,
        kid: &str,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<RevocationOutcome, KeyError> {
        let mut generated: Option<KeyRecord> = None;
        let mut written: Option<crate::model::audit::AuditRecord>;
        let mut attempt = 1;
        let outcome = loop {
            let Some(row) = self.store.key(kid).await? else {
                return Ok(RevocationOutcome::NotFound);
            };
            if row.revoked_at.is_some() {
                return Ok(RevocationOutcome::AlreadyRevoked);
            }
            let alg: Alg = row
                .alg
                .parse()
                .map_err(|e| KeyError::Crypto(format!("{e}")))?;
            let now = self.clock.now();
            // A retired key no longer signs: its successor does, and stays.
            let successor = if row.retires_at.is_some_and(|r| r <= now) {
                None
            } else {
                let newest = self.store.newest_key(alg.as_str()).await?;
                let mut next = match generated.take() {
                    Some(k) => k,
                    None => self.new_key_row(alg, 0, now, now).await?,
                };
                next.generation = newest.map_or(1, |k| k.generation + 1);
                // Signing at once on every replica, including one whose clock lags a little.
                next.published_at = now;
                next.activates_at = now - CLOCK_SKEW_ALLOWANCE_SECS;
                generated = Some(next.clone());
                Some(next)
            };
            let removed_at = self.schedule.removal_after_retirement(now);
            let audit = AuditEvent::new(EventType::KeyRevoked, actor.clone())
                .subject(kid)
                .request(request)
                .detail(serde_json::json!({
                    "alg": row.alg,
                    "successor": successor.as_ref().map(|k| k.kid.clone()),
                }))
                .record(now);
            let result = self
                .store
                .revoke_key(kid, now, successor, removed_at, &audit)
                .await;
            written = Some(audit);
            match result {
                Err(StoreError::Conflict(_)) if attempt < REVOKE_ATTEMPTS => attempt += 1,
                other => break other?,
            }
        };
        let outcome = match outcome {
            KeyRevocation::Revoked { alg, successor } => {
                if let Some(audit) = &written {
                    crate::domain::audit::log(audit);
                }
                tracing::warn!(%kid, %alg, successor = ?successor, "signing key revoked");
                RevocationOutcome::Revoked { alg, successor }
            }
            KeyRevocation::AlreadyRevoked => RevocationOutcome::AlreadyRevoked,
            KeyRevocation::NotFound => RevocationOutcome::NotFound,
        };
        // Committed: a failed reload here is caught up by the next periodic one.
        if let Err(e) = self.reload().await {
            tracing::warn!(error = %e, "reload after the revocation failed; retried at the next reload");
        }
        Ok(outcome)
    }

    /// The keys revoked recently enough that a token they signed may still be unexpired somewhere:
    /// within a refresh interval (another replica may sign with it until its next reload), the
    /// longest token lifetime, and the clock-skew allowance. The revocation feed lists them.
    pub async fn revoked_kids(&self, longest_token_ttl: i64) -> Result<Vec<String>, KeyError> {
        let window = self.schedule.refresh_interval
            + longest_token_ttl.max(self.schedule.access_token_ttl)
            + CLOCK_SKEW_ALLOWANCE_SECS;
        Ok(self
            .store
            .revoked_kids(self.clock.now().saturating_sub(window))
            .await?)
    }

    async fn rotate_inner(
        &self,
        algs: &[Alg],
        forced: bool,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Vec<(Alg, RotationOutcome)>, KeyError> {
        let mut out = Vec::with_capacity(algs.len());
        for &alg in algs {
            out.push((alg, self.rotate_one(alg, forced, actor, request).await?));
        }
        Ok(out)
    }

    async fn rotate_one(
        &self,
        alg: Alg,
        forced: bool,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<RotationOutcome, KeyError> {
        let newest = self.store.newest_key(alg.as_str()).await?;
        let now = self.clock.now();
        let plan = self.schedule.plan(
            newest.as_ref().map(|k| Newest {
                generation: k.generation,
                activates_at: k.activates_at,
            }),
            now,
            forced,
        );
        let (generation, activates_at, previous) = match plan {
            Plan::Nothing => return Ok(RotationOutcome::NotDue),
            Plan::AlreadyPending { activates_at } => {
                return Ok(RotationOutcome::AlreadyPending { activates_at });
            }
            Plan::First => (1, now, None),
            Plan::Next {
                generation,
                activates_at,
                predecessor_removed_at,
            } => {
                let prev = newest.map(|k| (k.kid, activates_at, predecessor_removed_at));
                (generation, activates_at, prev)
            }
        };
        let row = self.new_key_row(alg, generation, now, activates_at).await?;
        let kid = row.kid.clone();
        // An algorithm's first key (an empty database) is set-up, not a rotation: no event.
        let audit = (generation > 1).then(|| {
            AuditEvent::new(EventType::KeyRotated, actor.clone())
                .subject(&kid)
                .request(request)
                .detail(serde_json::json!({
                    "alg": alg.as_str(), "generation": generation, "activates_at": activates_at,
                }))
                .record(now)
        });
        match self
            .store
            .insert_next_key(row, previous, audit.as_ref())
            .await
        {
            Ok(()) => {
                if let Some(a) = &audit {
                    crate::domain::audit::log(a);
                }
                tracing::info!(%alg, %kid, generation, activates_at, "created signing key");
                Ok(RotationOutcome::Created {
                    kid,
                    generation,
                    activates_at,
                })
            }
            Err(StoreError::Conflict(_)) => Ok(RotationOutcome::LostRace),
            Err(e) => Err(e.into()),
        }
    }

    async fn new_key_row(
        &self,
        alg: Alg,
        generation: i64,
        now: UnixTime,
        activates_at: UnixTime,
    ) -> Result<KeyRecord, KeyError> {
        let bits = self.rsa_bits;
        // RSA generation takes ~0.1-1 s: never on an async worker.
        let generated = tokio::task::spawn_blocking(move || material::generate(alg, bits))
            .await
            .map_err(|e| KeyError::Crypto(format!("key generation task: {e}")))?
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        let kid = generated
            .jwk
            .kid
            .clone()
            .ok_or_else(|| KeyError::Crypto("generated key has no kid".into()))?;
        let kek = self.keks.current();
        let sealed = binding::seal(kek, &generated.pkcs8_der, &kid, alg, &generated.jwk)
            .map_err(KeyError::Crypto)?;
        let public_jwk =
            serde_json::to_string(&generated.jwk).map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(KeyRecord {
            kid,
            alg: alg.as_str().to_owned(),
            generation,
            public_jwk,
            private_key_sealed: sealed,
            kek_id: kek.id().to_owned(),
            published_at: now,
            activates_at,
            retires_at: None,
            removed_at: None,
            aad_version: binding::AAD_V2,
            revoked_at: None,
        })
    }
}
