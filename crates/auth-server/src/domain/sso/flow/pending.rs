//! Pending sign-ins (see [`super::second_factor`]): finding the one a form names, and completing it
//! once a factor was verified. This is the API a second factor plugs into: the TOTP and recovery
//! codes of [`Flow::second_factor`] use it, and so can WebAuthn: [`Flow::pending_sign_in`] gives the
//! user whose factor to verify, [`Flow::complete_pending`] takes the verified [`FactorKind`].

use serde_json::json;

use super::super::request::{AuthorizeParams, AuthorizeRequest};
use super::super::sessions::Session;
use super::consent::request_digest;
use super::second_factor::BrowserBinding;
use super::{Flow, FlowError, LoginOutcome, Step};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::mfa::{FactorKind, amr_with};
use crate::domain::random;
use crate::domain::users::User;
use crate::store::mfa_pending::{PendingKey, PendingRecord};

/// The page shown when a pending sign-in cannot be found or completed.
const EXPIRED: &str = "This sign-in has expired or was already completed. Go back to the application and sign in again.";

/// An open pending sign-in that this browser holds for this request: the user whose second
/// factor to verify. Not completed yet: see [`Flow::complete_pending`].
#[derive(Debug)]
pub struct PendingSignIn {
    /// The validated authorization request.
    pub request: AuthorizeRequest,
    /// The user signing in (enabled, password unchanged since it was checked).
    pub user: User,
    record: PendingRecord,
    ticket_sha256: Vec<u8>,
    browser_sha256: Vec<u8>,
    request_sha256: Vec<u8>,
}

impl PendingSignIn {
    /// Whether this is a step-up of an existing session (no password was asked).
    pub fn is_step_up(&self) -> bool {
        self.record.session_id.is_some()
    }

    /// What a WebAuthn ceremony for this pending sign-in is bound to: the digest of its ticket
    /// (hex), so the ceremony answers this pending sign-in only.
    pub fn ceremony_binding(&self) -> String {
        self.ticket_sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Flow {
    /// The pending sign-in that `ticket` names, if it is open, this browser holds it (its session
    /// cookie for a step-up, its CSRF cookie otherwise) and it was made for exactly this request;
    /// otherwise the step to show (an error page, or the request's own error).
    pub async fn pending_sign_in(
        &self,
        params: AuthorizeParams,
        ticket: Option<&str>,
        browser: BrowserBinding<'_>,
    ) -> Result<Result<PendingSignIn, Step>, FlowError> {
        let req = match self.validate(params).await? {
            Ok(r) => r,
            Err(step) => return Ok(Err(step)),
        };
        let Some(ticket) = ticket.filter(|t| !t.is_empty() && t.len() <= 128) else {
            return Ok(Err(Step::Error(EXPIRED)));
        };
        let ticket_sha256 = random::sha256(ticket.as_bytes());
        let request_sha256 = request_digest(&req);
        let now = self.clock.now();
        let candidates = [
            browser.session.map(|s| (s, true)),
            browser.csrf.map(|c| (c, false)),
        ];
        for (cookie, is_session) in candidates.into_iter().flatten() {
            let browser_sha256 = random::sha256(cookie.as_bytes());
            let key = PendingKey {
                ticket_sha256: &ticket_sha256,
                browser_sha256: &browser_sha256,
                client_id: &req.client.id,
                request_sha256: &request_sha256,
            };
            let Some(record) = self.store.find_mfa_pending(key, now).await? else {
                continue;
            };
            if record.session_id.is_some() != is_session {
                continue;
            }
            return Ok(match self.users.get(&record.user_id).await? {
                Some(user) if !user.disabled && user.security_stamp == record.security_stamp => {
                    Ok(PendingSignIn {
                        request: req,
                        user,
                        record,
                        ticket_sha256,
                        browser_sha256,
                        request_sha256,
                    })
                }
                _ => Err(Step::Error(EXPIRED)),
            });
        }
        Ok(Err(Step::Error(EXPIRED)))
    }

    /// Completes `p` with a verified factor of kind `kind`: takes the pending sign-in (one
    /// conditional update: of two completions at once, one wins; the other gets the expired page),
    /// then steps the session up or starts a new one (ending any session the browser had: session
    /// fixation), storing `sign_in.success` with the `amr`, and goes on to consent or the code.
    pub async fn complete_pending(
        &self,
        p: PendingSignIn,
        kind: FactorKind,
        browser: BrowserBinding<'_>,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, FlowError> {
        let expired = || LoginOutcome {
            step: Step::Error(EXPIRED),
            new_session: None,
            device_cookie: None,
        };
        let key = PendingKey {
            ticket_sha256: &p.ticket_sha256,
            browser_sha256: &p.browser_sha256,
            client_id: &p.request.client.id,
            request_sha256: &p.request_sha256,
        };
        let now = self.clock.now();
        if !self.store.take_mfa_pending(key, now).await? {
            return Ok(expired());
        }
        let amr = amr_with(&p.record.amr, kind);
        let success = self
            .event(
                EventType::SignInSuccess,
                Actor::User(p.user.id.clone()),
                &p,
                meta,
            )
            .detail(json!({ "amr": amr }));
        if let Some(sid) = &p.record.session_id {
            if !self.store.step_up_session(sid, &amr, now).await? {
                return Ok(expired());
            }
            self.record(success.subject(sid.clone())).await?;
            let session = Session {
                id: sid.clone(),
                user_id: p.user.id.clone(),
                auth_time: now,
                amr,
            };
            let step = self
                .after_authentication(p.request, &session, p.user)
                .await?;
            return Ok(LoginOutcome {
                step,
                new_session: None,
                device_cookie: None,
            });
        }
        if let Some(old) = browser.session
            && let Some(s) = self.sessions.current(old).await?
        {
            self.sessions.end(&s.id).await?;
        }
        let methods: Vec<&str> = amr.iter().map(String::as_str).collect();
        let stamp = p.record.security_stamp;
        let Some((secret, session)) = self
            .sessions
            .create_recorded(&p.user.id, stamp, &methods, Some(&success))
            .await?
        else {
            return Ok(expired());
        };
        let step = self
            .after_authentication(p.request, &session, p.user)
            .await?;
        Ok(LoginOutcome {
            step,
            new_session: Some(secret),
            device_cookie: None,
        })
    }

    /// An audit event about the user and client of `p`, from `meta`.
    pub(super) fn event(
        &self,
        t: EventType,
        actor: Actor,
        p: &PendingSignIn,
        meta: &RequestMeta,
    ) -> AuditEvent {
        AuditEvent::new(t, actor)
            .user(&p.user.id)
            .client(&p.request.client.id)
            .request(meta)
    }

    /// The live session behind a cookie secret and its (enabled) user, for the account pages.
    pub async fn account_session(
        &self,
        session_secret: Option<&str>,
    ) -> Result<Option<(Session, User)>, FlowError> {
        Ok(match self.signed_in(session_secret).await? {
            (Some(s), Some(u)) => Some((s, u)),
            _ => None,
        })
    }
}
