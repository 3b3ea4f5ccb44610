//! [`Mfa`]: enrollment, verification (throttled, each code accepted once) and the per-user policy.

use std::sync::Arc;

use auth_core::Clock;

use super::factor::FactorKind;
use super::{qr, recovery, totp};
use crate::config::LoginConfig;
use crate::domain::audit::{self, Actor, AuditEvent, EventType};
use crate::domain::keys::kek::KekError;
use crate::domain::keys::kek_set::KekSet;
use crate::domain::random;
use crate::model::audit::AuditRecord;
use crate::store::mfa::TotpRecord;
use crate::store::{Store, StoreError};

/// Why an MFA operation failed (HTTP 503 for storage; a sealed secret that cannot be opened is a
/// server-side configuration problem, logged and answered like storage).
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A TOTP secret could not be sealed or opened (wrong or missing KEK).
    #[error(transparent)]
    Kek(#[from] KekError),
}

/// The second factors a user has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// A confirmed TOTP factor.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes: u64,
    /// A TOTP enrollment started and not confirmed.
    pub totp_pending: bool,
    /// A registered WebAuthn credential (passkey or security key), counted when this server
    /// offers WebAuthn.
    pub webauthn: bool,
}

impl Factors {
    /// Whether the user has a factor that a sign-in can ask for. Recovery codes alone do not
    /// count: they back up a factor, they are not one.
    pub fn any(&self) -> bool {
        self.totp || self.webauthn
    }
}

/// A TOTP enrollment to show: the secret as text and as a QR code, and the id the confirmation
/// must name. `Debug` shows none of the secret.
#[derive(Clone)]
pub struct Enrollment {
    /// Names this enrollment in the confirmation form.
    pub enrollment_id: String,
    /// The secret in base32, to type into an app.
    pub secret_base32: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// The QR code of the URI (inline SVG).
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("enrollment_id", &self.enrollment_id)
            .finish_non_exhaustive()
    }
}

/// A second-factor answer as typed.
#[derive(Clone, Copy)]
pub enum Answer<'a> {
    /// A TOTP code.
    Totp(&'a str),
    /// A recovery code.
    Recovery(&'a str),
}

impl std::fmt::Debug for Answer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Totp(_) => "Totp(<redacted>)",
            Answer::Recovery(_) => "Recovery(<redacted>)",
        })
    }
}

/// The outcome of a second-factor check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted (and now used up): the kind of factor.
    Accepted(FactorKind),
    /// Wrong, reused or already used.
    Rejected,
    /// Too many wrong answers for this user: locked for a while.
    Locked,
}

/// Second factors and the MFA policy per user.
#[derive(Debug, Clone)]
pub struct Mfa {
    store: Store,
    keks: KekSet,
    clock: Arc<dyn Clock>,
    issuer_name: Arc<str>,
    policy: LoginConfig,
    recent_auth_secs: i64,
    webauthn: bool,
}

/// What the TOTP secret's seal is bound to (AEAD associated data): its row.
fn aad(user_id: &str, enrollment_id: &str) -> Vec<u8> {
    format!("mfa-totp|{user_id}|{enrollment_id}").into_bytes()
}

/// The throttle key of second-factor attempts for a user.
fn throttle_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

impl Mfa {
    /// Second factors sealed with `keks`, named `issuer_name` in authenticator apps, throttled
    /// with the sign-in limits of `policy`.
    pub fn new(
        store: Store,
        keks: KekSet,
        clock: Arc<dyn Clock>,
        issuer_name: &str,
        policy: LoginConfig,
    ) -> Self {
        Self {
            store,
            keks,
            clock,
            issuer_name: issuer_name.into(),
            policy,
            recent_auth_secs: super::RECENT_AUTH_SECS,
            webauthn: false,
        }
    }

    /// Sensitive changes need a sign-in at most `secs` old (`account.recent_auth_secs`).
    pub fn with_recent_auth_secs(mut self, secs: i64) -> Self {
        self.recent_auth_secs = secs;
        self
    }

    /// Counts the user's WebAuthn credentials as a second factor (`on`: this server offers
    /// WebAuthn; without it a key could not be asked for, so it does not count).
    pub fn with_webauthn(mut self, on: bool) -> Self {
        self.webauthn = on;
        self
    }

    /// How recent a sign-in must be for a sensitive change.
    pub fn recent_auth_secs(&self) -> i64 {
        self.recent_auth_secs
    }

    /// The current time.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The factors of `user_id`.
    pub async fn factors(&self, user_id: &str) -> Result<Factors, MfaError> {
        let t = self.store.find_totp(user_id).await?;
        Ok(Factors {
            totp: t.as_ref().is_some_and(|t| t.confirmed_at.is_some()),
            totp_pending: t.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
            recovery_codes: self.store.unused_recovery_codes(user_id).await?,
            webauthn: self.webauthn && !self.store.webauthn_credentials(user_id).await?.is_empty(),
        })
    }

