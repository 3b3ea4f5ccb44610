//! Server-provided DPoP nonces (RFC 9449 §8) that every replica issues and accepts without a
//! database round trip: a nonce is `base64url(HMAC-SHA256(key, "dpop-nonce" || slot)[..16])`
//! where `slot = floor(now / slot_secs)` and the key is derived from the key-encryption key, which
//! every replica holds. A nonce is accepted in its own slot and the next, so it lives between one
//! and two slots, and a client that got one just before a slot ended can still use it. The value
//! is opaque to clients (§8: "the nonce value is opaque to the client").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// The label the nonce key is derived under (see `Kek::derive`).
pub const KEY_LABEL: &[u8] = b"auth-server dpop nonce v1";

/// Bytes of MAC in a nonce (128 bits: not guessable).
const MAC_BYTES: usize = 16;

/// Issues and checks nonces.
#[derive(Clone)]
pub struct Nonces {
    key: openssl::pkey::PKey<openssl::pkey::Private>,
    slot_secs: i64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("slot_secs", &self.slot_secs)
            .finish_non_exhaustive()
    }
}

/// The nonce key could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("DPoP nonce key: {0}")]
pub struct NonceKeyError(String);

impl Nonces {
    /// Nonces under `key` (32 bytes derived from the KEK) with slots of `slot_secs` (at least 1).
    pub fn new(key: &[u8; 32], slot_secs: i64) -> Result<Self, NonceKeyError> {
        let key = openssl::pkey::PKey::hmac(key).map_err(|e| NonceKeyError(e.to_string()))?;
        Ok(Self {
            key,
            slot_secs: slot_secs.max(1),
        })
    }

    /// The nonce to hand out at `now` (empty, and logged, in the impossible case that OpenSSL
    /// fails to compute an HMAC: an empty nonce is never accepted).
    pub fn issue(&self, now: i64) -> String {
        self.mac(now.div_euclid(self.slot_secs))
            .map(|m| URL_SAFE_NO_PAD.encode(m))
            .unwrap_or_default()
    }

    /// Whether `nonce` was issued in the slot of `now` or the one before (compared in constant
    /// time).
    pub fn accepts(&self, nonce: &str, now: i64) -> bool {
        let Ok(presented) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let slot = now.div_euclid(self.slot_secs);
        [slot, slot - 1].into_iter().any(|s| {
            self.mac(s)
                .is_some_and(|m| bool::from(m.as_slice().ct_eq(&presented)))
        })
    }

    fn mac(&self, slot: i64) -> Option<[u8; MAC_BYTES]> {
        let full = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.key)
            .and_then(|mut m| {
                m.update(b"dpop-nonce")?;
                m.update(&slot.to_be_bytes())?;
                m.sign_to_vec()
            });
        match full {
            Ok(v) => v.get(..MAC_BYTES)?.try_into().ok(),
            Err(e) => {
                tracing::error!(error = %e, "DPoP nonce MAC failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Nonces;

    fn nonces() -> Option<Nonces> {
        Nonces::new(&[7; 32], 300).ok()
    }

    #[test]
    fn a_nonce_lives_its_slot_and_the_next() {
        let Some(n) = nonces() else {
            panic!("nonce key");
        };
        let t = 1_000_200; // slot 3334, which starts at 1_000_200
        let nonce = n.issue(t);
        assert!(n.accepts(&nonce, t));
        assert!(n.accepts(&nonce, t + 299));
        assert!(n.accepts(&nonce, t + 599));
        assert!(!n.accepts(&nonce, t + 600));
        assert!(!n.accepts(&nonce, t - 1));
        assert_ne!(n.issue(t), n.issue(t + 300));
        assert!(!n.accepts("", t));
        assert!(!n.accepts("not base64 !", t));
    }

    #[test]
    fn another_key_gives_other_nonces() {
        let (Some(a), Ok(b)) = (nonces(), Nonces::new(&[8; 32], 300)) else {
            panic!("nonce keys");
        };
        assert!(!b.accepts(&a.issue(5000), 5000));
    }
}
