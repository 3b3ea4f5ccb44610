//! Whether a redirect URI sent with an authorization request matches one the client registered.
//!
//! RFC 9700 §4.1.3 and OpenID Connect Core §3.1.2.1: exact string matching, with the one exception
//! RFC 8252 §7.3 makes for native apps: "The authorization server MUST allow any port to be
//! specified at the time of the request for loopback IP redirect URIs, to accommodate clients that
//! obtain an available ephemeral port from the operating system at the time of the request."

/// `requested` equals `registered`, or both are `http` loopback IP redirect URIs (host exactly
/// `127.0.0.1` or `[::1]`, the same in both) that differ only in their port.
///
/// Only the IP literals get the exception: RFC 8252 §8.3 calls `localhost` "NOT RECOMMENDED" (it
/// may resolve elsewhere, and a firewall may treat it differently), so a `localhost` URI matches
/// only exactly. The path and query must be identical; the requested port, when given, must be
/// 1-65535 in plain digits.
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some((host_a, _, rest_a)), Some((host_b, _, rest_b))) => {
            host_a == host_b && rest_a == rest_b
        }
        _ => false,
    }
}

/// `http://HOST[:PORT]REST` with HOST a loopback IP literal: `(HOST, PORT, REST)`.
fn loopback_parts(uri: &str) -> Option<(&str, Option<u16>, &str)> {
    let after = uri.strip_prefix("http://")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (host, port) = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find_map(|h| Some((h, authority.strip_prefix(h)?)))?;
    let port = match port {
        "" => None,
        p => {
            let digits = p.strip_prefix(':')?;
            let ok = !digits.is_empty()
                && digits.len() <= 5
                && digits.bytes().all(|b| b.is_ascii_digit());
            Some(digits.parse::<u16>().ok().filter(|&n| ok && n != 0)?)
        }
    };
    Some((host, port, rest))
}

#[cfg(test)]
mod tests {
    use super::redirect_uri_matches as m;

    #[test]
    fn exact_matches_always_match() {
        assert!(m("https://app.example/cb", "https://app.example/cb"));
        assert!(m("http://localhost:8000/cb", "http://localhost:8000/cb"));
        assert!(m("com.example.app:/cb", "com.example.app:/cb"));
    }

    #[test]
    fn loopback_ip_literals_match_on_any_port() {
        assert!(m("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb"));
        assert!(m("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb"));
        assert!(m("http://127.0.0.1:8000/cb", "http://127.0.0.1/cb"));
        assert!(m("http://[::1]:7000/cb?x=1", "http://[::1]:65535/cb?x=1"));
        assert!(m("http://127.0.0.1", "http://127.0.0.1:1"));
    }

    #[test]
    fn everything_but_the_port_must_be_identical() {
        for (registered, requested) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb/"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:53123/CB"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb?x=1"),
            ("http://127.0.0.1/cb", "http://[::1]:53123/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.2:53123/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1.evil.example:1/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1@evil.example/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:1@evil.example/cb"),
            ("http://127.0.0.1/cb", "https://127.0.0.1:53123/cb"),
            ("http://127.0.0.1/cb", "HTTP://127.0.0.1:53123/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:0/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:65536/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:+80/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:000080/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:80:81/cb"),
            ("http://localhost/cb", "http://localhost:8000/cb"),
            ("http://localhost:8000/cb", "http://localhost:8001/cb"),
            ("https://127.0.0.1/cb", "https://127.0.0.1:8443/cb"),
            ("https://app.example/cb", "https://app.example:443/cb"),
        ] {
            assert!(!m(registered, requested), "{registered} ~ {requested}");
        }
    }
}
