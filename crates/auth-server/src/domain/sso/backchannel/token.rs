//! The logout token (OpenID Connect Back-Channel Logout 1.0 §2.4): a JWT signed like the
//! client's ID tokens, with header `typ: logout+jwt` (§2.4: explicit typing, so that it cannot be
//! mistaken for an ID token or an access token).

use serde::Serialize;

/// The media type in the header's `typ` (§2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The `events` member's key (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The claims of a logout token. §2.4: "A Logout Token MUST NOT contain a nonce Claim": there is
/// no field for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogoutClaims {
    /// Issuer identifier.
    pub iss: String,
    /// The client id (one audience).
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry (short: the token is used once, at once).
    pub exp: i64,
    /// Unique id, so a client can refuse a repeat.
    pub jti: String,
    /// `{"http://schemas.openid.net/event/backchannel-logout": {}}`.
    pub events: serde_json::Value,
    /// The user (the `sub` of the client's ID tokens).
    pub sub: String,
    /// The session (the `sid` of the client's ID tokens); always present, so it satisfies
    /// `backchannel_logout_session_required`.
    pub sid: String,
}

impl LogoutClaims {
    /// The claims telling client `aud` that session `sid` of user `sub` has ended, issued at
    /// `iat`, valid for `ttl` seconds.
    pub fn new(
        iss: &str,
        aud: &str,
        sub: &str,
        sid: &str,
        iat: i64,
        ttl: i64,
        jti: String,
    ) -> Self {
        Self {
            iss: iss.to_owned(),
            aud: aud.to_owned(),
            iat,
            exp: iat.saturating_add(ttl),
            jti,
            events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
            sub: sub.to_owned(),
            sid: sid.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_have_the_event_sid_and_sub_and_never_a_nonce() {
        let c = LogoutClaims::new("https://idp", "app", "u1", "s1", 100, 120, "j".into());
        let v = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(v["events"][BACKCHANNEL_LOGOUT_EVENT], serde_json::json!({}));
        assert_eq!(v["sid"], "s1");
        assert_eq!(v["sub"], "u1");
        assert_eq!(v["aud"], "app");
        assert_eq!(v["exp"], 220);
        assert!(v.get("nonce").is_none());
    }
}
