//! The `htu` comparison (RFC 9449 §4.3 check 10): the request URI "ignoring any query and fragment
//! parts", compared after the syntax-based and scheme-based normalization of RFC 3986 §6.2.2 and
//! §6.2.3 (RFC 9449 §4.3: "... after applying URI normalization").

/// Normalizes an absolute `http`/`https` URI for the `htu` comparison; `None` if it is not one.
///
/// Query and fragment are dropped; scheme and host are lowercased (RFC 3986 §6.2.2.1); the
/// scheme's default port and an empty port are dropped and an empty path becomes `/` (§6.2.3);
/// percent-encodings are uppercased and those of unreserved characters decoded (§6.2.2.1,
/// §6.2.2.2); dot segments are removed (§6.2.2.3). A URI with user information is refused.
pub fn normalize_htu(uri: &str) -> Option<String> {
    let uri = uri.split('#').next().unwrap_or_default();
    let uri = uri.split('?').next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    // The port follows the last ':' that is not inside an IPv6 literal.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], &authority[i + 1..]),
        _ => (authority, ""),
    };
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = format!("{scheme}://{}", host.to_ascii_lowercase());
    if !port.is_empty() && port != default_port {
        out.push(':');
        out.push_str(port);
    }
    let path = normalize_percent(path)?;
    let path = remove_dot_segments(&path);
    out.push_str(if path.is_empty() { "/" } else { &path });
    Some(out)
}

/// Whether a proof's `htu` names `request_uri` (RFC 9449 §4.3 check 10). Either side that is not
/// an absolute http(s) URI never matches.
pub fn htu_matches(htu: &str, request_uri: &str) -> bool {
    match (normalize_htu(htu), normalize_htu(request_uri)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Uppercases percent-encodings and decodes those of unreserved characters (RFC 3986 §2.3);
/// `None` on a malformed `%`.
fn normalize_percent(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        let hex = path.get(i + 1..i + 3)?;
        let v = u8::from_str_radix(hex, 16).ok()?;
        if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
            out.push(char::from(v));
        } else {
            out.push('%');
            out.push_str(&hex.to_ascii_uppercase());
        }
        i += 3;
    }
    // Non-ASCII bytes were pushed one by one above; only ASCII paths are compared.
    path.is_ascii().then_some(out)
}

/// RFC 3986 §5.2.4, on a path that starts with `/` or is empty.
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *seg {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if last {
                    segments.push("");
                }
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return String::new();
    }
    segments.iter().fold(String::new(), |mut acc, s| {
        acc.push('/');
        acc.push_str(s);
        acc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_fragment_case_default_port_and_empty_path_are_normalized() {
        let n = |u: &str| normalize_htu(u);
        assert_eq!(
            n("HTTPS://Api.Example.COM:443/orders?x=1#f").as_deref(),
            Some("https://api.example.com/orders")
        );
        assert_eq!(
            n("https://api.example.com").as_deref(),
            Some("https://api.example.com/")
        );
        assert_eq!(
            n("http://h:80/a").as_deref(),
            Some("http://h/a"),
            "http default port"
        );
        assert_eq!(n("https://h:8443/a").as_deref(), Some("https://h:8443/a"));
        assert_eq!(n("http://h:/a").as_deref(), Some("http://h/a"));
        assert_eq!(
            n("http://[::1]:8080/a").as_deref(),
            Some("http://[::1]:8080/a")
        );
        assert_eq!(n("http://[::1]/a").as_deref(), Some("http://[::1]/a"));
    }

    #[test]
    fn percent_encodings_and_dot_segments_are_normalized() {
        let n = |u: &str| normalize_htu(u);
        assert_eq!(
            n("https://h/%7euser/a%2fb").as_deref(),
            Some("https://h/~user/a%2Fb")
        );
        assert_eq!(n("https://h/a/./b/../c").as_deref(), Some("https://h/a/c"));
        assert_eq!(n("https://h/a/..").as_deref(), Some("https://h/"));
        assert_eq!(n("https://h/a/").as_deref(), Some("https://h/a/"));
        assert_eq!(n("https://h/a%zz"), None);
        assert_eq!(n("https://h/a%4"), None);
    }

    #[test]
    fn non_http_uris_and_userinfo_never_match() {
        for bad in [
            "ftp://h/a",
            "/relative",
            "https://user@h/a",
            "https:///a",
            "https://h:x/a",
            "https://h/\u{e9}",
        ] {
            assert_eq!(normalize_htu(bad), None, "{bad}");
            assert!(!htu_matches(bad, bad), "{bad}");
        }
    }

    #[test]
    fn matching_ignores_query_but_not_path_host_port_or_scheme() {
        let req = "https://api.example.com/orders?page=2";
        assert!(htu_matches("https://API.example.com/orders", req));
        assert!(!htu_matches("https://api.example.com/orders/1", req));
        assert!(!htu_matches("https://api.example.com/order", req));
        assert!(!htu_matches("http://api.example.com/orders", req));
        assert!(!htu_matches("https://api.example.com:8443/orders", req));
        assert!(!htu_matches("https://evil.example.com/orders", req));
    }
}
