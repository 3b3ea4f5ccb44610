//! Each client's token-exchange policy (RFC 8693): read at the token endpoint, set by the
//! administrator (CLI, admin API) with a `client.updated` audit event in the same transaction.
//! A client without a policy may not exchange tokens: the grant is off by default.

use super::{ClientError, ClientRegistry};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::values::{Resources, Scopes, is_scope_token, validate_resource};
pub use crate::model::token_exchange::TokenExchangePolicy;

/// Most entries in each list of a policy.
pub const MAX_POLICY_ENTRIES: usize = 100;

/// A policy as an administrator writes it, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTokenExchangePolicy {
    /// The audiences a subject token must be addressed to (at least one).
    pub subject_audiences: Vec<String>,
    /// The audiences the client may ask for (at least one).
    pub audiences: Vec<String>,
    /// The scopes that may pass (none: exchanged tokens carry no scope).
    pub scopes: Vec<String>,
    /// Impersonation instead of delegation.
    pub impersonation: bool,
}

impl NewTokenExchangePolicy {
    /// Checks the lists: RFC 8707 §2 resources (absolute URIs without fragment) and RFC 6749
    /// §3.3 scope tokens, at least one audience of each kind, at most [`MAX_POLICY_ENTRIES`]
    /// each. The policy of client `client_id`, dated `now`.
    pub fn check(self, client_id: &str, now: i64) -> Result<TokenExchangePolicy, ClientError> {
        let resources = |list: Vec<String>, what: &str| -> Result<Resources, ClientError> {
            if list.is_empty() {
                return Err(ClientError::Invalid(format!(
                    "at least one {what} is needed"
                )));
            }
            if list.len() > MAX_POLICY_ENTRIES {
                return Err(ClientError::Invalid(format!(
                    "at most {MAX_POLICY_ENTRIES} of {what}"
                )));
            }
            for r in &list {
                validate_resource(r)
                    .map_err(|p| ClientError::Invalid(format!("{what} {r:?} {p}")))?;
            }
            Ok(list.iter().collect())
        };
        if self.scopes.len() > MAX_POLICY_ENTRIES {
            return Err(ClientError::Invalid(format!(
                "at most {MAX_POLICY_ENTRIES} scopes"
            )));
        }
        if let Some(bad) = self.scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(ClientError::Invalid(format!(
                "{bad:?} is not a scope (RFC 6749 §3.3)"
            )));
        }
        Ok(TokenExchangePolicy {
            client_id: client_id.to_owned(),
            subject_audiences: resources(self.subject_audiences, "subject audience")?,
            audiences: resources(self.audiences, "audience")?,
            scopes: self.scopes.iter().collect::<Scopes>(),
            impersonation: self.impersonation,
            updated_at: now,
        })
    }
}

/// A policy as JSON: the admin API's and the command line's form.
pub fn policy_json(p: &TokenExchangePolicy) -> serde_json::Value {
    serde_json::json!({
        "client_id": p.client_id,
        "subject_audiences": p.subject_audiences,
        "audiences": p.audiences,
        "scopes": p.scopes,
        "impersonation": p.impersonation,
        "updated_at": p.updated_at,
    })
}

impl ClientRegistry {
    /// Client `id`'s exchange policy, if it has one.
    pub async fn token_exchange_policy(
        &self,
        id: &str,
    ) -> Result<Option<TokenExchangePolicy>, ClientError> {
        Ok(self.store.token_exchange_policy(id).await?)
    }

    /// Sets (`Some`) or removes (`None`) client `id`'s exchange policy by `actor`, with a
    /// `client.updated` audit event (`changed: ["token_exchange"]`). A public client cannot have
    /// one: it could not authenticate its exchanges. `Ok(None)` when there is no such client;
    /// else the policy now in force. Seen by every replica at once (it is read per exchange).
    pub async fn set_token_exchange_policy(
        &self,
        id: &str,
        policy: Option<NewTokenExchangePolicy>,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Option<Option<TokenExchangePolicy>>, ClientError> {
        let Some(client) = self.store.find_client(id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let policy = match policy {
            Some(_) if client.public => {
                return Err(ClientError::Invalid(format!(
                    "client {id:?} is public: it cannot authenticate, so it cannot exchange tokens"
                )));
            }
            Some(p) => Some(p.check(id, now)?),
            None => None,
        };
        let audit = AuditEvent::new(EventType::ClientUpdated, actor.clone())
            .client(id)
            .request(request)
            .detail(serde_json::json!({ "changed": ["token_exchange"] }))
            .record(now);
        if !self
            .store
            .set_token_exchange_policy(id, policy.as_ref(), &audit)
            .await?
        {
            return Ok(None);
        }
        crate::domain::audit::log(&audit);
        Ok(Some(policy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> NewTokenExchangePolicy {
        NewTokenExchangePolicy {
            subject_audiences: vec!["https://orders.example".into()],
            audiences: vec!["https://inventory.example".into()],
            scopes: vec!["inventory:reserve".into()],
            impersonation: false,
        }
    }

    #[test]
    fn a_checked_policy_keeps_its_lists() {
        let p = policy().check("orders", 7).ok();
        assert_eq!(
            p.as_ref().map(|p| p.audiences.to_string()),
            Some("https://inventory.example".to_owned())
        );
        assert_eq!(
            p.map(|p| (p.client_id, p.updated_at)),
            Some(("orders".into(), 7))
        );
    }

    #[test]
    fn bad_policies_are_refused() {
        let mut p = policy();
        p.subject_audiences.clear();
        assert!(p.check("c", 0).is_err(), "no subject audience");
        let mut p = policy();
        p.audiences = vec!["relative".into()];
        assert!(p.check("c", 0).is_err(), "not an absolute URI");
        let mut p = policy();
        p.audiences = vec!["https://a#frag".into()];
        assert!(p.check("c", 0).is_err(), "fragment");
        let mut p = policy();
        p.scopes = vec!["a b".into()];
        assert!(p.check("c", 0).is_err(), "not a scope token");
        let mut p = policy();
        p.scopes = (0..=MAX_POLICY_ENTRIES).map(|i| format!("s{i}")).collect();
        assert!(p.check("c", 0).is_err(), "too many");
    }
}
