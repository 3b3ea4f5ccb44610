//! Device cookies: OWASP "Slow Down Online Guessing Attacks with Device Cookies".
//!
//! After a successful sign-in the browser gets a cookie naming the account, a random nonce and an
//! expiry, authenticated with HMAC-SHA256 (RFC 2104) under a key every replica derives from the KEK
//! ([`Kek::derive`](crate::domain::keys::kek::Kek::derive)). A sign-in that presents a valid cookie
//! for the account it names is a *trusted client*: it is throttled on its own counter (keyed by the
//! nonce) instead of the account-wide slow-down and the per-address limits, so failures an attacker
//! makes elsewhere do not keep the real user out. A cookie that is forged, altered, expired, or for
//! another account is ignored (the sign-in is an untrusted one).
//!
//! The value is `v1.<base64url(username)>.<nonce>.<expiry>.<base64url(mac)>`, the MAC covering
//! everything before its dot. Only the server can make one; nothing in it is secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use subtle::ConstantTimeEq;

use crate::domain::random;

/// The label the device-cookie key is derived under (changing it invalidates every cookie).
pub const KEY_LABEL: &[u8] = b"auth-server device cookie v1";
/// Longest value looked at; anything longer is ignored before any work.
const MAX_VALUE_LEN: usize = 512;
/// Bytes of randomness in a nonce.
const NONCE_BYTES: usize = 16;
/// The format version.
const VERSION: &str = "v1";

/// A verified device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its random nonce: the device's identity for throttling.
    pub nonce: String,
    /// When it stops being valid (Unix seconds).
    pub expires_at: i64,
}

/// Issues and verifies device cookies. Cheap to clone.
#[derive(Clone)]
pub struct DeviceCookies {
    key: PKey<Private>,
    /// Keys derived from previous KEKs during a KEK rotation: cookies they MAC'd still verify.
    previous: Vec<PKey<Private>>,
    ttl: i64,
}

impl std::fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCookies")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The MAC key could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("device cookie key: {0}")]
pub struct DeviceKeyError(String);

impl DeviceCookies {
    /// Cookies MAC'd with `key` (32 bytes derived from the KEK), valid `ttl` seconds.
    pub fn new(key: &[u8; 32], ttl: i64) -> Result<Self, DeviceKeyError> {
        let key = PKey::hmac(key).map_err(|e| DeviceKeyError(e.to_string()))?;
        Ok(Self {
            key,
            previous: Vec::new(),
            ttl,
        })
    }

    /// Also accepts cookies MAC'd with `previous` keys (derived from previous KEKs during a KEK
    /// rotation); new cookies are MAC'd with the current key only.
    pub fn accepting(mut self, previous: &[[u8; 32]]) -> Result<Self, DeviceKeyError> {
        for k in previous {
            self.previous
                .push(PKey::hmac(k).map_err(|e| DeviceKeyError(e.to_string()))?);
        }
        Ok(self)
    }

    /// Lifetime of a new cookie, in seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    fn mac(&self, data: &str) -> Option<Vec<u8>> {
        Self::mac_with(&self.key, data)
    }

    fn mac_with(key: &PKey<Private>, data: &str) -> Option<Vec<u8>> {
        let mut s = Signer::new(MessageDigest::sha256(), key).ok()?;
        s.update(data.as_bytes()).ok()?;
        s.sign_to_vec().ok()
    }

    /// A new cookie value for `username`, valid from `now` for the configured lifetime; `None` only
    /// if OpenSSL fails (then no cookie is set, and the user is simply an untrusted client later).
    pub fn issue(&self, username: &str, now: i64) -> Option<String> {
        let body = format!(
            "{VERSION}.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(username),
            random::token(NONCE_BYTES),
            now.saturating_add(self.ttl)
        );
        let mac = self.mac(&body)?;
        Some(format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac)))
    }

    /// The device behind `value` if it is an unexpired cookie this server issued for `username`.
    /// Never fails on bad input: anything else is `None`.
    pub fn verify(&self, value: &str, username: &str, now: i64) -> Option<Device> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let (body, mac) = value.rsplit_once('.')?;
        let given = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let matches = |key: &PKey<Private>| {
            Self::mac_with(key, body)
                .is_some_and(|e| e.len() == given.len() && bool::from(given.ct_eq(&e)))
        };
        if !std::iter::once(&self.key)
            .chain(&self.previous)
            .any(matches)
        {
            return None;
        }
        let mut parts = body.split('.');
        let (Some(VERSION), Some(user), Some(nonce), Some(exp), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let expires_at: i64 = exp.parse().ok()?;
        let named = URL_SAFE_NO_PAD.decode(user).ok()?;
        (expires_at > now && named == username.as_bytes()).then(|| Device {
            nonce: nonce.to_owned(),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(key: u8) -> Option<DeviceCookies> {
        DeviceCookies::new(&[key; 32], 100).ok()
    }

    #[test]
    fn issued_cookies_verify_for_their_account_until_they_expire() {
        let Some(c) = cookies(1) else {
            panic!("no HMAC")
        };
        let v = c.issue("alice", 1000).unwrap_or_default();
        assert!(v.starts_with("v1.") && v.len() < 200, "{v}");
        let d = c.verify(&v, "alice", 1099);
        assert_eq!(d.as_ref().map(|d| d.expires_at), Some(1100));
        assert_eq!(c.verify(&v, "alice", 1100), None, "expired");
        assert_eq!(c.verify(&v, "Alice", 1000), None, "another account");
        assert_eq!(c.verify(&v, "bob", 1000), None);
        let other = c.issue("alice", 1000).unwrap_or_default();
        assert_ne!(
            c.verify(&other, "alice", 1000).map(|d| d.nonce),
            d.map(|d| d.nonce),
            "each sign-in gets its own nonce"
        );
    }

    #[test]
    fn forged_and_altered_cookies_are_ignored() {
        let (Some(c), Some(stranger)) = (cookies(1), cookies(2)) else {
            panic!("no HMAC")
        };
        let v = c.issue("alice", 1000).unwrap_or_default();
        assert_eq!(stranger.verify(&v, "alice", 1000), None, "another key");
        let (body, _) = v.rsplit_once('.').unwrap_or_default();
        let later = body.replace(".1100", ".9999999999");
        for bad in [
            format!("{later}.{}", v.rsplit_once('.').unwrap_or_default().1),
            format!("{body}.AAAA"),
            format!("{body}."),
            body.to_owned(),
            v.replace("v1.", "v2."),
            format!("{v}x"),
            String::new(),
            "....".into(),
            "v1.%%%.x.1.\0".into(),
            "a".repeat(5000),
        ] {
            assert_eq!(c.verify(&bad, "alice", 1000), None, "{bad}");
        }
    }

    #[test]
    fn during_a_kek_rotation_cookies_of_the_previous_key_still_verify() {
        let (Some(old), Some(new)) = (cookies(1), cookies(2)) else {
            panic!("no HMAC")
        };
        let before = old.issue("alice", 1000).unwrap_or_default();
        let Ok(rotating) = new.clone().accepting(&[[1; 32]]) else {
            panic!("no HMAC")
        };
        assert!(rotating.verify(&before, "alice", 1000).is_some());
        assert_eq!(
            new.verify(&before, "alice", 1000),
            None,
            "without it: refused"
        );
        let after = rotating.issue("alice", 1000).unwrap_or_default();
        assert!(
            new.verify(&after, "alice", 1000).is_some(),
            "new ones use the current key"
        );
        assert_eq!(old.verify(&after, "alice", 1000), None);
    }
}
