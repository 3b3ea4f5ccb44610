//! The pure decisions of a token exchange (RFC 8693): the audiences, the scopes and the `act`
//! claim of the token to issue, from the request, the subject token and the client's policy.

use serde_json::{Map, Value, json};

use super::super::oauth_error::{ErrorCode, OAuthError};
use super::super::values::{Resources, ScopeError, Scopes, validate_resource};
use crate::model::token_exchange::TokenExchangePolicy;

/// The deepest chain of actors an issued token may carry (`act` inside `act`...): a longer chain
/// is refused with `invalid_grant`.
pub const MAX_ACT_DEPTH: usize = 4;

/// RFC 8693 §2.1 `resource` and `audience` ("the logical name of the target service"), both
/// taken to name the audience, here an RFC 8707 resource URI among the policy's `audiences`;
/// else `invalid_target` (RFC 8693 §2.2.2, RFC 8707 §2). Without either, the policy's only
/// audience; a policy with several needs one named.
pub fn audience(asked: &[String], policy: &TokenExchangePolicy) -> Result<Vec<String>, OAuthError> {
    let target = |m: String| OAuthError::new(ErrorCode::InvalidTarget, m);
    let mut out = Resources::default();
    for a in asked {
        validate_resource(a).map_err(|p| target(format!("resource {p}")))?;
        if !policy.audiences.contains(a) {
            return Err(target(format!(
                "this client may not exchange tokens for the audience {a:?}"
            )));
        }
        out.insert(a);
    }
    if out.is_empty() {
        return match &policy.audiences[..] {
            [only] => Ok(vec![only.clone()]),
            _ => Err(target(
                "name the audience with resource (RFC 8707) or audience (RFC 8693)".into(),
            )),
        };
    }
    Ok(out.to_vec())
}

/// The scopes of the issued token (RFC 8693 §2.1 `scope`): asked for, each one the subject token
/// has and the policy lets pass, else `invalid_scope` (an exchange never widens); without
/// `scope`, every scope of the subject token that the policy lets pass.
pub fn scopes(
    asked: Option<&str>,
    subject: &Scopes,
    policy: &TokenExchangePolicy,
) -> Result<Scopes, OAuthError> {
    let Some(asked) = asked else {
        return Ok(subject
            .iter()
            .filter(|s| policy.scopes.contains(s.as_str()))
            .collect());
    };
    let asked = Scopes::parse_allowed(asked, subject).map_err(|e| match e {
        ScopeError::Malformed => OAuthError::new(ErrorCode::InvalidScope, "malformed scope"),
        ScopeError::NotAllowed(s) => OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope {s:?} is not in the subject token: an exchange cannot widen it"),
        ),
    })?;
    if let Some(s) = asked.iter().find(|s| !policy.scopes.contains(s.as_str())) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope {s:?} may not pass through this client's exchanges"),
        ));
    }
    Ok(asked)
}

/// How many actors an `act` claim names (RFC 8693 §4.1: each `act` may hold the previous one);
/// `None` when it is not a chain of objects each with a string `sub`.
pub fn act_depth(act: Option<&Value>) -> Option<usize> {
    let mut depth = 0;
    let mut next = act;
    while let Some(v) = next {
        let o = v.as_object()?;
        o.get("sub")?.as_str()?;
        depth += 1;
        if depth > MAX_ACT_DEPTH + 1 {
            return None;
        }
        next = o.get("act");
    }
    Some(depth)
}

