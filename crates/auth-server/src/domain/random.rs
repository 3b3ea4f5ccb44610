//! Randomness and digests for identifiers and secrets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` bytes from the operating system's CSPRNG, base64url-encoded without padding.
///
/// # Panics
/// Never in practice: `getrandom` fails only when the OS has no entropy source at all, and an
/// identity provider must not continue then.
#[allow(clippy::expect_used)]
pub fn token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// A strong entity tag for a document: a quoted digest of its bytes (RFC 9110 §8.8.3).
pub fn strong_etag(body: &[u8]) -> String {
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&sha256(body)[..18]))
}

/// Whether `presented` hashes to `expected_digest`, compared in constant time.
pub fn secret_matches(presented: &str, expected_digest: &[u8]) -> bool {
    let digest = Sha256::digest(presented.as_bytes());
    digest.as_slice().ct_eq(expected_digest).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_url_safe() {
        let (a, b) = (token(32), token(32));
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn secrets_match_only_their_digest() {
        let d = sha256(b"s3cret");
        assert!(secret_matches("s3cret", &d));
        assert!(!secret_matches("s3cret ", &d));
        assert!(!secret_matches("s3cret", &d[..31]));
    }
}
