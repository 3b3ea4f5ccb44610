//! The second-factor step of sign-in (see [`crate::domain::mfa`]): after the password, a user who
//! has a factor, or whom the policy requires one of, gets a second-factor page bound to a
//! short-lived, single-use, server-side pending sign-in; only a right answer creates the SSO session
//! (amr `pwd otp mfa`, or `pwd mfa` for a recovery code).
//!
//! The policy (any one suffices): the user is required to use MFA (an administrator's flag); the
//! client is registered with `require_mfa`; the request's `acr_values` asks for
//! [`ACR_MFA`](crate::domain::mfa::ACR_MFA). A user with no factor who must use one enrolls TOTP on
//! that page before the code is issued.
//!
//! Step-up: a session that signed in with the password only, asked for MFA, gets the second factor
//! alone, not the password again, like Keycloak's step-up flows (acr levels): the session already
//! proved the password, OIDC Core §3.1.2.1 makes `acr_values` a request for a level, not for a fresh
//! sign-in, and `prompt=login` / `max_age` are how a client asks for the password again. The
//! session then carries the new `amr` and `auth_time`.

use serde_json::json;

use super::super::request::{AuthorizeParams, AuthorizeRequest};
use super::super::sessions::Session;
use super::consent::request_digest;
use super::{Flow, FlowError, LoginOutcome, SecondFactorProblem, Step};
use crate::domain::audit::{Actor, EventType, RequestMeta};
use crate::domain::mfa::factor::acr_values_demand_mfa;
use crate::domain::mfa::{Answer, MfaError, Verdict};
use crate::domain::oauth_error::ErrorCode;
use crate::domain::random;
use crate::domain::users::User;
use crate::store::mfa_pending::PendingRecord;

/// Bytes of randomness in a pending sign-in's ticket.
const TICKET_BYTES: usize = 32;
/// Seconds a second-factor page may be answered.
pub const PENDING_TTL: i64 = 300;

/// What ties a pending sign-in to one browser: its CSRF cookie for a new sign-in (the password
/// form was posted with it), its session cookie for a step-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserBinding<'a> {
    /// The CSRF cookie.
    pub csrf: Option<&'a str>,
    /// The session cookie.
    pub session: Option<&'a str>,
}

/// The second-factor form's fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecondFactorForm<'a> {
    /// The pending sign-in's ticket.
    pub ticket: Option<&'a str>,
    /// A TOTP code.
    pub code: Option<&'a str>,
    /// A recovery code (used instead of `code` when given).
    pub recovery_code: Option<&'a str>,
    /// The enrollment being confirmed, when the page enrolled TOTP.
    pub enrollment_id: Option<&'a str>,
}

impl From<MfaError> for FlowError {
    fn from(e: MfaError) -> Self {
        match e {
            MfaError::Store(s) => FlowError::Store(s),
            MfaError::Kek(k) => FlowError::Mfa(k.to_string()),
        }
    }
}

fn digest(s: &str) -> Vec<u8> {
    random::sha256(s.as_bytes())
}

impl Flow {
    /// Whether the policy requires a second factor of `user` for `req`.
    pub(super) async fn mfa_required(
        &self,
        req: &AuthorizeRequest,
        user: &User,
    ) -> Result<bool, FlowError> {
        Ok(req.client.require_mfa
            || acr_values_demand_mfa(req.params.acr_values.as_deref())
            || self.mfa.required_for(&user.id).await?)
    }

    /// After a right password: whether the sign-in needs a second factor (the user has one, or the
    /// policy requires one).
    pub(super) async fn needs_second_factor(
        &self,
        req: &AuthorizeRequest,
        user: &User,
    ) -> Result<bool, FlowError> {
        Ok(self.mfa.factors(&user.id).await?.any() || self.mfa_required(req, user).await?)
    }

