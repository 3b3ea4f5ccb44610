//! Which addresses a URL registered by an outsider may make the IdP reach: a dynamically
//! registered client's `jwks_uri` (RFC 7591 §2) is fetched by the IdP from inside the operator's
//! network, so it must not point there (server-side request forgery). Only globally routable
//! unicast addresses pass; loopback, private (RFC 1918, RFC 4193), link-local (the cloud
//! metadata service at 169.254.169.254), shared (RFC 6598), documentation, benchmarking,
//! multicast and reserved ranges are refused, IPv4 addresses inside IPv6 (mapped, NAT64)
//! included. The check runs on the addresses DNS returns at fetch time ([`PublicOnlyResolver`]),
//! so a name that resolves to an internal address, now or after a later DNS change, is refused
//! too; an IP literal in the URL is checked directly ([`literal_host_is_public`]), since a
//! resolver never sees it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `ip` is a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let last_v4 = || {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // NAT64 (RFC 6052 §2.1): the IPv4 address it reaches is in the last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(last_v4());
    }
    // 6to4 (RFC 3056): the IPv4 address is in the second and third segments.
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Local-use NAT64 (RFC 8215) and IPv4-translated (SIIT, RFC 2765): reach a network's own
    // IPv4 addresses.
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) || s[0..6] == [0, 0, 0, 0, 0xffff, 0] {
        return false;
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, RFC 4193
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and other reserved
}

/// For a URL host: `Some(public)` when it is an IP literal (`[v6]` or v4) or `localhost`, `None`
/// when it is a name the resolver will check.
pub fn literal_host_is_public(host: &str) -> Option<bool> {
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return Some(false);
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().ok().map(is_public)
}

/// A DNS resolver for reqwest that drops every address [`is_public`] refuses, and fails when none
/// is left.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "2002:a00:1::1",
            "64:ff9b:1::a00:1",
            "::ffff:0:a00:1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(!is_public(ip), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public}");
        }
    }

    #[test]
    fn literal_hosts() {
        assert_eq!(literal_host_is_public("localhost"), Some(false));
        assert_eq!(literal_host_is_public("api.localhost"), Some(false));
        assert_eq!(literal_host_is_public("[::1]"), Some(false));
        assert_eq!(literal_host_is_public("127.0.0.1"), Some(false));
        assert_eq!(literal_host_is_public("8.8.8.8"), Some(true));
        assert_eq!(literal_host_is_public("partner.example"), None);
    }

    #[tokio::test]
    async fn the_resolver_drops_internal_addresses() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(PublicOnlyResolver.resolve(name).await.is_err());
    }
}
