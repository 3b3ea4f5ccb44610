//! The client's address, for throttling sign-ins per address, through trusted reverse proxies.
//!
//! Behind a load balancer every connection comes from the balancer, so the TCP peer alone would put
//! every user into one throttling bucket. When the peer is one of `server.trusted_proxies`, the
//! `X-Forwarded-For` chain is read from the right (the hop nearest to us) and the first address
//! that is not a trusted proxy is the client, as nginx's `real_ip_recursive` does. Addresses a client
//! wrote itself (further left) are never believed: only proxies we trust append to the chain. With
//! no trusted proxies (the default) the header is ignored entirely.
//!
//! The same address, with the request's `x-request-id`, is what the audit trail records
//! ([`ClientAddr`], [`request_meta`]).

use std::net::{IpAddr, SocketAddr};

use crate::config::TrustedProxies;
use crate::domain::audit::RequestMeta;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::HttpState;

/// The longest request id the audit trail keeps (a client may send its own `x-request-id`).
const MAX_REQUEST_ID: usize = 128;
/// The longest `User-Agent` a session keeps (characters; the account page shows a summary).
const MAX_USER_AGENT: usize = 256;

/// The client address of a request (after trusted proxies; `None` without connection info, as
/// in router tests). Extracting it costs a lookup and a copy, nothing more.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<HttpState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(
            |ConnectInfo(peer)| {
                client_ip(peer.ip(), &parts.headers, &state.browser.trusted_proxies)
            },
        )))
    }
}

/// What the audit trail records of a request: its `x-request-id` (set by the router's
/// `SetRequestIdLayer` when the client sent none; one that is not short visible ASCII is left
/// out) and its client address.
pub fn request_meta(headers: &HeaderMap, addr: ClientAddr) -> RequestMeta {
    RequestMeta {
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= MAX_REQUEST_ID)
            .map(str::to_owned),
        client_addr: addr.0.map(|a| a.to_string()),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().take(MAX_USER_AGENT).collect()),
    }
}

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
