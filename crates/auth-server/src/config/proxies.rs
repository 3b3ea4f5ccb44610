//! `server.trusted_proxies`: the reverse proxies whose `X-Forwarded-For` is believed, parsed once
//! when the configuration is loaded.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::Deserialize;

/// Addresses or CIDR blocks, written separated by commas or spaces; empty means none (the header is
/// then ignored entirely).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// How many addresses or blocks are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        list.split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| {
                        format!("server.trusted_proxies: {s:?} is not an IP address or CIDR block")
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TryFrom<String> for TrustedProxies {
    type Error = String;

    fn try_from(list: String) -> Result<Self, String> {
        list.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::TrustedProxies;

    #[test]
    fn the_setting_parses_addresses_and_blocks() {
        let parse = |s: &str| s.parse::<TrustedProxies>().map(|t| t.len());
        assert_eq!(parse(""), Ok(0));
        assert_eq!(parse("10.0.0.0/8,::1  192.168.0.1/24"), Ok(3));
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("proxy.internal").is_err());
    }

    #[test]
    fn a_block_contains_its_addresses() {
        let t: TrustedProxies = "10.0.0.0/8, 192.168.1.5".parse().unwrap_or_default();
        assert!(t.contains(&[10, 1, 2, 3].into()));
        assert!(t.contains(&[192, 168, 1, 5].into()));
        assert!(!t.contains(&[192, 168, 1, 6].into()));
    }
}
