//! Validation of what an operator registers: client ids, scope tokens, resource indicators and
//! redirect URIs.

use super::{ClientError, MAX_CLIENT_ID_LEN};
use crate::domain::values::absolute_uri_parts;
pub use crate::domain::values::{is_scope_token, validate_resource};

/// Longest redirect URI accepted (RFC 8252 leaves it open; browsers cope with 2048 everywhere).
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Checks a redirection URI (or a post-logout redirect URI) at registration.
///
/// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI as defined by
/// \[RFC3986\] Section 4.3. ... The endpoint URI MUST NOT include a fragment component."
///
/// Which schemes and hosts, following RFC 8252 (OAuth 2.0 for Native Apps):
/// - `https` with any (non-empty) host: web applications, and claimed "https" scheme URIs (§7.2);
/// - `http` only on the loopback interface, host exactly `127.0.0.1`, `[::1]` or `localhost`, any
///   port (§7.3: "Loopback redirect URIs use the "http" scheme and are constructed with the
///   loopback IP literal and whatever port the client is listening on"; §8.3: they are safe
///   because the traffic never leaves the device);
/// - a private-use scheme containing a `.`, such as `com.example.app:/oauth2redirect` (§7.1:
///   "apps MUST use a URI scheme based on a domain name under their control, expressed in reverse
///   order").
///
/// Always refused: `javascript:`, `data:`, `file:` and `vbscript:` (they would run code or read
/// files in the browser instead of redirecting), a fragment, whitespace, control or non-ASCII
/// characters, user information (`user@host`, which hides the real host from a reader), and more
/// than [`MAX_REDIRECT_URI_LEN`] (2048) bytes. Scheme names are case-insensitive; hosts are compared
/// as written. The error is a phrase that follows the URI in a message ("must not ...").
pub fn validate_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err("must be at most 2048 bytes");
    }
    if uri.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err("must not contain whitespace, control or non-ASCII characters");
    }
    if uri.contains('#') {
        return Err("must not include a fragment (RFC 6749 §3.1.2)");
    }
    if !uri_chars_valid(uri) {
        return Err("contains characters not allowed in a URI (RFC 3986)");
    }
    let Some((scheme, rest)) = absolute_uri_parts(uri) else {
        return Err("must be an absolute URI (RFC 6749 §3.1.2)");
    };
    match scheme.to_ascii_lowercase().as_str() {
        "javascript" | "data" | "file" | "vbscript" => {
            Err("must not use the javascript:, data:, file: or vbscript: scheme")
        }
        "https" => authority_host(rest).map(|_| ()),
        "http" => match authority_host(rest)? {
            "127.0.0.1" | "[::1]" | "localhost" => Ok(()),
            _ => Err(
                "must use https; http is allowed only on the loopback host 127.0.0.1, [::1] or localhost (RFC 8252 §7.3)",
            ),
        },
        s if s.contains('.') => Ok(()),
        _ => Err(
            "must use https, http on a loopback host, or a private-use scheme in reverse-domain form such as com.example.app: (RFC 8252 §7.1)",
        ),
    }
}

/// RFC 3986 characters only (unreserved, reserved, and `%` followed by two hex digits).
fn uri_chars_valid(uri: &str) -> bool {
    let b = uri.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// The host of `//authority/...` (the part after `http:` or `https:`): non-empty, no user
/// information, an optional numeric port. An IPv6 literal keeps its brackets.
fn authority_host(rest: &str) -> Result<&str, &'static str> {
    let Some(after) = rest.strip_prefix("//") else {
        return Err("must have a host (scheme://host/...)");
    };
    let authority = after.find(['/', '?']).map_or(after, |i| &after[..i]);
    if authority.contains('@') {
        return Err("must not contain user information (user@host)");
    }
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => authority.split_at(i + 1),
            None => return Err("has a malformed IPv6 host"),
        }
    } else {
        authority
            .find(':')
            .map_or((authority, ""), |i| authority.split_at(i))
    };
    if host.is_empty() {
        return Err("must have a host (scheme://host/...)");
    }
    if !host.starts_with('[') && host.contains(['[', ']']) {
        return Err("has a malformed host");
    }
    if let Some(digits) = port.strip_prefix(':') {
        let ok = !digits.is_empty()
            && digits.len() <= 5
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.parse::<u32>().is_ok_and(|p| p <= 65_535);
        if !ok {
            return Err("has an invalid port");
        }
    } else if !port.is_empty() {
        return Err("has a malformed host");
    }
    Ok(host)
}

pub(super) fn validate_client_id(id: &str) -> Result<(), ClientError> {
    if crate::domain::is_plain_name(id, MAX_CLIENT_ID_LEN, b"-_.~") {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "client id {id:?} must be 1-255 characters of A-Z a-z 0-9 - _ . ~"
        )))
    }
}

pub(super) fn validate_scope_token(s: &str) -> Result<(), ClientError> {
    if is_scope_token(s) {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "{s:?} is not a valid scope token (RFC 6749 §3.3)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_accepted() {
        for uri in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?tenant=a&x=%2F",
            "https://app.example.com",
            "https://192.0.2.7/cb",
            "HTTPS://app.example.com/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/oauth2redirect",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect/example-provider",
            "com.example.app://callback",
        ] {
            assert_eq!(validate_redirect_uri(uri), Ok(()), "{uri}");
        }
        let long = format!("https://a.example/{}", "x".repeat(2048 - 18));
        assert_eq!(long.len(), 2048);
        assert_eq!(validate_redirect_uri(&long), Ok(()));
    }

    #[test]
    fn redirect_uris_refused() {
        let too_long = format!("https://a.example/{}", "x".repeat(2048));
        for uri in [
            "",
            "/callback",
            "callback",
            "app.example.com/cb",
            "https:",
            "1https://a/cb",
            // RFC 6749 §3.1.2: no fragment, not even an empty one.
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            // http only on loopback (RFC 8252 §7.3), with the host exactly as listed.
            "http://example.com/cb",
            "http://127.0.0.2/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1@evil.example/cb",
            "http://evil.example@127.0.0.1/cb",
            "http://[::2]/cb",
            "http:/127.0.0.1/cb",
            // http and https need a host.
            "https:///cb",
            "https://",
            "https:app.example.com",
            "https://:443/cb",
            "https://a.example:99999/cb",
            "https://a.example:/cb",
            "https://a.example:8x/cb",
            "http://[::1/cb",
            "http://[::1]x/cb",
            // Dangerous schemes, in any case.
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "vbscript:msgbox",
            // A private-use scheme must be in reverse-domain form.
            "myapp:/cb",
            "myapp://cb",
            // Characters.
            "https://a.example/c b",
            "https://a.example/c\tb",
            "https://a.example/c\nb",
            "https://a.example/\u{e9}",
            "https://a.example/<script>",
            "https://a.example/%zz",
            "https://a.example/%4",
            &too_long,
        ] {
            assert!(validate_redirect_uri(uri).is_err(), "{uri:?} was accepted");
        }
        assert_eq!(
            validate_redirect_uri("https://a.example/cb#x"),
            Err("must not include a fragment (RFC 6749 §3.1.2)")
        );
    }
}
