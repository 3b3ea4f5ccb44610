//! The IdP's cookies: the SSO session, the CSRF token of its forms, and the device cookie
//! (`domain::sso::device`).
//!
//! All are HttpOnly and SameSite=Lax. On an https issuer they are also Secure and carry the
//! `__Host-` prefix (RFC 6265bis §4.1.3.2), which makes the browser refuse them unless set by this
//! host over https with `Path=/` and no `Domain`: a sibling subdomain cannot plant or overwrite them.

use axum::http::{HeaderMap, HeaderValue, header};

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
        Self {
            secure,
            session: if secure {
                "__Host-auth_session"
            } else {
                "auth_session"
            },
            csrf: if secure {
                "__Host-auth_csrf"
            } else {
                "auth_csrf"
            },
            device: if secure {
                "__Host-auth_device"
            } else {
                "auth_device"
            },
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

    fn build(&self, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(m) = max_age {
            c.push_str(&format!("; Max-Age={m}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).ok()
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

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            http.set_session("s")
                .map(|v| v.to_str().unwrap_or_default().to_owned()),
            Some("auth_session=s; Path=/; HttpOnly; SameSite=Lax".to_owned())
        );
        assert_eq!(
            http.set_device("v1.x", 60)
                .map(|v| v.to_str().unwrap_or_default().to_owned()),
            Some("auth_device=v1.x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60".to_owned())
        );
        let https = CookiePolicy::for_issuer("https://idp.example.com");
        assert_eq!(
            https
                .set_device("v1.x", 60)
                .map(|v| v.to_str().unwrap_or_default().to_owned()),
            Some(
                "__Host-auth_device=v1.x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
                    .to_owned()
            )
        );
        assert_eq!(
            https
                .clear_session()
                .map(|v| v.to_str().unwrap_or_default().to_owned()),
            Some(
                "__Host-auth_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
                    .to_owned()
            )
        );
    }
}
