//! RFC 6750 on raw header values, without HTTP types: the bearer credentials of a request (§2.1)
//! and the `WWW-Authenticate` challenge (§3). The verifier's axum layer and the IdP's userinfo
//! endpoint both use these, so they parse and challenge alike.

/// A malformed `Authorization` header: answer RFC 6750 §3.1 `invalid_request` (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// The credentials of the request's `Authorization` header values (all of them, in order), trimmed
/// and not yet checked.
///
/// - `Ok(None)`: no header, or one with another scheme (as if no bearer token was sent);
/// - `Err`: more than one `Authorization` header;
/// - `Ok(Some(credentials))`: what follows `Bearer `.
pub fn credentials<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<&'a [u8]>, Malformed> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Malformed("more than one Authorization header"));
    }
    if value.len() < 7 || !value[..7].eq_ignore_ascii_case(b"bearer ") {
        return Ok(None); // another scheme: as if no bearer token was sent
    }
    Ok(Some(value[7..].trim_ascii()))
}

/// RFC 6750 §2.1 b64token. The syntax is not re-checked byte by byte here: anything that is not a
/// token we issued fails verification anyway, so only what would make the value unusable as a
/// token (empty, a space inside, not UTF-8) is refused.
pub fn token(credentials: &[u8]) -> Result<&str, Malformed> {
    if credentials.is_empty() || credentials.contains(&b' ') {
        return Err(Malformed("malformed bearer token"));
    }
    std::str::from_utf8(credentials).map_err(|_| Malformed("malformed bearer token"))
}

/// The `WWW-Authenticate` value of an RFC 6750 §3 challenge: `Bearer`, then each `name="value"`
/// (e.g. `realm`, `error`, `error_description`, `scope`), comma-separated, in the order given.
///
/// Values are written as quoted-strings (RFC 9110 §5.6.4) with `"` and `\` escaped; characters
/// RFC 6750 §3 allows in none of them (controls, non-ASCII) are dropped, so the result is always a
/// valid header value. Names must be tokens.
///
/// ```
/// use auth_core::bearer::challenge;
/// let v = challenge(&[("realm", "userinfo"), ("error", "invalid_token")]);
/// assert_eq!(v, r#"Bearer realm="userinfo", error="invalid_token""#);
/// assert_eq!(challenge(&[]), "Bearer");
/// ```
pub fn challenge(params: &[(&str, &str)]) -> String {
    let mut value = String::from("Bearer");
    for (i, (name, v)) in params.iter().enumerate() {
        value.push_str(if i == 0 { " " } else { ", " });
        value.push_str(name);
        value.push_str("=\"");
        for c in v.chars().filter(|c| matches!(c, ' '..='~')) {
            if c == '"' || c == '\\' {
                value.push('\\');
            }
            value.push(c);
        }
        value.push('"');
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(values: &[&'a str]) -> Result<Option<&'a [u8]>, Malformed> {
        credentials(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn credentials_of_one_bearer_header() {
        assert_eq!(creds(&[]), Ok(None));
        assert_eq!(creds(&["Basic abc"]), Ok(None));
        assert_eq!(creds(&["Bearer"]), Ok(None));
        assert_eq!(creds(&["bearer  abc "]), Ok(Some(&b"abc"[..])));
        assert!(creds(&["Bearer a", "Bearer b"]).is_err());
    }

    #[test]
    fn tokens_that_cannot_be_b64tokens_are_refused() {
        assert_eq!(token(b"abc.def"), Ok("abc.def"));
        assert!(token(b"").is_err());
        assert!(token(b"a b").is_err());
        assert!(token(b"\xff").is_err());
    }

    #[test]
    fn challenge_values_are_quoted_and_escaped() {
        assert_eq!(
            challenge(&[("error", "x\"y\\z\u{7}é")]),
            r#"Bearer error="x\"y\\z""#
        );
    }
}
