//! WebDriver's WebAuthn extension (W3C Web Authentication Level 2 §11): a virtual authenticator
//! that Chromium uses instead of real hardware, so passkeys can be registered and used in tests.

use serde_json::{Value, json};

use super::{Driver, Result, WebDriverError};

/// The options of a virtual authenticator (§11.3 "Authenticator Configuration").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualAuthenticator {
    /// `ctap2` (or `ctap1/u2f`).
    pub protocol: &'static str,
    /// `usb`, `internal`, `nfc`, `ble`.
    pub transport: &'static str,
    /// Can store discoverable (resident) credentials.
    pub has_resident_key: bool,
    /// Can verify the user (a PIN or biometric).
    pub has_user_verification: bool,
    /// Verifies the user successfully when asked.
    pub is_user_verified: bool,
}

impl VirtualAuthenticator {
    /// A platform passkey authenticator: CTAP2, internal, discoverable credentials, user
    /// verification that succeeds.
    pub const PASSKEY: Self = Self {
        protocol: "ctap2",
        transport: "internal",
        has_resident_key: true,
        has_user_verification: true,
        is_user_verified: true,
    };
}

impl Driver {
    /// "Add Virtual Authenticator" (§11.3): returns its id.
    pub async fn add_virtual_authenticator(&self, a: VirtualAuthenticator) -> Result<String> {
        let id = self
            .post(
                "/webauthn/authenticator",
                json!({
                    "protocol": a.protocol,
                    "transport": a.transport,
                    "hasResidentKey": a.has_resident_key,
                    "hasUserVerification": a.has_user_verification,
                    "isUserVerified": a.is_user_verified,
                    // Answer without a prompt (the test is the user).
                    "isUserConsenting": true,
                }),
            )
            .await?;
        id.as_str()
            .map(str::to_owned)
            .ok_or_else(|| WebDriverError::Start(format!("no authenticator id in {id}")))
    }

    /// "Get Credentials" (§11.7): the credentials the virtual authenticator holds, each with
    /// `credentialId`, `isResidentCredential`, `rpId`, `userHandle`, `signCount`.
    pub async fn virtual_credentials(&self, authenticator: &str) -> Result<Vec<Value>> {
        let v = self
            .get(&format!(
                "/webauthn/authenticator/{authenticator}/credentials"
            ))
            .await?;
        Ok(match v {
            Value::Array(all) => all,
            _ => Vec::new(),
        })
    }

    /// "Remove Virtual Authenticator" (§11.4).
    pub async fn remove_virtual_authenticator(&self, authenticator: &str) -> Result<()> {
        self.send(
            reqwest::Method::DELETE,
            &format!("{}/webauthn/authenticator/{authenticator}", self.session),
            None,
        )
        .await
        .map(drop)
    }
}
