//! Authentication with a registered credential (§7.2): passwordless (a discoverable credential
//! names its user) and as a second factor for a user already identified by their password.

use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PublicKeyCredential, WebauthnError,
};

use super::{Binding, Passkeys, Started, WebauthnFailure, amr, cred_id_text, parse_response};
use crate::store::webauthn::{CounterUpdate, WebauthnCredentialRecord};

/// A verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user it signs in.
    pub user_id: String,
    /// Our id of the credential used.
    pub credential: String,
    /// `hwk` or `swk` (`amr::key_method`).
    pub method: &'static str,
    /// The authenticator verified the user (UV).
    pub user_verified: bool,
}

impl Verified {
    /// The `amr` of a passwordless sign-in by this assertion ([`amr::amr_for`]).
    pub fn amr(&self) -> Vec<&'static str> {
        amr::amr_for(self.method == "swk", self.user_verified)
    }
}

impl Passkeys {
    /// Starts a passwordless sign-in bound to the browser's CSRF cookie `browser`: an empty
    /// `allowCredentials` (the authenticator offers its discoverable credentials for this RP) and
    /// user verification required.
    pub async fn start_passwordless(&self, browser: &str) -> Result<Started, WebauthnFailure> {
        let (mut options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|_| WebauthnFailure::Rejected)?;
        // A button starts it (modal), not the username field's autofill (conditional mediation).
        options.mediation = None;
        self.started(
            "passwordless",
            Binding::Browser(browser),
            None,
            &options,
            &state,
        )
        .await
    }

    /// Finishes a passwordless sign-in: the ceremony must be this browser's, unused and unexpired;
    /// the credential must be registered, to the user its user handle names, and verify with user
    /// verification; its counter must move forward.
    pub async fn finish_passwordless(
        &self,
        browser: &str,
        (ceremony, response): (&str, &str),
    ) -> Result<Verified, WebauthnFailure> {
        let state = self
            .take("passwordless", Binding::Browser(browser), ceremony, "")
            .await?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(&state).map_err(|_| WebauthnFailure::Expired)?;
        let response: PublicKeyCredential =
            parse_response(response).ok_or(WebauthnFailure::Rejected)?;
        let (handle, cred_id) = self
            .webauthn
            .identify_discoverable_authentication(&response)
            .map_err(|_| WebauthnFailure::Rejected)?;
        let record = self
            .store
            .webauthn_credential_by_cred_id(&cred_id_text(cred_id))
            .await?
            .filter(|r| Self::user_handle(&r.user_id) == handle)
            .ok_or(WebauthnFailure::Rejected)?;
        let passkey: Passkey =
            serde_json::from_str(&record.passkey).map_err(|_| WebauthnFailure::Rejected)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication(
                &response,
                state,
                &[DiscoverableKey::from(&passkey)],
            )
            .map_err(refusal)?;
        self.record_use(record, passkey, &result).await
    }

    /// Starts authenticating `user_id` with one of their credentials (the second factor after a
    /// password), bound to `binding`; `None` if they have no credential.
    pub async fn start_second_factor(
        &self,
        user_id: &str,
        binding: Binding<'_>,
    ) -> Result<Option<Started>, WebauthnFailure> {
        let passkeys = self.passkeys_of(user_id).await?;
        if passkeys.is_empty() {
            return Ok(None);
        }
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|_| WebauthnFailure::Rejected)?;
        self.started("second_factor", binding, Some(user_id), &options, &state)
            .await
            .map(Some)
    }

    /// Finishes a second-factor authentication of `user_id` started with the same `binding`.
    pub async fn finish_second_factor(
        &self,
        user_id: &str,
        binding: Binding<'_>,
        (ceremony, response): (&str, &str),
    ) -> Result<Verified, WebauthnFailure> {
        let state = self
            .take("second_factor", binding, ceremony, user_id)
            .await?;
        let state: PasskeyAuthentication =
            serde_json::from_str(&state).map_err(|_| WebauthnFailure::Expired)?;
        let response: PublicKeyCredential =
            parse_response(response).ok_or(WebauthnFailure::Rejected)?;
        let result = self
            .webauthn
            .finish_passkey_authentication(&response, &state)
            .map_err(refusal)?;
        let record = self
            .store
            .webauthn_credential_by_cred_id(&cred_id_text(result.cred_id().as_ref()))
            .await?
            .filter(|r| r.user_id == user_id)
            .ok_or(WebauthnFailure::Rejected)?;
        let passkey: Passkey =
            serde_json::from_str(&record.passkey).map_err(|_| WebauthnFailure::Rejected)?;
        self.record_use(record, passkey, &result).await
    }

    /// The user's credentials as webauthn-rs reads them.
    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<Passkey>, WebauthnFailure> {
        let rows = self.store.webauthn_credentials(user_id).await?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.passkey).ok())
            .collect())
    }

    /// Stores a started authentication ceremony and its options.
    async fn started<O: serde::Serialize, S: serde::Serialize>(
        &self,
        kind: &str,
        binding: Binding<'_>,
        user_id: Option<&str>,
        options: &O,
        state: &S,
    ) -> Result<Started, WebauthnFailure> {
        let state = serde_json::to_string(state).map_err(|_| WebauthnFailure::Rejected)?;
        let options = serde_json::to_string(options).map_err(|_| WebauthnFailure::Rejected)?;
        let ceremony = self.begin(kind, binding, user_id, state).await?;
        Ok(Started { ceremony, options })
    }

    /// Stores the use of a credential: the new counter only if it moves forward (§6.1.1), else the
    /// sign-in is refused as a possible clone.
    async fn record_use(
        &self,
        record: WebauthnCredentialRecord,
        mut passkey: Passkey,
        result: &webauthn_rs::prelude::AuthenticationResult,
    ) -> Result<Verified, WebauthnFailure> {
        passkey.update_credential(result);
        let json = serde_json::to_string(&passkey).map_err(|_| WebauthnFailure::Rejected)?;
        let moved = self
            .store
            .advance_webauthn_counter(CounterUpdate {
                id: &record.id,
                counter: i64::from(result.counter()),
                passkey: &json,
                backup_state: result.backup_state(),
                at: self.clock.now(),
            })
            .await?;
        if !moved {
            tracing::warn!(
                user_id = %record.user_id,
                credential = %record.id,
                "webauthn signature counter did not move forward: possible cloned authenticator"
            );
            return Err(WebauthnFailure::PossibleClone);
        }
        Ok(Verified {
            user_id: record.user_id,
            credential: record.id,
            method: amr::key_method(record.backup_eligible || result.backup_eligible()),
            user_verified: result.user_verified(),
        })
    }
}

/// webauthn-rs's refusal as ours: a counter that did not move forward is a possible clone
/// (§6.1.1), anything else a rejected answer.
fn refusal(e: WebauthnError) -> WebauthnFailure {
    match e {
        WebauthnError::CredentialPossibleCompromise => {
            tracing::warn!(
                "webauthn signature counter went backwards: possible cloned authenticator"
            );
            WebauthnFailure::PossibleClone
        }
        e => {
            tracing::info!(error = %e, "webauthn assertion refused");
            WebauthnFailure::Rejected
        }
    }
}