/// The `act` claim of the issued token (RFC 8693 §4.1). Delegation: `{"sub": <client>}`, with
/// the subject token's own `act` nested inside as the prior actor ("the least recent actor is the
/// most deeply nested"). Impersonation: the subject token's `act`, unchanged (none when it had
/// none): the client does not appear. A chain deeper than [`MAX_ACT_DEPTH`] is `invalid_grant`.
pub fn act(
    subject: &Map<String, Value>,
    client_id: &str,
    impersonation: bool,
) -> Result<Option<Value>, OAuthError> {
    let prior = subject.get("act");
    let depth = act_depth(prior).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidGrant,
            "the subject token's act claim is malformed",
        )
    })?;
    if impersonation {
        return Ok(prior.cloned());
    }
    if depth + 1 > MAX_ACT_DEPTH {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            format!("the chain of actors would be longer than {MAX_ACT_DEPTH}"),
        ));
    }
    Ok(Some(match prior {
        Some(p) => json!({ "sub": client_id, "act": p }),
        None => json!({ "sub": client_id }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(audiences: &[&str]) -> TokenExchangePolicy {
        TokenExchangePolicy {
            client_id: "orders".into(),
            subject_audiences: Resources::from_words("https://orders"),
            audiences: Resources::from_words(&audiences.join(" ")),
            scopes: Scopes::from(&["inv:read", "inv:reserve"][..]),
            impersonation: false,
            updated_at: 0,
        }
    }

    fn code<T>(r: Result<T, OAuthError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn audiences_come_from_the_policy() {
        let one = policy(&["https://inv"]);
        assert_eq!(audience(&[], &one).ok(), Some(vec!["https://inv".into()]));
        let asked = ["https://inv".to_owned(), "https://inv".to_owned()];
        assert_eq!(
            audience(&asked, &one).ok(),
            Some(vec!["https://inv".into()])
        );
        assert_eq!(
            code(audience(&["https://other".into()], &one)),
            Some(ErrorCode::InvalidTarget)
        );
        assert_eq!(
            code(audience(&["rel".into()], &one)),
            Some(ErrorCode::InvalidTarget)
        );
        let two = policy(&["https://inv", "https://ship"]);
        assert_eq!(code(audience(&[], &two)), Some(ErrorCode::InvalidTarget));
    }

    #[test]
    fn scopes_only_narrow() {
        let p = policy(&["https://inv"]);
        let subject = Scopes::from(&["openid", "inv:read", "inv:reserve"][..]);
        assert_eq!(
            scopes(None, &subject, &p).map(|s| s.to_string()).ok(),
            Some("inv:read inv:reserve".into())
        );
        assert_eq!(
            scopes(Some("inv:read"), &subject, &p)
                .map(|s| s.to_string())
                .ok(),
            Some("inv:read".into())
        );
        let narrow = Scopes::from(&["inv:read"][..]);
        assert_eq!(
            code(scopes(Some("inv:reserve"), &narrow, &p)),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            code(scopes(Some("openid"), &subject, &p)),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            code(scopes(Some("a  b"), &subject, &p)),
            Some(ErrorCode::InvalidScope)
        );
    }

    #[test]
    fn act_nests_and_is_bounded() {
        let mut subject = Map::new();
        assert_eq!(
            act(&subject, "a", false).ok(),
            Some(Some(json!({"sub": "a"})))
        );
        assert_eq!(act(&subject, "a", true).ok(), Some(None));
        subject.insert("act".into(), json!({"sub": "a"}));
        assert_eq!(
            act(&subject, "b", false).ok(),
            Some(Some(json!({"sub": "b", "act": {"sub": "a"}})))
        );
        assert_eq!(
            act(&subject, "b", true).ok(),
            Some(Some(json!({"sub": "a"})))
        );
        let deep =
            json!({"sub": "d", "act": {"sub": "c", "act": {"sub": "b", "act": {"sub": "a"}}}});
        subject.insert("act".into(), deep);
        assert_eq!(
            code(act(&subject, "e", false)),
            Some(ErrorCode::InvalidGrant)
        );
        subject.insert("act".into(), json!({"act": {"sub": "a"}}));
        assert_eq!(
            code(act(&subject, "e", false)),
            Some(ErrorCode::InvalidGrant)
        );
        subject.insert("act".into(), json!("a"));
        assert_eq!(
            code(act(&subject, "e", true)),
            Some(ErrorCode::InvalidGrant)
        );
    }
}
