//! The redirects back to the client that end an authorization request (RFC 6749 §4.1.2 and
//! §4.1.2.1), with the RFC 9207 `iss` parameter.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::domain::oauth_error::OAuthError;

/// Everything but RFC 3986 unreserved characters is percent-encoded in a redirect's query, so
/// `error=invalid_request` and a base64url code read as themselves.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `pairs` to `uri`'s query, percent-encoded.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.extend(utf8_percent_encode(v, QUERY_VALUE));
        sep = '&';
    }
    out
}

/// RFC 6749 §4.1.2.1 error response, with `state` and RFC 9207 `iss`.
pub fn error_redirect(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut pairs = vec![("error", error.code.as_str())];
    if let Some(d) = error.description.as_deref() {
        pairs.push(("error_description", d));
    }
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    with_query(redirect_uri, &pairs)
}

/// RFC 6749 §4.1.2 success response, with `state` and RFC 9207 `iss`.
pub fn code_redirect(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    with_query(redirect_uri, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            with_query("https://a/cb?x=1", &[("code", "a b&c")]),
            "https://a/cb?x=1&code=a%20b%26c"
        );
        assert_eq!(
            with_query(
                "https://a/cb",
                &[("error", "invalid_request"), ("code", "Ab-_.~+/=")]
            ),
            "https://a/cb?error=invalid_request&code=Ab-_.~%2B%2F%3D"
        );
    }
}
