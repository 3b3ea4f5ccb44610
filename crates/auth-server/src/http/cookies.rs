//! The IdP's cookies: the SSO session, the CSRF token of its forms, and the device cookie
//! (`domain::sso::device`).
//!
//! All are HttpOnly and SameSite=Lax. On an https issuer they are also Secure and carry the
//! `__Host-` prefix (RFC 6265bis §4.1.3.2), which makes the browser refuse them unless set by this
//! host over https with `Path=/` and no `Domain`: a sibling subdomain cannot plant or overwrite them.
//! `Set-Cookie` values are built, and `Cookie` headers parsed, with the `cookie` crate.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

/// The prefix that binds a cookie to this host (RFC 6265bis §4.1.3.2).
const HOST_PREFIX: &str = "__Host-";

/// Cookie names and attributes for one issuer.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    secure: bool,
    session: &'static str,
    csrf: &'static str,
    device: &'static str,
}

impl CookiePolicy {
    /// The policy for `issuer`: Secure and `__Host-` when it is https.
    pub fn for_issuer(issuer: &str) -> Self {
        let secure = issuer.starts_with("https://");
        let pick = |prefixed: &'static str| {
            if secure {
                prefixed
            } else {
                &prefixed[HOST_PREFIX.len()..]
            }
        };
        Self {
            secure,
            session: pick("__Host-auth_session"),
            csrf: pick("__Host-auth_csrf"),
            device: pick("__Host-auth_device"),
        }
    }

    /// The session secret the browser sent, if any.
    pub fn session<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        get(headers, self.session)
    }

    /// The CSRF token the browser sent, if any.
    pub fn csrf<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        get(headers, self.csrf)
    }

    /// One `Set-Cookie` value: `Path=/`, HttpOnly, SameSite=Lax, Secure on https, never a
    /// `Domain` (a `__Host-` cookie with one is refused by the browser, RFC 6265bis §4.1.3.2).
    fn build(&self, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        let mut c = Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure);
        if let Some(m) = max_age {
            c = c.max_age(time::Duration::seconds(m));
        }
        let c = c.build();
        debug_assert!(!name.starts_with(HOST_PREFIX) || host_prefix_ok(&c));
        HeaderValue::from_str(&c.to_string()).ok()
    }

    /// `Set-Cookie` for a new session (a browser-session cookie: the server enforces the timeouts).
    pub fn set_session(&self, secret: &str) -> Option<HeaderValue> {
        self.build(self.session, secret, None)
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_session(&self) -> Option<HeaderValue> {
        self.build(self.session, "", Some(0))
    }

    /// The device cookie the browser sent, if any.
    pub fn device<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        get(headers, self.device)
    }

    /// `Set-Cookie` for a device cookie valid `max_age` seconds (a persistent cookie: it must
    /// outlive the browser session to be of use).
    pub fn set_device(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        self.build(self.device, value, Some(max_age))
    }

    /// `Set-Cookie` for a CSRF token.
    pub fn set_csrf(&self, token: &str) -> Option<HeaderValue> {
        self.build(self.csrf, token, None)
    }
}

