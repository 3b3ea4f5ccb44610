//! Claim sets carried in the JWTs this project issues.

use serde::{Deserialize, Serialize};

use crate::UnixTime;

/// The JOSE `typ` of an RFC 9068 access token (§2.1: `at+jwt`; `application/at+jwt` is equivalent).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
///
/// Serialised as a plain string when there is exactly one, as most verifiers expect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Builds the claim from a list, collapsing a single entry to [`Audience::One`].
    pub fn from_list(mut list: Vec<String>) -> Self {
        if list.len() == 1 {
            Audience::One(list.remove(0))
        } else {
            Audience::Many(list)
        }
    }

    /// Whether `aud` names `audience`.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(list) => list.iter().any(|a| a == audience),
        }
    }
}

/// The claims of an RFC 9068 JWT access token (§2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer identifier, exactly as in discovery.
    pub iss: String,
    /// Subject: the resource owner, or the client itself for client credentials (§2.2).
    pub sub: String,
    /// The resource servers this token is meant for (RFC 8707 `resource`).
    pub aud: Audience,
    /// Expiry.
    pub exp: UnixTime,
    /// Issue time.
    pub iat: UnixTime,
    /// Unique token id.
    pub jti: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// Space-separated granted scopes (RFC 8693 §4.2); absent when none were granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_audience_is_a_string_and_several_are_an_array() {
        let one = Audience::from_list(vec!["https://api".into()]);
        assert_eq!(
            serde_json::to_value(&one).ok(),
            Some(serde_json::json!("https://api"))
        );
        let many = Audience::from_list(vec!["a".into(), "b".into()]);
        assert_eq!(
            serde_json::to_value(&many).ok(),
            Some(serde_json::json!(["a", "b"]))
        );
        assert!(many.contains("b") && !many.contains("c") && one.contains("https://api"));
    }
}
