//! WebAuthn (W3C Web Authentication Level 2): security keys and passkeys, registered from the
//! account page and used for passwordless sign-in or as a second factor, with webauthn-rs doing the
//! cryptographic verification.
//!
//! - **Relying party.** The RP ID is the issuer URL's host and the only accepted origin is the
//!   issuer's origin (scheme, host and port exactly; §5.1.3 step 9 / §7.1 step 9). The RP name shown
//!   by authenticators is `[branding] product_name`. An issuer whose host is an IP address cannot be
//!   an RP ID (§5.1.4: "a valid domain string"), so WebAuthn is off there; `http://localhost:PORT`
//!   works (browsers treat it as a secure context).
//! - **Ceremony state** (the challenge and what webauthn-rs needs to verify the answer) is a
//!   database row ([`crate::store::webauthn`]): short-lived ([`CEREMONY_TTL`]), single-use (taken
//!   by the `DELETE` that removes it) and bound to the SSO session (registration, second factor) or
//!   to the browser's CSRF cookie (passwordless sign-in, before there is a session), so any replica
//!   can finish it and no other browser can.
//! - **Credentials** are registered as discoverable where the authenticator can (`residentKey:
//!   preferred`), with user verification required, so one registration serves both uses.
//! - **Counters** (§6.1.1): a signature counter that does not move forward is refused as a
//!   possible clone, both by webauthn-rs against the stored value and by the conditional update that
//!   stores the new one ([`crate::store::Store::advance_webauthn_counter`]), so parallel sign-ins
//!   cannot move it back either.

use std::sync::Arc;

