//! OAuth 2.0 Token Exchange (RFC 8693) at the token endpoint: a service presents an access token
//! this issuer gave a user (the subject token) and gets one for another audience, for the same
//! user, with narrowed scopes, naming itself as the actor.
//!
//! RFC 8693 §1.1 distinguishes delegation ("A is acting on behalf of B": the issued token says so
//! with `act`, §4.1) from impersonation ("A is B": no trace of A). Delegation is what a client's
//! policy gives, impersonation only where it says so. The client authenticates as for any grant
//! (it is the actor, so `actor_token` is not used) and must have a policy
//! ([`TokenExchangePolicy`]), else `unauthorized_client`.
//!
//! The issued token is an RFC 9068 access token: `sub` the subject token's, `client_id` the
//! exchanging client, `aud` the requested resource, `scope` narrowed, `exp` never later than the
//! subject token's, and `cnf.jkt` when the request carried a DPoP proof (RFC 9449 §5). It is
//! recorded with its subject token before it is signed, so that revoking the subject token
//! revokes it too (see [`crate::store::token_exchanges`]).

use std::sync::Arc;

use auth_core::Clock;
use auth_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims, Audience};
use serde_json::{Map, Value};

use super::super::clients::Client;
use super::super::keys::KeyManager;
use super::super::oauth_error::{ErrorCode, OAuthError};
use super::super::sso::own_tokens::{self, OwnTokenError, audiences, str_claim};
use super::super::tokens::TokenIssuer;
use super::super::users::Users;
use super::super::values::Scopes;
use super::token_exchange_rules as rules;
use crate::model::token_exchange::TokenExchangePolicy;
use crate::store::Store;
use crate::store::token_exchanges::{Exchanged, Recorded};

/// RFC 8693 §2.1: the `grant_type` of a token exchange.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3: the token type of an OAuth 2.0 access token, the only `subject_token_type`
/// accepted and the only `issued_token_type`.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The RFC 8693 §2.1 request parameters, already read from the form.
#[derive(Clone, Default)]
pub struct ExchangeRequest {
    /// `subject_token` (REQUIRED).
    pub subject_token: String,
    /// `subject_token_type` (REQUIRED).
    pub subject_token_type: String,
    /// `requested_token_type` (OPTIONAL).
    pub requested_token_type: Option<String>,
    /// Whether an `actor_token` was sent (not supported: the actor is the client).
    pub actor_token: bool,
    /// Every `resource` (RFC 8707) and `audience` parameter.
    pub audiences: Vec<String>,
    /// `scope` (OPTIONAL).
    pub scope: Option<String>,
    /// The key of the request's checked DPoP proof (RFC 9449 §5): the issued token is bound to it.
    pub dpop_jkt: Option<String>,
}

/// Without the token.
impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("subject_token_type", &self.subject_token_type)
            .field("audiences", &self.audiences)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The RFC 8693 §2.2.1 response fields. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct ExchangedToken {
    /// The access token (`issued_token_type` is [`ACCESS_TOKEN_TYPE`]).
    pub access_token: String,
    /// Seconds until it expires (at most the subject token's remaining lifetime).
    pub expires_in: i64,
    /// Its scopes, if any.
    pub scope: Option<String>,
}

impl std::fmt::Debug for ExchangedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The issued token's claims: RFC 9068's, with `act` (RFC 8693 §4.1) and `cnf` (RFC 9449 §6.1).
#[derive(serde::Serialize)]
struct ExchangedClaims<'a> {
    #[serde(flatten)]
    claims: &'a AccessTokenClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Value>,
}

/// The token-exchange grant.
#[derive(Debug, Clone)]
pub struct TokenExchange {
    store: Store,
    users: Users,
    keys: Arc<KeyManager>,
    tokens: TokenIssuer,
    clock: Arc<dyn Clock>,
}

fn grant_error(m: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, m)
}

fn unavailable(e: impl std::fmt::Display) -> OAuthError {
    tracing::warn!(error = %e, "token exchange: storage failed");
    OAuthError::unavailable()
}