    /// Whether an administrator requires MFA of `user_id`.
    pub async fn required_for(&self, user_id: &str) -> Result<bool, MfaError> {
        Ok(self.store.mfa_required_for(user_id).await?)
    }

    /// Requires MFA of `user_id` (`on`) or stops, by `actor`; true if that changed anything (then
    /// `mfa.required`/`mfa.released` is stored with the change).
    pub async fn set_required(
        &self,
        user_id: &str,
        on: bool,
        actor: Actor,
    ) -> Result<bool, MfaError> {
        let t = match on {
            true => EventType::MfaRequired,
            false => EventType::MfaReleased,
        };
        let now = self.clock.now();
        let record = AuditEvent::new(t, actor).user(user_id).record(now);
        let changed = self
            .store
            .set_mfa_required(user_id, (on, now), &record)
            .await?;
        if changed {
            audit::log(&record);
        }
        Ok(changed)
    }

    /// The record of an MFA change of `user_id` by the user.
    fn own_change(&self, t: EventType, user_id: &str) -> AuditRecord {
        AuditEvent::new(t, Actor::User(user_id.to_owned()))
            .user(user_id)
            .record(self.clock.now())
    }

    /// Starts a TOTP enrollment for the user (`account` names them in the app): a new secret,
    /// sealed and stored unconfirmed. `None` if a confirmed factor exists (remove it first).
    pub async fn start_totp(
        &self,
        user_id: &str,
        account: &str,
    ) -> Result<Option<Enrollment>, MfaError> {
        let mut secret = [0u8; totp::SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| KekError::Seal(format!("random: {e}")))?;
        let enrollment_id = random::token(16);
        let kek = self.keks.current();
        let sealed = kek.seal(&secret, &aad(user_id, &enrollment_id))?;
        let started = self
            .store
            .start_totp_enrollment(TotpRecord {
                user_id: user_id.to_owned(),
                enrollment_id: enrollment_id.clone(),
                secret_sealed: sealed,
                kek_id: kek.id().to_owned(),
                created_at: self.clock.now(),
                confirmed_at: None,
                last_step: None,
            })
            .await?;
        Ok(started.then(|| self.enrollment(&enrollment_id, &secret, account)))
    }

