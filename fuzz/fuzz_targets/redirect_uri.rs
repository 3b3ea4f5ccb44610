//! Redirect-URI validation at client registration
//! (`auth_server::domain::clients::validate_redirect_uri`), and the error redirect built on an
//! accepted URI (`auth_server::domain::sso::request::error_redirect`).
//!
//! An accepted URI is at most 2048 bytes of printable ASCII with no fragment, and is absolute with
//! a scheme that is not `javascript:`/`data:`/`file:`/`vbscript:`. Differentially, against the
//! WHATWG URL parser a browser uses (`url` crate): when it parses an accepted `http`/`https` URI,
//! there is no user information and no fragment, and an `http` URI's host is the loopback host
//! (127.0.0.1, ::1 or localhost). An error redirect built on it keeps it as a prefix and adds no
//! fragment, whatever the state.
#![no_main]

use auth_server::domain::clients::{MAX_REDIRECT_URI_LEN, validate_redirect_uri};
use auth_server::domain::oauth_error::{ErrorCode, OAuthError};
use auth_server::domain::sso::request::error_redirect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The URI, then (after the first newline, if any) a `state` value.
    let (uri, state) = text.split_once('\n').unwrap_or((text, ""));
    if validate_redirect_uri(uri).is_err() {
        return;
    }
    assert!(uri.len() <= MAX_REDIRECT_URI_LEN);
    assert!(!uri.contains('#'), "fragment accepted: {uri:?}");
    assert!(
        uri.bytes().all(|b| b > b' ' && b < 0x7f),
        "whitespace or non-ASCII: {uri:?}"
    );
    let Some((scheme, rest)) = uri.split_once(':') else {
        panic!("no scheme: {uri:?}");
    };
    assert!(!rest.is_empty());
    let scheme = scheme.to_ascii_lowercase();
    assert!(
        !matches!(scheme.as_str(), "javascript" | "data" | "file" | "vbscript"),
        "dangerous scheme: {uri:?}"
    );
    assert!(
        matches!(scheme.as_str(), "http" | "https") || scheme.contains('.'),
        "scheme {scheme:?} accepted"
    );
    if matches!(scheme.as_str(), "http" | "https")
        && let Ok(parsed) = url::Url::parse(uri)
    {
        assert_eq!(parsed.scheme(), scheme);
        assert!(
            parsed.username().is_empty() && parsed.password().is_none(),
            "user information in {uri:?}"
        );
        assert!(parsed.fragment().is_none());
        if scheme == "http" {
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback() && ip.octets() == [127, 0, 0, 1],
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            assert!(
                loopback,
                "http on a non-loopback host: {uri:?} -> {:?}",
                parsed.host()
            );
        }
    }
    let error = OAuthError::new(ErrorCode::InvalidRequest, "fuzz");
    let to = error_redirect(uri, &error, Some(state), "https://idp.example");
    assert!(to.starts_with(uri));
    assert!(!to.contains('#'), "fragment in {to:?}");
    assert!(
        to.bytes().all(|b| b > b' ' && b < 0x7f),
        "unencoded byte in {to:?}"
    );
});