impl TokenExchange {
    /// The grant over these services (`tokens` signs and knows our issuer identifier).
    pub fn new(
        store: Store,
        users: Users,
        keys: Arc<KeyManager>,
        tokens: TokenIssuer,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            users,
            keys,
            tokens,
            clock,
        }
    }

    /// Runs the exchange for the authenticated `client` (RFC 8693 §2.1, §2.2). Refusals:
    /// `unauthorized_client` for a public client or one without a policy; `invalid_request` for
    /// another `subject_token_type` or `requested_token_type`, or an `actor_token`;
    /// `invalid_grant` for a subject token that is not our valid access token (signature, `typ`,
    /// `iss`, `exp`), is revoked (by `jti` or by its subject's cut-off), belongs to no enabled
    /// user, is not addressed to one of the policy's subject audiences, or whose actor chain would
    /// grow too long; `invalid_target` for an audience outside the policy (RFC 8707 §2);
    /// `invalid_scope` for a scope the subject token lacks or the policy stops.
    pub async fn exchange(
        &self,
        client: &Client,
        req: &ExchangeRequest,
    ) -> Result<ExchangedToken, OAuthError> {
        if client.public {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "a public client cannot exchange tokens",
            ));
        }
        let policy = self
            .store
            .token_exchange_policy(&client.id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::UnauthorizedClient,
                    "this client may not exchange tokens",
                )
            })?;
        check_types(req)?;
        let now = self.clock.now();
        let subject = self.subject(&req.subject_token, now, &policy).await?;
        let audience = rules::audience(&req.audiences, &policy)?;
        let subject_scopes = Scopes::from_words(str_claim(&subject.claims, "scope").unwrap_or(""));
        let scopes = rules::scopes(req.scope.as_deref(), &subject_scopes, &policy)?;
        let act = rules::act(&subject.claims, &client.id, policy.impersonation)?;
        let mut reserved = self.tokens.reserve();
        reserved.exp = reserved.exp.min(subject.exp);
        let recorded = self
            .store
            .record_exchange(&Exchanged {
                jti: &reserved.jti,
                exp: reserved.exp,
                client_id: &client.id,
                subject_jti: &subject.jti,
                subject_exp: subject.exp,
                policy: &policy,
            })
            .await
            .map_err(unavailable)?;
        match recorded {
            Recorded::Done => {}
            Recorded::SubjectRevoked => return Err(grant_error("the subject token is revoked")),
            Recorded::PolicyGone => {
                return Err(OAuthError::new(
                    ErrorCode::UnauthorizedClient,
                    "this client may not exchange tokens",
                ));
            }
            Recorded::PolicyChanged => {
                return Err(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the client's exchange policy changed during this request: try again",
                ));
            }
        }
        let expires_in = reserved.exp - reserved.iat;
        let claims = AccessTokenClaims {
            iss: self.tokens.issuer().to_owned(),
            sub: subject.sub,
            aud: Audience::from_list(audience),
            exp: reserved.exp,
            // The subject token's `iat`, not now: a per-user cut-off (a new password, a disabled
            // user: "tokens issued before") compares `iat`, so every cut-off that revokes the
            // subject token revokes this one too, even one committed while this exchange ran
            // (its `before` may be earlier than now, and a subject token not tracked by `jti`
            // would leave nothing else to revoke this one by).
            iat: subject.iat,
            jti: reserved.jti,
            client_id: client.id.clone(),
            scope: scopes.to_optional_string(),
        };
        let cnf = req
            .dpop_jkt
            .as_ref()
            .map(|jkt| serde_json::json!({ "jkt": jkt }));
        let body = ExchangedClaims {
            claims: &claims,
            act,
            cnf,
        };
        let token = self
            .tokens
            .sign(client.alg, ACCESS_TOKEN_TYP, &body)
            .await
            .map_err(super::issue_error)?;
        Ok(ExchangedToken {
            access_token: token,
            expires_in,
            scope: claims.scope,
        })
    }

    /// The subject token verified as ours and live, for `policy`.
    async fn subject(
        &self,
        token: &str,
        now: i64,
        policy: &TokenExchangePolicy,
    ) -> Result<Subject, OAuthError> {
        let claims = own_tokens::verify(
            &self.keys,
            self.tokens.issuer(),
            token,
            ACCESS_TOKEN_TYP,
            now,
            false,
        )
        .map_err(|e| match e {
            OwnTokenError::Invalid => {
                grant_error("the subject token is not a valid access token of this issuer")
            }
            OwnTokenError::Expired => grant_error("the subject token has expired"),
        })?;
        let (Some(sub), Some(jti), Some(iat), Some(exp)) = (
            str_claim(&claims, "sub"),
            str_claim(&claims, "jti"),
            claims.get("iat").and_then(Value::as_i64),
            claims.get("exp").and_then(Value::as_i64),
        ) else {
            return Err(grant_error("the subject token lacks sub, jti, iat or exp"));
        };
        if !audiences(&claims)
            .iter()
            .any(|a| policy.subject_audiences.contains(a))
        {
            return Err(grant_error(
                "the subject token is not addressed to this client",
            ));
        }
        if self
            .store
            .is_access_token_revoked(jti)
            .await
            .map_err(unavailable)?
        {
            return Err(grant_error("the subject token is revoked"));
        }
        if (self.store.cut_off_applies(sub, iat).await).map_err(unavailable)? {
            return Err(grant_error("the subject token is revoked"));
        }
        // The subject must be a user, still there and enabled (a client's own token names the
        // client, which is no user).
        let user = self.users.get(sub).await.map_err(unavailable)?;
        if user.is_none_or(|u| u.disabled) {
            return Err(grant_error("the subject token's user is not active"));
        }
        Ok(Subject {
            sub: sub.to_owned(),
            jti: jti.to_owned(),
            iat,
            exp,
            claims,
        })
    }
}

/// A verified, live subject token.
struct Subject {
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
    claims: Map<String, Value>,
}

/// RFC 8693 §2.1: `subject_token_type` must be the access-token type (the only kind we issue
/// and can verify); so must `requested_token_type`, when sent. `actor_token` is not supported:
/// the authenticated client is the actor.
fn check_types(req: &ExchangeRequest) -> Result<(), OAuthError> {
    let invalid = |m: &'static str| OAuthError::new(ErrorCode::InvalidRequest, m);
    if req.subject_token_type != ACCESS_TOKEN_TYPE {
        return Err(invalid(
            "subject_token_type must be urn:ietf:params:oauth:token-type:access_token",
        ));
    }
    if req
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(invalid(
            "requested_token_type must be urn:ietf:params:oauth:token-type:access_token",
        ));
    }
    if req.actor_token {
        return Err(invalid(
            "actor_token is not supported: the authenticated client is the actor",
        ));
    }
    Ok(())
}
