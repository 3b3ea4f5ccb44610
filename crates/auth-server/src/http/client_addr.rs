//! The client's address, for throttling sign-ins per address, through trusted reverse proxies.
//!
//! Behind a load balancer every connection comes from the balancer, so the TCP peer alone would put
//! every user into one throttling bucket. When the peer is one of `server.trusted_proxies`, the
//! `X-Forwarded-For` chain is read from the right (the hop nearest to us) and the first address
//! that is not a trusted proxy is the client, as nginx's `real_ip_recursive` does. Addresses a client
//! wrote itself (further left) are never believed: only proxies we trust append to the chain. With
//! no trusted proxies (the default) the header is ignored entirely.

use std::net::IpAddr;

use crate::config::TrustedProxies;
use axum::http::HeaderMap;

/// The address to throttle `peer`'s request under.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.contains(ip);
    let mut addr = peer.to_canonical();
    if !is_trusted(&addr) {
        return addr;
    }
    // Several header lines form one list, in order (RFC 9110 §5.3); walk it from the right. Anything
    // that is not an address (a line that is not text, an entry that does not parse) ends the walk
    // at the last trusted hop: all such requests share that proxy's bucket, which is the safe side.
    for line in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(line) = line.to_str() else {
            return addr;
        };
        for hop in line.rsplit(',').map(str::trim) {
            let Some(ip) = parse_hop(hop) else {
                return addr;
            };
            addr = ip;
            if !is_trusted(&addr) {
                return addr;
            }
        }
    }
    addr
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let (ip, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn trusted(list: &str) -> TrustedProxies {
        list.parse().unwrap_or_default()
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            if let Ok(v) = l.parse() {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    /// The client address seen for a request from `peer` with the `X-Forwarded-For` `lines`.
    fn seen(peer: &str, lines: &[&str], trusted: &TrustedProxies) -> IpAddr {
        client_ip(ip(peer), &xff(lines), trusted)
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(seen("10.0.0.2", &["198.51.100.7"], &none), ip("10.0.0.2"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let trusted = trusted("10.0.0.0/8");
        assert_eq!(
            seen("203.0.113.9", &["198.51.100.7"], &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = trusted("10.0.0.0/8, 192.168.1.5");
        // The client forged the leftmost entry; our two proxies appended the rest.
        let h = ["1.1.1.1, 198.51.100.7", "192.168.1.5"];
        assert_eq!(seen("10.1.2.3", &h, &trusted), ip("198.51.100.7"));
        // Ports and brackets are allowed, and IPv4-mapped IPv6 reads as IPv4.
        let h = ["[2001:db8::1]:443"];
        assert_eq!(seen("10.1.2.3", &h, &trusted), ip("2001:db8::1"));
        let h = ["198.51.100.7:5000"];
        assert_eq!(seen("::ffff:10.1.2.3", &h, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn garbage_or_an_all_trusted_chain_stops_at_the_last_trusted_hop() {
        let trusted = trusted("10.0.0.0/8");
        let h = ["198.51.100.7, nonsense, 10.0.0.9"];
        assert_eq!(seen("10.0.0.1", &h, &trusted), ip("10.0.0.9"));
        assert_eq!(seen("10.0.0.1", &["10.0.0.8"], &trusted), ip("10.0.0.8"));
        assert_eq!(seen("10.0.0.1", &[], &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn a_line_that_is_not_text_ends_the_walk() {
        let trusted = trusted("10.0.0.0/8");
        let mut h = xff(&["9.9.9.9"]);
        if let Ok(v) = axum::http::HeaderValue::from_bytes(b"\x80") {
            h.append("x-forwarded-for", v);
        }
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.1"));
    }
}