/// Whether `c` meets the `__Host-` rules (RFC 6265bis §4.1.3.2): Secure, `Path=/`, no `Domain`.
fn host_prefix_ok(c: &Cookie<'_>) -> bool {
    c.secure() == Some(true) && c.path() == Some("/") && c.domain().is_none()
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one named so; pairs
/// that do not parse are skipped; surrounding double quotes are removed; empty is none).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
        .map(|v| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: Option<HeaderValue>) -> String {
        v.map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }

    /// The attributes of a `Set-Cookie` value, sorted (their order carries no meaning).
    fn attrs(v: Option<HeaderValue>) -> (String, Vec<String>) {
        let t = text(v);
        let mut parts = t.split("; ").map(str::to_owned);
        let pair = parts.next().unwrap_or_default();
        let mut rest: Vec<String> = parts.collect();
        rest.sort();
        (pair, rest)
    }

    fn sorted(a: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn parses_and_builds() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; auth_session=xyz; b=2"),
        );
        let http = CookiePolicy::for_issuer("http://127.0.0.1:8080");
        assert_eq!(http.session(&h), Some("xyz"));
        assert_eq!(http.csrf(&h), None);
        assert_eq!(
            attrs(http.set_session("s")),
            (
                "auth_session=s".to_owned(),
                sorted(&["Path=/", "HttpOnly", "SameSite=Lax"])
            )
        );
        assert_eq!(
            attrs(http.set_device("v1.x", 60)),
            (
                "auth_device=v1.x".to_owned(),
                sorted(&["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=60"])
            )
        );
        let https = CookiePolicy::for_issuer("https://idp.example.com");
        assert_eq!(
            attrs(https.set_device("v1.x", 60)),
            (
                "__Host-auth_device=v1.x".to_owned(),
                sorted(&["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=60", "Secure"])
            )
        );
        assert_eq!(
            attrs(https.clear_session()),
            (
                "__Host-auth_session=".to_owned(),
                sorted(&["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0", "Secure"])
            )
        );
    }

    /// RFC 6265bis §4.1.3.2: a `__Host-` cookie is Secure, has `Path=/` and no `Domain`; on an
    /// https issuer every cookie is one, on http none is (the browser would refuse it).
    #[test]
    fn host_prefix_rules() {
        let https = CookiePolicy::for_issuer("https://idp.example.com/realm");
        let http = CookiePolicy::for_issuer("http://localhost:8080");
        let all = |p: &CookiePolicy| {
            [
                p.set_session("s"),
                p.clear_session(),
                p.set_csrf("t"),
                p.set_device("d", 5),
            ]
            .map(text)
        };
        for set in all(&https) {
            let c = Cookie::parse(set.as_str()).map_err(|e| e.to_string());
            let Ok(c) = c else {
                panic!("{set}: {c:?}");
            };
            assert!(c.name().starts_with(HOST_PREFIX), "{set}");
            assert!(host_prefix_ok(&c), "{set}");
            assert_eq!(c.http_only(), Some(true), "{set}");
            assert_eq!(c.same_site(), Some(SameSite::Lax), "{set}");
            assert!(!set.contains("Domain"), "{set}");
        }
        for set in all(&http) {
            assert!(!set.starts_with(HOST_PREFIX), "{set}");
            assert!(!set.contains("Secure"), "{set}");
            assert!(set.contains("Path=/"), "{set}");
        }
        assert!(!host_prefix_ok(
            &Cookie::build(("__Host-x", "1")).path("/").build()
        ));
        assert!(!host_prefix_ok(
            &Cookie::build(("__Host-x", "1"))
                .secure(true)
                .path("/a")
                .build()
        ));
        assert!(!host_prefix_ok(
            &Cookie::build(("__Host-x", "1"))
                .secure(true)
                .path("/")
                .domain("example.com")
                .build()
        ));
    }

    /// The request side: the named cookie among others and among several headers; quotes
    /// removed; empty values, unnamed pairs and prefix look-alikes are not it.
    #[test]
    fn reads_request_cookies() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("junk; x=\"q1\""));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("auth_csrf=; __Host-auth_csrf=tok ;auth_device=d"),
        );
        assert_eq!(get(&h, "x"), Some("q1"));
        assert_eq!(get(&h, "__Host-auth_csrf"), Some("tok"));
        assert_eq!(get(&h, "auth_csrf"), None);
        assert_eq!(get(&h, "auth_device"), Some("d"));
        assert_eq!(get(&h, "junk"), None);
        let https = CookiePolicy::for_issuer("https://idp.example.com");
        assert_eq!(https.csrf(&h), Some("tok"));
        assert_eq!(https.device(&h), None);
        let http = CookiePolicy::for_issuer("http://idp.test");
        assert_eq!(http.device(&h), Some("d"));
        assert_eq!(http.session(&HeaderMap::new()), None);
    }
}
