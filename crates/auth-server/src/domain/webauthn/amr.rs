//! The authentication methods (RFC 8176 §2) a WebAuthn assertion proves.
//!
//! - `hwk` ("proof-of-possession of a hardware-secured key") for a device-bound credential: the
//!   authenticator reported it not backup eligible (§6.1 flag BE = 0), so the private key never
//!   leaves the authenticator.
//! - `swk` ("proof-of-possession of a software-secured key") for a backup-eligible (synced)
//!   passkey (BE = 1): the key is copied between devices through a provider's keychain, so it is
//!   not bound to one piece of hardware. Without attestation (not requested) the BE flag is what the
//!   authenticator tells us; we take it at its word, which errs towards the weaker claim for synced
//!   keys.
//! - `mfa` when the authenticator verified the user (§6.1 flag UV = 1: a PIN or biometric on the
//!   authenticator) — possession plus knowledge or inherence is two factors — or when the key is a
//!   second factor after a password. Which verification method the authenticator used is not
//!   reported reliably, so `pin`/`fpt` are not claimed.

/// The `amr` of a sign-in by this assertion alone (passwordless): the key's method, and `mfa` if
/// the user was verified.
pub fn amr_for(backup_eligible: bool, user_verified: bool) -> Vec<&'static str> {
    let key = key_method(backup_eligible);
    if user_verified {
        vec![key, "mfa"]
    } else {
        vec![key]
    }
}

/// `swk` for a backup-eligible (synced) credential, `hwk` otherwise.
pub fn key_method(backup_eligible: bool) -> &'static str {
    if backup_eligible { "swk" } else { "hwk" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_bound_and_synced_keys() {
        assert_eq!(amr_for(false, true), ["hwk", "mfa"]);
        assert_eq!(amr_for(true, true), ["swk", "mfa"]);
        assert_eq!(amr_for(false, false), ["hwk"]);
        assert_eq!(amr_for(true, false), ["swk"]);
    }
}
