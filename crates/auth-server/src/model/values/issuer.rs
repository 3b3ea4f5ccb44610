//! The issuer identifier (RFC 8414 §2) and the endpoint URLs derived from it: every URL this
//! server publishes or redirects to is built here, so discovery and the handlers cannot disagree.

use std::fmt;
use std::sync::Arc;

/// Our issuer identifier, without a trailing slash; cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(Arc<str>);

impl Issuer {
    /// The issuer `url`, as validated by the configuration (which refuses a trailing slash, so
    /// endpoint paths join cleanly).
    pub fn new(url: &str) -> Self {
        Self(url.into())
    }

    /// The identifier itself (the `iss` claim, RFC 9207 `iss` parameter).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The authorization endpoint (RFC 6749 §3.1).
    pub fn authorize(&self) -> String {
        self.endpoint("/authorize")
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub fn token(&self) -> String {
        self.endpoint("/token")
    }

    /// The JWK Set (RFC 8414 §2 `jwks_uri`).
    pub fn jwks(&self) -> String {
        self.endpoint("/jwks")
    }

    /// The userinfo endpoint (OIDC Core §5.3); also the audience of access tokens that may call it.
    pub fn userinfo(&self) -> String {
        self.endpoint("/userinfo")
    }

    /// The revocation endpoint (RFC 7009).
    pub fn revocation(&self) -> String {
        self.endpoint("/revoke")
    }

    /// The introspection endpoint (RFC 7662).
    pub fn introspection(&self) -> String {
        self.endpoint("/introspect")
    }

    /// The end-session endpoint (OpenID Connect RP-Initiated Logout §2).
    pub fn end_session(&self) -> String {
        self.endpoint("/logout")
    }

    /// The revocation feed of access tokens revoked before their expiry.
    pub fn revocation_feed(&self) -> String {
        self.endpoint("/revocations")
    }

    /// Where the sign-in form posts.
    pub fn login(&self) -> String {
        self.endpoint("/login")
    }

    /// Where the consent form posts.
    pub fn consent(&self) -> String {
        self.endpoint("/consent")
    }

    /// The client registration endpoint (RFC 7591 §3, RFC 8414 §2 `registration_endpoint`).
    pub fn registration(&self) -> String {
        self.endpoint("/register")
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Issuer {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hang_off_the_issuer_path() {
        let i = Issuer::new("https://idp.example.com/realms/main");
        assert_eq!(i.as_str(), "https://idp.example.com/realms/main");
        assert_eq!(i.token(), "https://idp.example.com/realms/main/token");
        assert_eq!(
            i.authorize(),
            "https://idp.example.com/realms/main/authorize"
        );
        assert_eq!(i.jwks(), "https://idp.example.com/realms/main/jwks");
        assert_eq!(i.userinfo(), "https://idp.example.com/realms/main/userinfo");
        assert_eq!(i.revocation(), "https://idp.example.com/realms/main/revoke");
        assert_eq!(
            i.introspection(),
            "https://idp.example.com/realms/main/introspect"
        );
        assert_eq!(
            i.end_session(),
            "https://idp.example.com/realms/main/logout"
        );
        assert_eq!(
            i.revocation_feed(),
            "https://idp.example.com/realms/main/revocations"
        );
        assert_eq!(i.login(), "https://idp.example.com/realms/main/login");
        assert_eq!(i.consent(), "https://idp.example.com/realms/main/consent");
    }

    #[test]
    fn it_displays_as_itself() {
        let i = Issuer::new("http://127.0.0.1:8080");
        assert_eq!(i.to_string(), "http://127.0.0.1:8080");
        assert_eq!(i.as_ref(), i.as_str());
        assert_eq!(i.jwks(), "http://127.0.0.1:8080/jwks");
    }
}
