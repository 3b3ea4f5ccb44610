//! TOTP (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, one step of clock drift either side
//! (§5.2 "at most one time step ... backward" and a step forward for a fast phone). totp-rs does the
//! HOTP arithmetic (RFC 4226 §5.3) and the constant-time comparison; accepting each step once is
//! ours (`Store::accept_totp_step`).

use totp_rs::{Algorithm, Secret, Totp};

/// Bytes of a new secret: 160 bits, RFC 4226 §4's recommended length for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;
/// Seconds per time step (RFC 6238 §5.2's recommended default).
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;

/// The code generator for `secret`, or `None` if the secret is too short for RFC 4226 (which
/// only a corrupt row could be).
pub fn generator(secret: &[u8]) -> Option<Totp> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .build()
        .ok()
}

/// The time step of `code` for `secret` at `now` (Unix seconds), if it matches one of the three
/// steps around `now`. Anything but six ASCII digits (spaces ignored) never matches.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    let step = generator(secret)?.check(&code, now)?;
    i64::try_from(step).ok()
}

/// The code for `secret` at `now` (for tests and tools).
pub fn code_at(secret: &[u8], now: i64) -> Option<String> {
    let t = generator(secret)?;
    Some(t.generate(u64::try_from(now).ok()?).to_string())
}

/// The secret in base32 (RFC 4648 §6, no padding), as authenticator apps take it.
pub fn base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

/// The secret of a base32 text (as shown to the user), if valid.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text.trim())
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

/// The `otpauth://totp/` URI that authenticator apps scan (the Key Uri Format of Google
/// Authenticator): label `issuer:account`, with the issuer again as a parameter.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8-digit codes there; the last 6 digits here).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(secret, t).as_deref(), Some(code), "t={t}");
            assert_eq!(matching_step(secret, code, t), Some(t / 30));
        }
    }

    #[test]
    fn window_and_junk() {
        let secret = [7u8; SECRET_BYTES];
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap_or_default();
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now - 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "12345x", now), None);
        assert_eq!(matching_step(&secret, "１２３４５６", now), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&secret, &spaced, now), Some(now / 30));
        assert_eq!(from_base32(&base32(&secret)), Some(secret.to_vec()));
        let uri = otpauth_uri("My IdP", "alice@x", &secret);
        assert!(
            uri.starts_with("otpauth://totp/My%20IdP:alice%40x?secret="),
            "{uri}"
        );
    }
}
