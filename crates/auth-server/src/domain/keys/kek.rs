//! The key-encryption key (KEK) that seals private signing keys at rest.
//!
//! AES-256-GCM (through OpenSSL, which josekit already links) with a fresh 96-bit nonce per seal and
//! associated data that binds the blob to its row (the key's `kid`, `alg` and public key, see
//! [`super::binding`]), so a sealed blob cannot be moved to another row, and a row cannot be made
//! without the KEK. A database dump alone therefore reveals no private key.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

use crate::domain::random;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A 256-bit key-encryption key.
pub struct Kek {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The KEK could not be loaded or a blob could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// Reading or creating the KEK file failed.
    #[error("key-encryption key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The KEK is not 32 bytes of base64.
    #[error("key-encryption key from {0} is not 32 bytes of base64")]
    Malformed(String),
    /// Sealing failed inside OpenSSL.
    #[error("sealing failed: {0}")]
    Seal(String),
    /// The blob was sealed under another KEK, or was altered.
    #[error("cannot open sealed key {kid}: wrong key-encryption key or tampered data")]
    Open {
        /// The key whose blob failed.
        kid: String,
    },
}

impl Kek {
    /// Builds a KEK from raw bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let digest = random::sha256(&key);
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Self { key, id }
    }

    /// Parses the base64 text form.
    pub fn from_base64(text: &str, source: &str) -> Result<Self, KekError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KekError::Malformed(source.to_owned()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KekError::Malformed(source.to_owned()))?;
        Ok(Self::from_bytes(key))
    }

    /// The KEK from `env_value` if given, else from `path`, creating that file (mode 0600) with a
    /// fresh random key if it does not exist yet.
    pub fn load_or_create(env_value: Option<&str>, path: &Path) -> Result<Self, KekError> {
        if let Some(v) = env_value {
            return Self::from_base64(v, "AUTH_SERVER_KEYS_KEK");
        }
        let io = |source| KekError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key)
                    .map_err(|e| KekError::Seal(format!("random number generator: {e}")))?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                match opts.open(path) {
                    Ok(mut f) => {
                        writeln!(f, "{}", STANDARD.encode(key)).map_err(io)?;
                        f.sync_all().map_err(io)?;
                        Ok(Self::from_bytes(key))
                    }
                    // Another process created it between our read and our create: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(path).map_err(io)?;
                        Self::from_base64(&text, &path.display().to_string())
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A 256-bit key for another purpose, derived from the KEK and a fixed `label`: HKDF-Expand
    /// (RFC 5869 §2.3) with the KEK as the pseudorandom key, `T(1) = HMAC-SHA256(KEK, label || 0x01)`.
    /// The KEK is already 32 uniformly random bytes, so the extract step is not needed (RFC 5869
    /// §3.3). Every replica holding the KEK derives the same key; the derived key reveals nothing
    /// about the KEK, and keys for different labels are independent.
    pub fn derive(&self, label: &[u8]) -> Result<[u8; 32], KekError> {
        let fail = |e: openssl::error::ErrorStack| KekError::Seal(e.to_string());
        let pkey = openssl::pkey::PKey::hmac(&self.key).map_err(fail)?;
        let mut mac = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &pkey)
            .map_err(fail)?;
        mac.update(label).map_err(fail)?;
        mac.update(&[1]).map_err(fail)?;
        let out = mac.sign_to_vec().map_err(fail)?;
        out.try_into()
            .map_err(|_| KekError::Seal("HMAC-SHA256 output is not 32 bytes".into()))
    }

    /// A short public identifier of this KEK (not secret: a prefix of its SHA-256).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext`, binding it to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KekError::Seal(format!("random: {e}")))?;
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            aad,
            plaintext,
            &mut tag,
        )
        .map_err(|e| KekError::Seal(e.to_string()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens a blob made by [`Kek::seal`] with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8], kid: &str) -> Result<Vec<u8>, KekError> {
        let err = || KekError::Open {
            kid: kid.to_owned(),
        };
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(err());
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(nonce), aad, ct, tag).map_err(|_| err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_is_hkdf_expand_rfc5869_test_case_1() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_default())
                .collect()
        };
        let prk: [u8; 32] = hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
            .try_into()
            .unwrap_or_default();
        let okm = Kek::from_bytes(prk)
            .derive(&hex("f0f1f2f3f4f5f6f7f8f9"))
            .unwrap_or_default();
        assert_eq!(
            okm.to_vec(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
        );
        let kek = Kek::from_bytes([7; 32]);
        assert_ne!(kek.derive(b"a").ok(), kek.derive(b"b").ok());
    }

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let kek = Kek::from_bytes([7; 32]);
        let sealed = kek.seal(b"private", b"kid|ES256").unwrap_or_default();
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(
            kek.open(&sealed, b"kid|ES256", "kid").ok(),
            Some(b"private".to_vec())
        );
        assert!(
            kek.open(&sealed, b"other|ES256", "kid").is_err(),
            "aad binds the row"
        );
        let mut bad = sealed.clone();
        bad[NONCE_LEN] ^= 1;
        assert!(kek.open(&bad, b"kid|ES256", "kid").is_err());
        assert!(
            Kek::from_bytes([8; 32])
                .open(&sealed, b"kid|ES256", "kid")
                .is_err()
        );
    }

    #[test]
    fn file_is_created_with_mode_0600_and_reused() {
        let dir = std::env::temp_dir().join(format!("kek-test-{}", random::token(8)));
        let path = dir.join("kek");
        let a = Kek::load_or_create(None, &path)
            .map(|k| k.id().to_owned())
            .ok();
        let b = Kek::load_or_create(None, &path)
            .map(|k| k.id().to_owned())
            .ok();
        assert!(a.is_some());
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
        assert!(Kek::from_base64("c2hvcnQ=", "test").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
