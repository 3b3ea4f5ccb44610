//! The web origins a client may call the IdP from in a browser (CORS, for single-page apps): the
//! origins of its redirect URIs, plus the ones registered explicitly (`allowed_origins`).
//!
//! An origin is serialized as browsers send it in the `Origin` header (RFC 6454 §6.2, the
//! WHATWG "ASCII serialization of an origin"): `scheme "://" host [ ":" port ]`, lower case, no
//! path, the default port (443 for https, 80 for http) left out. Origins are compared as strings
//! in that form, so `https://app.example` and `https://app.example:443` are one origin and the
//! second is refused at registration.
//!
//! [`OriginSet`] answers "did any client register this origin?" (for CORS preflights, which carry
//! no client id) from one cached set of every enabled client's origins. The set is dropped on
//! every change made through this process's registry and otherwise lives `clients.cache_ttl_secs`
//! (default 10 s): a change made on another replica is seen there within that time, as for the
//! client cache itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use super::{Client, ClientError, ClientRegistry};
use crate::store::{Store, StoreError};

/// Longest origin accepted at registration.
const MAX_ORIGIN_LEN: usize = 255;

/// Checks an explicitly registered origin: `https://host[:port]`, or `http://` on a loopback host
/// (127.0.0.1, \[::1\], localhost) as for redirect URIs (RFC 8252 §7.3), in the exact form a
/// browser sends (lower case, no path or trailing slash, no default port, no user information, no
/// wildcard). The error is a phrase that follows the origin in a message.
pub fn validate_origin(origin: &str) -> Result<(), &'static str> {
    if origin.len() > MAX_ORIGIN_LEN {
        return Err("must be at most 255 bytes");
    }
    let (scheme, authority) = origin
        .split_once("://")
        .ok_or("must be an origin: scheme://host[:port]")?;
    let (host, port) = split_port(authority);
    let host_ok = |h: &str| {
        !h.is_empty()
            && if let Some(v6) = h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                v6.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            } else {
                h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            }
    };
    if !host_ok(host) || origin.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(
            "must be scheme://host[:port] in lower case, with no path, query, user information or wildcard",
        );
    }
    let default_port = match scheme {
        "https" => "443",
        "http" if matches!(host, "127.0.0.1" | "[::1]" | "localhost") => "80",
        "http" => {
            return Err("must use https; http is allowed only on 127.0.0.1, [::1] or localhost");
        }
        _ => return Err("must use the https (or, on a loopback host, http) scheme"),
    };
    match port {
        None => Ok(()),
        Some(p) if p == default_port => {
            Err("must leave out the default port (browsers send the origin without it)")
        }
        Some(p)
            if !p.is_empty() && !p.starts_with('0') && p.len() <= 5 && p.parse::<u16>().is_ok() =>
        {
            Ok(())
        }
        Some(_) => Err("has an invalid port"),
    }
}

/// `authority` split into host and port (the part after the last `:` outside IPv6 brackets).
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    }
}

/// The origin of an `http(s)` redirect URI, in the form [`validate_origin`] accepts; `None` for a
/// private-use scheme (a native app, which does not use CORS) or a URI with no valid origin.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let (host, port) = split_port(&authority);
    let default = if scheme == "https" { "443" } else { "80" };
    let origin = match port {
        Some(p) if p != default => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    validate_origin(&origin).ok().map(|()| origin)
}

/// Validates each origin and drops exact duplicates, keeping order.
pub fn checked_origins(origins: Vec<String>) -> Result<Vec<String>, ClientError> {
    let mut out: Vec<String> = Vec::with_capacity(origins.len());
    for origin in origins {
        validate_origin(&origin)
            .map_err(|p| ClientError::Invalid(format!("origin {origin:?} {p}")))?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

impl Client {
    /// The origins this client may call from a browser: its redirect URIs' and its
    /// `allowed_origins`.
    pub fn origins(&self) -> impl Iterator<Item = String> + '_ {
        self.redirect_uris
            .iter()
            .filter_map(|u| origin_of(u))
            .chain(self.allowed_origins.iter().cloned())
    }

    /// Whether `origin` (an `Origin` header's value) is one of [`Client::origins`]; never for a
    /// disabled client.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.enabled && self.origins().any(|o| o == origin)
    }
}

/// Every enabled client's origins, cached (see the module documentation for how fresh).
#[derive(Debug, Clone)]
pub struct OriginSet {
    cache: Cache<(), Arc<HashSet<String>>>,
}

impl OriginSet {
    /// A set reloaded at most every `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: Cache::builder().max_capacity(1).time_to_live(ttl).build(),
        }
    }

    /// Forgets the set, so the next question reloads it (after a change to a client).
    pub fn invalidate(&self) {
        self.cache.invalidate_all();
    }

    async fn get(&self, store: &Store) -> Result<Arc<HashSet<String>>, StoreError> {
        let store = store.clone();
        self.cache
            .try_get_with((), async move {
                let clients = store.list_clients().await?;
                let set: HashSet<String> = clients
                    .iter()
                    .filter(|c| c.enabled)
                    .flat_map(Client::origins)
                    .collect();
                Ok(Arc::new(set))
            })
            .await
            .map_err(StoreError::from)
    }
}

impl ClientRegistry {
    /// Whether some enabled client registered `origin` (for a CORS preflight, which names no
    /// client). Answered from the cached [`OriginSet`].
    pub async fn is_registered_origin(&self, origin: &str) -> Result<bool, ClientError> {
        if validate_origin(origin).is_err() {
            return Ok(false);
        }
        Ok(self.origins.get(&self.store).await?.contains(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_in_the_form_browsers_send() {
        for ok in [
            "https://app.example",
            "https://app.example:8443",
            "http://localhost:3000",
            "http://127.0.0.1",
            "http://[::1]:8080",
        ] {
            assert_eq!(validate_origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://app.example/",
            "https://app.example/cb",
            "https://App.example",
            "https://app.example:443",
            "http://localhost:80",
            "http://app.example",
            "https://*.example",
            "https://user@app.example",
            "null",
            "app.example",
            "https://",
            "https://app.example:0",
            "https://app.example:99999",
            "https://app.example?x",
            "javascript://x",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris_give_their_origin() {
        assert_eq!(
            origin_of("https://App.Example/cb?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("https://app.example:443/cb").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/cb").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            origin_of("http://[::1]:9000/cb").as_deref(),
            Some("http://[::1]:9000")
        );
        assert_eq!(origin_of("com.example.app:/cb"), None);
        assert_eq!(
            origin_of("HTTPS://a.example").as_deref(),
            Some("https://a.example")
        );
    }

    #[test]
    fn duplicates_are_dropped_and_bad_origins_named() {
        let ok = checked_origins(vec!["https://a.example".into(), "https://a.example".into()]);
        assert_eq!(ok.ok(), Some(vec!["https://a.example".to_owned()]));
        let err = checked_origins(vec!["https://a.example/".into()]);
        assert!(
            err.is_err_and(|e| e.to_string().contains("\"https://a.example/\"")),
            "the bad origin is named"
        );
    }
}