    /// Opens a pending sign-in for `user` (a step-up of `session` if given, whose methods are
    /// `base_amr`) bound to `browser` (the digest of the binding cookie), and the page that asks
    /// for the second factor, or enrolls one first when the user has none.
    pub(super) async fn challenge(
        &self,
        req: AuthorizeRequest,
        user: User,
        session: Option<&Session>,
        base_amr: &[String],
        browser: &str,
    ) -> Result<Step, FlowError> {
        let now = self.clock.now();
        let ticket = random::token(TICKET_BYTES);
        self.store
            .insert_mfa_pending(PendingRecord {
                ticket_sha256: digest(&ticket),
                user_id: user.id.clone(),
                client_id: req.client.id.clone(),
                request_sha256: request_digest(&req),
                browser_sha256: digest(browser),
                session_id: session.map(|s| s.id.clone()),
                security_stamp: user.security_stamp,
                amr: base_amr.to_vec(),
                created_at: now,
                expires_at: now + PENDING_TTL,
            })
            .await?;
        let factors = self.mfa.factors(&user.id).await?;
        let enroll = match factors.any() {
            true => None,
            false => self.mfa.start_totp(&user.id, &user.username).await?,
        };
        Ok(Step::SecondFactor {
            request: Box::new(req),
            user,
            ticket,
            enroll,
            keys: factors.webauthn,
            problem: None,
        })
    }

    /// `GET /authorize` with a session that lacks the second factor the policy requires: the
    /// step-up page (or `login_required` for `prompt=none`).
    pub(super) async fn step_up(
        &self,
        req: AuthorizeRequest,
        session: &Session,
        user: User,
        session_secret: &str,
    ) -> Result<Step, FlowError> {
        if req.prompt.none {
            return Ok(self.deny(
                &req,
                ErrorCode::LoginRequired,
                "a second factor is required",
            ));
        }
        let amr = session.amr.clone();
        self.challenge(req, user, Some(session), &amr, session_secret)
            .await
    }

    /// `POST /login/mfa`: the answer to a second-factor page. The form must carry the ticket of a
    /// page this server showed to this browser for exactly this request, not completed before and
    /// not expired; the answer is throttled per user (counted before it is checked) and a TOTP step
    /// or recovery code is accepted once. A right answer completes the pending sign-in (once) and
    /// creates the session (or steps the existing one up), storing `sign_in.success`.
    pub async fn second_factor(
        &self,
        params: AuthorizeParams,
        form: SecondFactorForm<'_>,
        browser: BrowserBinding<'_>,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, FlowError> {
        let done = |step| LoginOutcome {
            step,
            new_session: None,
            device_cookie: None,
        };
        let p = match self.pending_sign_in(params, form.ticket, browser).await? {
            Ok(p) => p,
            Err(step) => return Ok(done(step)),
        };
        let user = &p.user;
        let factors = self.mfa.factors(&user.id).await?;
        let verdict = if factors.any() {
            let answer = match form.recovery_code.filter(|c| !c.trim().is_empty()) {
                Some(c) => Answer::Recovery(c),
                None => Answer::Totp(form.code.unwrap_or_default()),
            };
            self.mfa.verify(&user.id, answer).await?
        } else {
            let id = form.enrollment_id.unwrap_or_default();
            self.mfa
                .confirm_totp(&user.id, id, form.code.unwrap_or_default())
                .await?
        };
        let kind = match verdict {
            Verdict::Accepted(kind) => kind,
            Verdict::Rejected | Verdict::Locked => {
                let problem = match verdict {
                    Verdict::Locked => SecondFactorProblem::Locked,
                    _ => SecondFactorProblem::Rejected,
                };
                let failure = self
                    .event(EventType::SignInFailure, Actor::Anonymous, &p, meta)
                    .detail(json!({ "reason": "second_factor" }));
                self.record(failure).await?;
                let enroll = match factors.any() {
                    true => None,
                    false => self.mfa.open_enrollment(&user.id, &user.username).await?,
                };
                return Ok(done(Step::SecondFactor {
                    request: Box::new(p.request),
                    user: p.user,
                    ticket: form.ticket.unwrap_or_default().to_owned(),
                    enroll,
                    keys: factors.webauthn,
                    problem: Some(problem),
                }));
            }
        };
        self.complete_pending(p, kind, browser, meta).await
    }
}
