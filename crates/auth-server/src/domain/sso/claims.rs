//! ID token (OpenID Connect Core §2) and userinfo (§5.3) claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::domain::users::User;

/// `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// Standard claims released by scope (OIDC Core §5.4): `profile` gives `name`, `preferred_username`
/// and `updated_at`; `email` gives `email` and `email_verified`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct UserClaims {
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Login name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Last change of the user record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Addresses are set by operators and never verified by this IdP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl UserClaims {
    /// The claims `scopes` release about `user`.
    pub fn for_scopes(user: &User, scopes: &[String]) -> Self {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        let mut c = Self::default();
        if has("profile") {
            c.name = Some(user.display_name.clone());
            c.preferred_username = Some(user.username.clone());
            c.updated_at = Some(user.updated_at);
        }
        if has("email") && user.email.is_some() {
            c.email = user.email.clone();
            c.email_verified = Some(false);
        }
        c
    }
}

/// The claims of an ID token (OIDC Core §2, §3.1.3.6).
#[derive(Debug, Clone, Serialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Authorized party: the client id (§2).
    pub azp: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the user entered the password.
    pub auth_time: i64,
    /// The request's `nonce`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// §3.1.3.6: hash of the access token issued with it.
    pub at_hash: String,
    /// The SSO session id (OIDC Front-/Back-Channel Logout `sid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Authentication methods (RFC 8176), from the session: `pwd`, then `otp` and `mfa` after a
    /// TOTP code, `mfa` alone after a recovery code (see `domain::mfa::factor`).
    pub amr: Vec<String>,
    /// Authentication context class (OIDC Core §2): the level the session actually reached,
    /// derived from `amr` ([`crate::domain::mfa::acr_for`]).
    pub acr: String,
    /// Claims by scope.
    #[serde(flatten)]
    pub user: UserClaims,
}

/// OIDC Core §3.1.3.6: "the base64url encoding of the left-most half of the hash of the octets of the
/// ASCII representation of the access_token value, where the hash algorithm used is the hash algorithm
/// used in the alg Header Parameter" (SHA-256 for both RS256 and ES256).
pub fn at_hash(access_token: &str) -> String {
    let digest = crate::domain::random::sha256(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OIDC Core A.3 example: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" has
        // at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn claims_follow_scopes() {
        let u = User {
            id: "u1".into(),
            username: "alice".into(),
            email: Some("a@example.com".into()),
            display_name: "Alice".into(),
            disabled: false,
            has_password: true,
            created_at: 1,
            updated_at: 2,
            security_stamp: 0,
        };
        assert_eq!(
            UserClaims::for_scopes(&u, &["openid".into()]),
            UserClaims::default()
        );
        let c = UserClaims::for_scopes(&u, &["openid".into(), "email".into()]);
        assert_eq!(c.email.as_deref(), Some("a@example.com"));
        assert_eq!(c.name, None);
        let c = UserClaims::for_scopes(&u, &["profile".into()]);
        assert_eq!(c.preferred_username.as_deref(), Some("alice"));
    }
}
