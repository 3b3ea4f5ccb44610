//! The issuer identifier's rules (RFC 8414 §2): https, or plain http on loopback only.

/// RFC 8414 §2: "a URL that uses the https scheme and has no query or fragment components". Plain
/// http is accepted for loopback development only: `localhost`, an IPv4 address in 127.0.0.0/8
/// written in full, or `[::1]`; not other IPv6 addresses, nor IPv4-mapped ones (`[::ffff:127.0.0.1]`).
pub(super) fn validate_issuer(issuer: &str) -> Result<(), &'static str> {
    let rest = if let Some(r) = issuer.strip_prefix("https://") {
        r
    } else if let Some(r) = issuer.strip_prefix("http://") {
        if !is_loopback_authority(r.split('/').next().unwrap_or_default()) {
            return Err("must use https (http is allowed only on 127.0.0.0/8, localhost or [::1])");
        }
        r
    } else {
        return Err("must be an https URL");
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err("has no host");
    }
    if rest.contains(['?', '#']) {
        return Err("must not have a query or fragment");
    }
    if rest.ends_with('/') {
        return Err("must not end with a slash");
    }
    Ok(())
}

/// Whether `authority` (`host[:port]`, no userinfo) names this machine's loopback interface.
fn is_loopback_authority(authority: &str) -> bool {
    if authority.contains('@') {
        return false;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        let loopback = addr
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| a == std::net::Ipv6Addr::LOCALHOST);
        if !loopback {
            return false;
        }
        if !after.is_empty() && !after.starts_with(':') {
            return false;
        }
        ("[::1]", after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    let host_ok = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback());
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::validate_issuer;

    #[test]
    fn https_issuers_with_paths_are_fine() {
        assert_eq!(
            validate_issuer("https://idp.example.com/realms/main"),
            Ok(())
        );
        assert_eq!(validate_issuer("http://localhost:8080"), Ok(()));
        assert!(validate_issuer("https://idp.example.com?x=1").is_err());
        assert!(validate_issuer("ftp://x").is_err());
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://127.0.0.1",
            "http://127.8.9.10:1/idp",
            "http://[::1]:8080",
            "http://[::1]",
        ] {
            assert_eq!(validate_issuer(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://[::2]:8080",
            "http://[::ffff:127.0.0.1]:8080",
            "http://[::ffff:7f00:1]",
            "http://[0:0:0:0:0:ffff:127.0.0.1]",
            "http://[",
            "http://[::1",
            "http://[::1]x",
            "http://128.0.0.1",
            "http://127.1",
            "http://localhost.example.com",
            "http://127.0.0.1@evil.example",
            "http://127.0.0.1:http",
            "http://127.0.0.1:",
            "http://10.0.0.1:8080",
        ] {
            assert!(validate_issuer(bad).is_err(), "{bad}");
        }
    }
}