use auth_core::Clock;
use webauthn_rs::prelude::{
    Passkey, PasskeyRegistration, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::domain::random;
use crate::domain::users::User;
use crate::store::webauthn::{WebauthnCeremonyRecord, WebauthnCredentialRecord};
use crate::store::{Store, StoreError};

mod amr;
mod authn;

pub use amr::amr_for;
pub use authn::Verified;

/// Seconds a ceremony may be finished after it started (webauthn-rs's authenticator timeout is 5
/// minutes; a little more covers the round trips).
pub const CEREMONY_TTL: i64 = 360;
/// Most credentials one user may register.
pub const MAX_CREDENTIALS: usize = 20;
/// Longest name of a credential, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Largest response accepted from the browser (bytes of JSON).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// Why a WebAuthn step failed.
#[derive(Debug, thiserror::Error)]
pub enum WebauthnFailure {
    /// No such ceremony for this session or browser: never started, expired, or already used.
    #[error("the security key request expired or was already used; try again")]
    Expired,
    /// The authenticator's answer did not verify (or could not be read).
    #[error("the security key's answer was not accepted")]
    Rejected,
    /// The credential is registered already.
    #[error("this security key is registered already")]
    Duplicate,
    /// The user has as many credentials as allowed.
    #[error("too many security keys are registered")]
    TooMany,
    /// The name is empty or too long.
    #[error("the name must be 1 to 64 characters")]
    BadName,
    /// No such credential of this user.
    #[error("no such security key")]
    NotFound,
    /// The signature counter did not move forward: the credential may have been cloned.
    #[error("the security key's signature counter went backwards; it may have been cloned")]
    PossibleClone,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A credential as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialInfo {
    /// Our id (for the rename and remove forms).
    pub id: String,
    /// The user's name for it.
    pub name: String,
    /// Registered at (Unix seconds).
    pub created_at: i64,
    /// Last used to sign in.
    pub last_used_at: Option<i64>,
    /// A synced passkey (backup eligible) rather than a device-bound key.
    pub synced: bool,
}

impl From<WebauthnCredentialRecord> for CredentialInfo {
    fn from(r: WebauthnCredentialRecord) -> Self {
        Self {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            synced: r.backup_eligible,
        }
    }
}

/// A ceremony started: its id (to send back) and the options for `navigator.credentials`
/// (`{"publicKey": ...}` JSON, binary fields base64url).
#[derive(Debug, Clone)]
pub struct Started {
    /// The ceremony id.
    pub ceremony: String,
    /// The options JSON.
    pub options: String,
}

/// What a ceremony is bound to: the SSO session's id, or the browser's CSRF cookie before there
/// is a session. Only its SHA-256 is stored.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    /// An SSO session id.
    Session(&'a str),
    /// The browser's CSRF cookie value.
    Browser(&'a str),
    /// A sign-in waiting for its second factor (the caller's id for it).
    Pending(&'a str),
}

impl Binding<'_> {
    fn digest(self) -> Vec<u8> {
        match self {
            Binding::Session(s) => random::sha256(format!("session\0{s}").as_bytes()),
            Binding::Browser(b) => random::sha256(format!("browser\0{b}").as_bytes()),
            Binding::Pending(p) => random::sha256(format!("pending\0{p}").as_bytes()),
        }
    }
}

/// The WebAuthn relying party: registration, management, and (in `authn`) authentication.
#[derive(Clone)]
pub struct Passkeys {
    webauthn: Arc<Webauthn>,
    store: Store,
    clock: Arc<dyn Clock>,
    origin: String,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Passkeys {
    /// The relying party for `issuer`, named `rp_name`; `None` when the issuer's host is not a
    /// domain (an IP address cannot be an RP ID), which turns WebAuthn off.
    pub fn new(store: Store, clock: Arc<dyn Clock>, issuer: &str, rp_name: &str) -> Option<Self> {
        let url = Url::parse(issuer).ok()?;
        let rp_id = url.domain()?.to_owned();
        let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
        let name = if rp_name.trim().is_empty() {
            rp_id.as_str()
        } else {
            rp_name.trim()
        };
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .ok()?
            .rp_name(name)
            .build()
            .ok()?;
        Some(Self {
            webauthn: Arc::new(webauthn),
            store,
            clock,
            origin: url.origin().ascii_serialization(),
        })
    }

    /// The accepted origin (`https://host[:port]`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The user handle of `user_id` (§5.4.3: opaque, at most 64 bytes, no personal data): the first
    /// 16 bytes of a SHA-256 of the id, as webauthn-rs wants a UUID.
    pub fn user_handle(user_id: &str) -> Uuid {
        let digest = random::sha256(format!("webauthn user handle\0{user_id}").as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    }

    /// A user's credentials, oldest first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<CredentialInfo>, WebauthnFailure> {
        let rows = self.store.webauthn_credentials(user_id).await?;
        Ok(rows.into_iter().map(CredentialInfo::from).collect())
    }

    /// Whether the user has any credential.
    pub async fn has_credentials(&self, user_id: &str) -> Result<bool, WebauthnFailure> {
        Ok(!self.store.webauthn_credentials(user_id).await?.is_empty())
    }

    /// Starts registering a credential for `user`, bound to `session_id` (§7.1; the options ask
    /// for a discoverable credential where possible and require user verification, and exclude
    /// the user's credentials already registered, §5.4 `excludeCredentials`).
    pub async fn start_registration(
        &self,
        user: &User,
        session_id: &str,
    ) -> Result<Started, WebauthnFailure> {
        let existing = self.store.webauthn_credentials(&user.id).await?;
        if existing.len() >= MAX_CREDENTIALS {
            return Err(WebauthnFailure::TooMany);
        }
        let exclude = existing
            .iter()
            .filter_map(|r| serde_json::from_str::<Passkey>(&r.passkey).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(
                Self::user_handle(&user.id),
                &user.username,
                &user.display_name,
                Some(exclude),
            )
            .map_err(|_| WebauthnFailure::Rejected)?;
        // Discoverable where the authenticator can, so the key also signs in without a password
        // (§5.4.6 `residentKey: preferred`; webauthn-rs does not check this when finishing).
        if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
            sel.resident_key = Some(webauthn_rs_proto_resident_key_preferred());
            sel.require_resident_key = false;
        }
        let state = serde_json::to_string(&state).map_err(|_| WebauthnFailure::Rejected)?;
        let options = serde_json::to_string(&options).map_err(|_| WebauthnFailure::Rejected)?;
        let ceremony = self
            .begin(
                "register",
                Binding::Session(session_id),
                Some(&user.id),
                state,
            )
            .await?;
        Ok(Started { ceremony, options })
    }

    /// Finishes a registration (§7.1): the ceremony must be this session's, for this user, unused
    /// and unexpired; the authenticator's answer must verify; the credential must be new.
    pub async fn finish_registration(
        &self,
        user_id: &str,
        session_id: &str,
        (ceremony, response): (&str, &str),
        name: &str,
    ) -> Result<CredentialInfo, WebauthnFailure> {
        let name = valid_name(name)?;
        let state = self
            .take("register", Binding::Session(session_id), ceremony, user_id)
            .await?;
        let state: PasskeyRegistration =
            serde_json::from_str(&state).map_err(|_| WebauthnFailure::Expired)?;
        let response: RegisterPublicKeyCredential =
            parse_response(response).ok_or(WebauthnFailure::Rejected)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "webauthn registration refused");
                WebauthnFailure::Rejected
            })?;
        let flags = CredentialFlags::of(&passkey);
        let now = self.clock.now();
        let row = WebauthnCredentialRecord {
            id: random::token(16),
            user_id: user_id.to_owned(),
            credential_id: cred_id_text(passkey.cred_id().as_ref()),
            name: name.to_owned(),
            passkey: serde_json::to_string(&passkey).map_err(|_| WebauthnFailure::Rejected)?,
            counter: flags.counter,
            backup_eligible: flags.backup_eligible,
            backup_state: flags.backup_state,
            created_at: now,
            last_used_at: None,
        };
        if !self.store.insert_webauthn_credential(row.clone()).await? {
            return Err(WebauthnFailure::Duplicate);
        }
        Ok(row.into())
    }

    /// Renames one of the user's credentials.
    pub async fn rename(&self, user_id: &str, id: &str, name: &str) -> Result<(), WebauthnFailure> {
        let name = valid_name(name)?;
        match self
            .store
            .rename_webauthn_credential(user_id, id, name)
            .await?
        {
            true => Ok(()),
            false => Err(WebauthnFailure::NotFound),
        }
    }

    /// Removes one of the user's credentials.
    pub async fn remove(&self, user_id: &str, id: &str) -> Result<(), WebauthnFailure> {
        match self.store.delete_webauthn_credential(user_id, id).await? {
            true => Ok(()),
            false => Err(WebauthnFailure::NotFound),
        }
    }

    /// Stores a new ceremony; returns its id.
    async fn begin(
        &self,
        kind: &str,
        binding: Binding<'_>,
        user_id: Option<&str>,
        state: String,
    ) -> Result<String, WebauthnFailure> {
        let now = self.clock.now();
        let id = random::token(24);
        self.store
            .insert_webauthn_ceremony(WebauthnCeremonyRecord {
                id: id.clone(),
                kind: kind.to_owned(),
                binding_sha256: binding.digest(),
                user_id: user_id.map(str::to_owned),
                state,
                created_at: now,
                expires_at: now + CEREMONY_TTL,
            })
            .await?;
        Ok(id)
    }

    /// Takes (uses up) a ceremony of `kind` bound to `binding`, started for `user_id` ("" for
    /// none): its state.
    async fn take(
        &self,
        kind: &str,
        binding: Binding<'_>,
        ceremony: &str,
        user_id: &str,
    ) -> Result<String, WebauthnFailure> {
        if ceremony.is_empty() || ceremony.len() > 64 {
            return Err(WebauthnFailure::Expired);
        }
        let now = self.clock.now();
        match self
            .store
            .take_webauthn_ceremony(ceremony, kind, &binding.digest(), now)
            .await?
        {
            Some((state, owner)) if owner.as_deref().unwrap_or_default() == user_id => Ok(state),
            _ => Err(WebauthnFailure::Expired),
        }
    }
}

/// `residentKey: preferred`, through serde: the proto crate's enum is not re-exported by
/// webauthn-rs's prelude.
fn webauthn_rs_proto_resident_key_preferred<T: serde::de::DeserializeOwned>() -> T {
    // "preferred" is a variant of ResidentKeyRequirement (§5.4.6); deserialising it cannot fail.
    #[allow(clippy::expect_used)]
    serde_json::from_str("\"preferred\"").expect("residentKey preferred")
}

/// The text form of a credential id as stored: base64url without padding.
fn cred_id_text(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// A trimmed name of 1 to [`MAX_NAME_CHARS`] characters without control characters.
fn valid_name(name: &str) -> Result<&str, WebauthnFailure> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control);
    ok.then_some(name).ok_or(WebauthnFailure::BadName)
}

/// A browser's JSON answer, if it is small enough and reads as `T`.
fn parse_response<T: serde::de::DeserializeOwned>(response: &str) -> Option<T> {
    (response.len() <= MAX_RESPONSE_BYTES)
        .then(|| serde_json::from_str(response).ok())
        .flatten()
}

/// The flags of a credential webauthn-rs keeps inside its serialised form (read from there: the
/// accessors need the `danger-credential-internals` feature).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CredentialFlags {
    counter: i64,
    backup_eligible: bool,
    backup_state: bool,
}

impl CredentialFlags {
    fn of(passkey: &Passkey) -> Self {
        let v = serde_json::to_value(passkey).unwrap_or_default();
        let cred = &v["cred"];
        Self {
            counter: cred["counter"].as_i64().unwrap_or_default(),
            backup_eligible: cred["backup_eligible"].as_bool().unwrap_or_default(),
            backup_state: cred["backup_state"].as_bool().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests;
