//! Passwordless sign-in with a passkey: a separate entry point next to [`Flow::login`] that starts
//! the SSO session once the WebAuthn assertion was verified (`domain::webauthn`) and continues the
//! authorization request exactly as a password sign-in does (consent, then the code).

use serde_json::json;

use super::super::request::{AuthorizeParams, AuthorizeRequest};
use super::super::sessions::Session;
use super::{Flow, FlowError, LoginOutcome, LoginProblem, Step};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::users::User;

/// A verified authenticator's word about who is signing in.
#[derive(Debug, Clone, Copy)]
pub struct KeySignIn<'a> {
    /// The user the credential belongs to.
    pub user_id: &'a str,
    /// The methods the assertion proved (RFC 8176), e.g. `["hwk", "mfa"]`.
    pub amr: &'a [&'a str],
    /// Our id of the credential, for the audit event.
    pub credential: &'a str,
}

impl Flow {
    /// Validates an authorization request carried by a passkey form before the assertion is checked
    /// (an invalid request gets its error step, and no ceremony is used up).
    pub async fn passkey_request(
        &self,
        params: AuthorizeParams,
    ) -> Result<Result<AuthorizeRequest, Step>, FlowError> {
        self.validate(params).await
    }

    /// Signs in with a verified passkey: ends whatever session the browser had (fixation), starts a
    /// new one with `key.amr` (the audit event `sign_in.success`, detail `{"method": "webauthn"}`,
    /// in its transaction), and continues `req`. A disabled user gets the sign-in page again with
    /// the usual "rejected" message.
    pub async fn passkey_sign_in(
        &self,
        req: AuthorizeRequest,
        key: KeySignIn<'_>,
        meta: &RequestMeta,
        old_session_secret: Option<&str>,
    ) -> Result<LoginOutcome, FlowError> {
        let refused = |req: AuthorizeRequest| LoginOutcome {
            step: Step::Login {
                request: Box::new(req),
                problem: Some(LoginProblem::Rejected),
                username: String::new(),
            },
            new_session: None,
            device_cookie: None,
        };
        let Some(user) = self.users.get(key.user_id).await?.filter(|u| !u.disabled) else {
            return Ok(refused(req));
        };
        if let Some(old) = old_session_secret
            && let Some(s) = self.sessions.current(old).await?
        {
            self.sessions.end(&s.id).await?;
        }
        let success = AuditEvent::new(EventType::SignInSuccess, Actor::User(user.id.clone()))
            .user(&user.id)
            .client(&req.client.id)
            .request(meta)
            .detail(json!({ "method": "webauthn", "credential": key.credential }));
        let Some((secret, session)) = self
            .sessions
            .create_recorded(&user.id, user.security_stamp, key.amr, Some(&success))
            .await?
        else {
            return Ok(refused(req));
        };
        let step = self.after_authentication(req, &session, user).await?;
        Ok(LoginOutcome {
            step,
            new_session: Some(secret),
            device_cookie: None,
        })
    }

    /// The live session behind a cookie secret and its enabled user (the account pages).
    pub async fn session_user(
        &self,
        session_secret: Option<&str>,
    ) -> Result<Option<(Session, User)>, FlowError> {
        Ok(match self.signed_in(session_secret).await? {
            (Some(s), Some(u)) => Some((s, u)),
            _ => None,
        })
    }
}