    /// The unconfirmed enrollment of the user, shown again (after a wrong confirmation code).
    pub async fn open_enrollment(
        &self,
        user_id: &str,
        account: &str,
    ) -> Result<Option<Enrollment>, MfaError> {
        let Some(row) = self.store.find_totp(user_id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_some() {
            return Ok(None);
        }
        let secret = self.open(&row)?;
        Ok(Some(self.enrollment(&row.enrollment_id, &secret, account)))
    }

    fn enrollment(&self, enrollment_id: &str, secret: &[u8], account: &str) -> Enrollment {
        let uri = totp::otpauth_uri(&self.issuer_name, account, secret);
        Enrollment {
            enrollment_id: enrollment_id.to_owned(),
            secret_base32: totp::base32(secret),
            qr_svg: qr::svg(&uri, "QR code").unwrap_or_default(),
            uri,
        }
    }

    fn open(&self, row: &TotpRecord) -> Result<Vec<u8>, MfaError> {
        let kek = self.keks.by_id(&row.kek_id).ok_or_else(|| KekError::Open {
            kid: format!("mfa-totp of user {} (KEK {})", row.user_id, row.kek_id),
        })?;
        let label = format!("mfa-totp of user {}", row.user_id);
        Ok(kek.open(
            &row.secret_sealed,
            &aad(&row.user_id, &row.enrollment_id),
            &label,
        )?)
    }

    /// Re-seals every TOTP secret that is sealed under a previous KEK with the current one (after
    /// a KEK rotation, before the previous KEK is dropped); returns how many were re-sealed. Each
    /// row is replaced only if unchanged since it was read, so it runs safely beside sign-ins and
    /// on several replicas at once.
    pub async fn rewrap(&self) -> Result<u64, MfaError> {
        let current = self.keks.current();
        let mut n = 0;
        for row in self.store.totp_sealed_elsewhere(current.id()).await? {
            let secret = self.open(&row)?;
            let sealed = current.seal(&secret, &aad(&row.user_id, &row.enrollment_id))?;
            if self.store.reseal_totp(&row, sealed, current.id()).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Confirms enrollment `enrollment_id` with a first `code` (throttled like a sign-in's second
    /// factor): true once it is active; the code's step counts as used.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        enrollment_id: &str,
        code: &str,
    ) -> Result<Verdict, MfaError> {
        let Some(row) = self.store.find_totp(user_id).await? else {
            return Ok(Verdict::Rejected);
        };
        if row.confirmed_at.is_some() || row.enrollment_id != enrollment_id {
            return Ok(Verdict::Rejected);
        }
        let secret = self.open(&row)?;
        self.throttled(user_id, async || {
            let now = self.clock.now();
            let Some(step) = totp::matching_step(&secret, code, now) else {
                return Ok(None);
            };
            let record = self.own_change(EventType::MfaTotpEnrolled, user_id);
            let ok = self
                .store
                .confirm_totp(user_id, enrollment_id, (step, now), &record)
                .await?;
            if ok {
                audit::log(&record);
            }
            Ok(ok.then_some(FactorKind::Totp))
        })
        .await
    }

    /// Checks a second-factor answer for `user_id`. The attempt is counted before it is checked
    /// (one guarded increment, as the password throttle does), so parallel guesses on any number
    /// of replicas cannot outrun the limit; a TOTP step and a recovery code are each accepted once
    /// (conditional updates).
    pub async fn verify(&self, user_id: &str, answer: Answer<'_>) -> Result<Verdict, MfaError> {
        match answer {
            Answer::Totp(code) => {
                let row = self
                    .store
                    .find_totp(user_id)
                    .await?
                    .filter(|r| r.confirmed_at.is_some());
                let secret = match &row {
                    Some(r) => Some(self.open(r)?),
                    None => None,
                };
                self.throttled(user_id, async || {
                    let Some(secret) = &secret else {
                        return Ok(None);
                    };
                    let Some(step) = totp::matching_step(secret, code, self.clock.now()) else {
                        return Ok(None);
                    };
                    let ok = self.store.accept_totp_step(user_id, step).await?;
                    Ok(ok.then_some(FactorKind::Totp))
                })
                .await
            }
            Answer::Recovery(code) => {
                self.throttled(user_id, async || {
                    let Some(n) = recovery::normalize(code) else {
                        return Ok(None);
                    };
                    let digest = recovery::digest(user_id, &n);
                    let ok = self
                        .store
                        .use_recovery_code(user_id, &digest, self.clock.now())
                        .await?;
                    Ok(ok.then_some(FactorKind::RecoveryCode))
                })
                .await
            }
        }
    }

    /// Checks a second factor verified elsewhere (a WebAuthn assertion) under the same per-user
    /// throttle as TOTP and recovery codes: `check` answers the factor's kind, or `None` for a
    /// refused answer (which counts as a failure).
    pub async fn verify_with(
        &self,
        user_id: &str,
        check: impl AsyncFnOnce() -> Result<Option<FactorKind>, MfaError>,
    ) -> Result<Verdict, MfaError> {
        self.throttled(user_id, check).await
    }

    /// Runs `check` under the user's second-factor throttle: counted first (refused when the
    /// limit is reached), forgotten on success.
    async fn throttled(
        &self,
        user_id: &str,
        check: impl AsyncFnOnce() -> Result<Option<FactorKind>, MfaError>,
    ) -> Result<Verdict, MfaError> {
        let p = &self.policy;
        let key = throttle_key(user_id);
        let counted = self
            .store
            .count_login_attempt(
                &key,
                self.clock.now(),
                (
                    p.failure_window_secs,
                    p.max_failures_per_pair,
                    p.lockout_secs,
                ),
                None,
            )
            .await?;
        if !counted.allowed {
            return Ok(Verdict::Locked);
        }
        match check().await? {
            Some(kind) => {
                self.store.clear_login_failures(&key).await?;
                Ok(Verdict::Accepted(kind))
            }
            None => Ok(Verdict::Rejected),
        }
    }

    /// Removes the user's TOTP factor and recovery codes, by `actor` (the user, or an operator's
    /// `mfa reset`); true if there was a factor (then `mfa.factor_removed` is stored with it).
    pub async fn remove_totp(&self, user_id: &str, actor: Actor) -> Result<bool, MfaError> {
        let record = AuditEvent::new(EventType::MfaFactorRemoved, actor)
            .user(user_id)
            .record(self.clock.now());
        let removed = self.store.remove_totp_recorded(user_id, &record).await?;
        if removed {
            audit::log(&record);
        }
        Ok(removed)
    }

    /// A new set of recovery codes for the user, replacing any old ones; the codes are returned
    /// once and only their digests are kept.
    pub async fn regenerate_recovery_codes(&self, user_id: &str) -> Result<Vec<String>, MfaError> {
        let codes = recovery::generate();
        let digests = codes
            .iter()
            .filter_map(|c| recovery::normalize(c))
            .map(|n| recovery::digest(user_id, &n))
            .collect();
        let record = self.own_change(EventType::MfaRecoveryCodesRegenerated, user_id);
        self.store
            .replace_recovery_codes(user_id, (digests, self.clock.now()), &record)
            .await?;
        audit::log(&record);
        Ok(codes)
    }
}
