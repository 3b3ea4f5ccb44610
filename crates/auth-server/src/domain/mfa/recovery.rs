//! Recovery codes: ten one-time codes of 80 random bits each, shown once and stored only as a
//! SHA-256 digest (of the user id and the code).
//!
//! A fast hash is enough here, unlike for passwords: a password is guessable, so its hash must be
//! slow; an 80-bit random code is not. Recovering one code from its digest takes about 2^79
//! SHA-256 evaluations on average, far beyond any attacker with a copy of the database, and online
//! guesses are throttled like TOTP codes. Prefixing the user id makes equal codes of two users
//! differ and rules out one precomputed table for all users.

use crate::domain::random;

/// Codes per set.
pub const CODES: usize = 10;
/// Characters per code: 16 of a 32-letter alphabet, 80 bits.
const CHARS: usize = 16;
/// Crockford's base32 alphabet, lower case (no `i`, `l`, `o`, `u`: nothing to confuse).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new set of codes, formatted `xxxx-xxxx-xxxx-xxxx`.
///
/// # Panics
/// Never in practice: only if the operating system's random number generator fails (as
/// [`random::token`]).
#[allow(clippy::expect_used)]
pub fn generate() -> Vec<String> {
    (0..CODES)
        .map(|_| {
            let mut bytes = [0u8; CHARS];
            getrandom::fill(&mut bytes)
                .expect("the operating system's random number generator failed");
            let mut s = String::with_capacity(CHARS + 3);
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 && i % 4 == 0 {
                    s.push('-');
                }
                // 256 is a multiple of 32: every letter equally likely.
                s.push(char::from(ALPHABET[usize::from(b % 32)]));
            }
            s
        })
        .collect()
}

/// A typed code in canonical form: case-insensitive, dashes and spaces ignored, Crockford's
/// look-alikes mapped (`o`→`0`, `i`/`l`→`1`); `None` if it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CHARS);
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() >= CHARS {
            return None;
        }
        out.push(c);
    }
    (out.len() == CHARS).then_some(out)
}

/// The stored digest of `code` (normalized) for `user_id`.
pub fn digest(user_id: &str, normalized: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(user_id.len() + 1 + normalized.len());
    buf.extend_from_slice(user_id.as_bytes());
    buf.push(0);
    buf.extend_from_slice(normalized.as_bytes());
    random::sha256(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_normalize() {
        let codes = generate();
        assert_eq!(codes.len(), CODES);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            let n = normalize(c).unwrap_or_default();
            assert_eq!(n.len(), 16);
            assert_eq!(normalize(&c.to_uppercase()).as_deref(), Some(n.as_str()));
        }
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), CODES);
        assert_eq!(
            normalize("O0IL-abcd-efgh-jkmn").as_deref(),
            Some("0011abcdefghjkmn")
        );
        assert_eq!(normalize("short"), None);
        assert_eq!(normalize("uuuu-abcd-efgh-jkmn"), None);
        assert_ne!(digest("a", "x"), digest("b", "x"));
    }
}
