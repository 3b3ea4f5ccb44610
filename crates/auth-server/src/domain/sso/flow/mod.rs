//! The browser side of the authorization-code flow: from an authorization request, through sign-in
//! and consent, to the redirect that carries the code. No HTTP types: the handlers turn a [`Step`]
//! into a page or a redirect.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::Clock;
use serde_json::json;

use super::device::DeviceCookies;
use super::request::{
    self, AuthorizeParams, AuthorizeRequest, RequestError, code_redirect, error_redirect,
};
use super::sessions::{Session, Sessions};
use super::throttle::{Throttle, Verdict};
use crate::domain::audit::{self, Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::clients::{ClientError, ClientRegistry};
use crate::domain::mfa::Mfa;
use crate::domain::oauth_error::{ErrorCode, OAuthError};
use crate::domain::passwords::Admission;
use crate::domain::random;
use crate::domain::records::CodeRecord;
use crate::domain::users::{LoginError, User, UserError, Users};
use crate::store::{Store, StoreError};

mod consent;
mod key_factor;
mod passkey;
mod pending;
mod pushed;
mod second_factor;
mod step;

pub use passkey::KeySignIn;
pub use pending::PendingSignIn;
pub use pushed::{ParPolicy, Pushed, REQUEST_URI_PREFIX, SIGN_IN_WINDOW};
pub use second_factor::{BrowserBinding, PENDING_TTL, SecondFactorForm};
pub use step::{LoginOutcome, LoginProblem, SecondFactorProblem, Step};

/// Why a step of the flow could not be taken. Every refusal meant for the user or the client is a
/// [`Step`] (an error page, or an error redirect per RFC 6749 §4.1.2.1); this is what is left:
/// the service cannot answer now (HTTP 503).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client registry failed (its storage).
    #[error(transparent)]
    Clients(#[from] ClientError),
    /// The user registry failed (its storage).
    #[error(transparent)]
    Users(#[from] UserError),
    /// A second factor's sealed secret could not be opened (the KEK that sealed it is missing).
    #[error("second factor: {0}")]
    Mfa(String),
}

/// Bytes of randomness in an authorization code.
const CODE_BYTES: usize = 32;
/// Most codes one session may be issued within one code lifetime.
pub const MAX_CODES_PER_SESSION_PER_TTL: u64 = 32;

/// The authorization-code flow's browser steps.
#[derive(Debug, Clone)]
pub struct Flow {
    store: Store,
    clients: ClientRegistry,
    users: Users,
    sessions: Sessions,
    throttle: Throttle,
    devices: DeviceCookies,
    mfa: Mfa,
    clock: Arc<dyn Clock>,
    issuer: Arc<str>,
    code_ttl: i64,
    require_pkce: bool,
    par: ParPolicy,
}

/// What the flow needs, grouped.
#[derive(Debug, Clone)]
pub struct FlowParts {
    /// Storage.
    pub store: Store,
    /// Clients.
    pub clients: ClientRegistry,
    /// Users.
    pub users: Users,
    /// Sessions.
    pub sessions: Sessions,
    /// Throttling.
    pub throttle: Throttle,
    /// Device cookies.
    pub devices: DeviceCookies,
    /// Second factors and the MFA policy.
    pub mfa: Mfa,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Our issuer identifier.
    pub issuer: String,
    /// Code lifetime.
    pub code_ttl: i64,
    /// PKCE for confidential clients too.
    pub require_pkce: bool,
    /// Pushed authorization requests.
    pub par: ParPolicy,
}

impl Flow {
    /// Assembles the flow.
    pub fn new(p: FlowParts) -> Self {
        Self {
            store: p.store,
            clients: p.clients,
            users: p.users,
            sessions: p.sessions,
            throttle: p.throttle,
            devices: p.devices,
            mfa: p.mfa,
            clock: p.clock,
            issuer: p.issuer.into(),
            code_ttl: p.code_ttl,
            require_pkce: p.require_pkce,
            par: p.par,
        }
    }

    /// The device cookies.
    pub fn devices(&self) -> &DeviceCookies {
        &self.devices
    }

    /// Second factors and the MFA policy.
    pub fn mfa(&self) -> &Mfa {
        &self.mfa
    }

    /// A place for one sign-in, or `None` when the server is saturated with them (answer "busy").
    /// One atomic increment, so a storm is refused before the form is parsed, the request
    /// validated or the database touched; [`Flow::login`] runs under the place.
    pub fn admit(&self) -> Option<Admission> {
        self.users.admit()
    }

    /// Validates the parameters: an error step, or the request. A `request_uri` of a pushed
    /// request stands for the request it was pushed with (see `pushed`); a client that must push
    /// its requests gets `invalid_request` for any other (RFC 9126 §4).
    pub async fn validate(
        &self,
        params: AuthorizeParams,
    ) -> Result<Result<AuthorizeRequest, Step>, FlowError> {
        if let Some(uri) = params.request_uri.as_deref()
            && uri.starts_with(REQUEST_URI_PREFIX)
        {
            return self.validate_pushed(params.client_id.as_deref(), uri).await;
        }
        let client = self.client(params.client_id.as_deref()).await?;
        let form_post = pushed::is_form_post(&params);
        Ok(
            match request::validate(params, client, &self.issuer, self.require_pkce) {
                Ok(req) if self.par_required(&req.client) => Err(self.deny(
                    &req,
                    ErrorCode::InvalidRequest,
                    "this client must push its authorization requests to the pushed authorization request endpoint (RFC 9126)",
                )),
                Ok(req) => Ok(req),
                Err(RequestError::Page(m)) => Err(Step::Error(m)),
                Err(RequestError::Redirect(u)) => Err(pushed::to_client(form_post, u)),
            },
        )
    }

    /// The client `id` names, if any.
    async fn client(
        &self,
        id: Option<&str>,
    ) -> Result<Option<Arc<crate::domain::clients::Client>>, FlowError> {
        Ok(match id {
            // Only a plausible id reaches the store: a NUL, for one, is refused by PostgreSQL, which
            // would turn a bad link into "temporarily unavailable" instead of the error page.
            Some(id)
                if !id.is_empty()
                    && id.len() <= 255
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                self.clients.get(id).await?
            }
            _ => None,
        })
    }

    /// `GET /authorize`: decides between sign-in, consent, and an immediate code, given the session
    /// cookie's secret if the browser sent one (OIDC Core §3.1.2.2-§3.1.2.4).
    pub async fn authorize(
        &self,
        params: AuthorizeParams,
        session_secret: Option<&str>,
    ) -> Result<Step, FlowError> {
        let req = match self.validate(params).await? {
            Ok(r) => r,
            Err(step) => return Ok(step),
        };
        let (session, user) = self.signed_in(session_secret).await?;
        let now = self.clock.now();
        let fresh_enough = |s: &Session| req.max_age.is_none_or(|m| now - s.auth_time <= m);
        let (session, user) = match (session, user) {
            (Some(s), Some(u)) if !req.prompt.login && fresh_enough(&s) => (s, u),
            _ => {
                if req.prompt.none {
                    return Ok(self.deny(
                        &req,
                        ErrorCode::LoginRequired,
                        "the user is not signed in",
                    ));
                }
                let username = req.login_hint.clone().unwrap_or_default();
                return Ok(Step::Login {
                    request: Box::new(req),
                    problem: None,
                    username,
                });
            }
        };
        // A session without a second factor (a password-only sign-in, say from before the user
        // enrolled one) is stepped up when the policy requires a factor or the user has one: a
        // password alone never reaches an application for a user with a second factor.
        if !session.amr.iter().any(|m| m == "mfa") && self.needs_second_factor(&req, &user).await? {
            // A session exists, so its cookie was sent.
            let secret = session_secret.unwrap_or_default();
            return self.step_up(req, &session, user, secret).await;
        }
        self.after_authentication(req, &session, user).await
    }

    /// `POST /login`: checks the password (throttled), starts a new session, and continues the flow.
    /// `device_cookie` is the browser's device cookie, if any (see [`super::device`]); `admission`
    /// is this sign-in's place among the password checks ([`Flow::admit`]); `meta` the request's id
    /// and client address for the audit trail (`addr` is that address, for the throttle).
    ///
    /// `browser_csrf` is the browser's CSRF cookie (checked by the handler), which binds the
    /// second-factor page when the sign-in needs one (`second_factor`): then no session starts
    /// yet, and the step is that page.
    ///
    /// Audit events: `sign_in.success` in the transaction that starts the session,
    /// `sign_in.lockout` in the one whose count starts a lockout, `sign_in.failure` for a wrong
    /// password or unknown user (its change, the count, was committed before the check).
    #[allow(clippy::too_many_arguments)]
    pub async fn login(
        &self,
        admission: Admission,
        params: AuthorizeParams,
        (username, password): (&str, &str),
        (addr, meta): (Option<IpAddr>, &RequestMeta),
        old_session_secret: Option<&str>,
        device_cookie: Option<&str>,
        browser_csrf: Option<&str>,
    ) -> Result<LoginOutcome, FlowError> {
        let no_session = |step| LoginOutcome {
            step,
            new_session: None,
            device_cookie: None,
        };
        let req = match self.validate(params).await? {
            Ok(r) => r,
            Err(step) => return Ok(no_session(step)),
        };
        let retry = |req: AuthorizeRequest, problem| {
            no_session(Step::Login {
                request: Box::new(req),
                problem: Some(problem),
                username: username.to_owned(),
            })
        };
        let now = self.clock.now();
        let device = device_cookie.and_then(|c| self.devices.verify(c, username, now));
        let event = self.sign_in_event(username, &req, meta).await?;
        // Counted before the password is checked, so parallel guesses cannot outrun the limits.
        let lockout = event(EventType::SignInLockout, Actor::Anonymous);
        let attempt = match self
            .throttle
            .attempt(username, addr, device.as_ref(), &lockout)
            .await?
        {
            Verdict::Go(a) => a,
            Verdict::Locked => return Ok(retry(req, LoginProblem::Locked)),
            Verdict::Slowed(secs) => return Ok(retry(req, LoginProblem::Slowed(secs))),
        };
        let user = match self
            .users
            .authenticate_admitted(&admission, username, password)
            .await
        {
            Ok(u) => u,
            Err(LoginError::Rejected) => {
                let failure = event(EventType::SignInFailure, Actor::Anonymous);
                self.record(failure.detail(json!({ "reason": "rejected" })))
                    .await?;
                return Ok(retry(req, LoginProblem::Rejected));
            }
            Err(LoginError::Busy) => {
                self.throttle.not_checked(&attempt).await?;
                return Ok(retry(req, LoginProblem::Busy));
            }
            Err(LoginError::Store(e)) => return Err(e.into()),
        };
        drop(admission);
        self.throttle.succeeded(&attempt).await?;
        if self.needs_second_factor(&req, &user).await? {
            // The handler always passes the (checked) CSRF cookie; without one there is nothing
            // to bind the second-factor page to, and no session either.
            let Some(csrf) = browser_csrf else {
                return Ok(no_session(Step::Error(
                    "For your security, the form could not be accepted. Go back to the application and sign in again.",
                )));
            };
            let pwd = ["pwd".to_owned()];
            let step = self.challenge(req, user, None, &pwd, csrf).await?;
            return Ok(LoginOutcome {
                step,
                new_session: None,
                device_cookie: self.devices.issue(username, now),
            });
        }
        // A sign-in always starts a new session (new id, new secret): whatever session the browser had
        // is ended, so a planted cookie can never become an authenticated one (session fixation).
        if let Some(old) = old_session_secret
            && let Some(s) = self.sessions.current(old).await?
        {
            self.sessions.end(&s.id).await?;
        }
        let success = event(EventType::SignInSuccess, Actor::User(user.id.clone())).user(&user.id);
        let Some((secret, session)) = self
            .sessions
            .create_recorded(&user.id, user.security_stamp, &["pwd"], Some(&success))
            .await?
        else {
            // The password changed, or the user was disabled, while it was being checked.
            let failure = event(EventType::SignInFailure, Actor::Anonymous);
            self.record(failure.detail(json!({ "reason": "account_changed" })))
                .await?;
            return Ok(retry(req, LoginProblem::Rejected));
        };
        let step = self.after_authentication(req, &session, user).await?;
        Ok(LoginOutcome {
            step,
            new_session: Some(secret),
            device_cookie: self.devices.issue(username, now),
        })
    }

    /// The events of one sign-in attempt: about the client signed in to, the username tried (when
    /// it could be a username at all: anything else may be a password typed in the wrong field)
    /// and its user, if one has that name.
    async fn sign_in_event(
        &self,
        username: &str,
        req: &AuthorizeRequest,
        meta: &RequestMeta,
    ) -> Result<impl Fn(EventType, Actor) -> AuditEvent + use<>, FlowError> {
        let plausible = crate::domain::is_plain_name(username, 64, b"._-@");
        let user_id = match plausible {
            true => self.users.find(username).await?.map(|u| u.id),
            false => None,
        };
        let (client, meta) = (req.client.id.clone(), meta.clone());
        let subject = plausible.then(|| username.to_owned());
        Ok(move |t, actor| {
            let mut e = AuditEvent::new(t, actor).client(&client).request(&meta);
            e.user_id.clone_from(&user_id);
            e.subject.clone_from(&subject);
            e
        })
    }

    /// Stores an event that changes nothing else (one statement), then logs it.
    async fn record(&self, event: AuditEvent) -> Result<(), FlowError> {
        let record = event.record(self.clock.now());
        self.store.record_audit(&record).await?;
        audit::log(&record);
        Ok(())
    }

    /// The live session behind a cookie secret, and its user if enabled.
    async fn signed_in(
        &self,
        session_secret: Option<&str>,
    ) -> Result<(Option<Session>, Option<User>), FlowError> {
        let session = match session_secret {
            Some(s) => self.sessions.current(s).await?,
            None => None,
        };
        let user = match &session {
            Some(s) => self.users.get(&s.user_id).await?.filter(|u| !u.disabled),
            None => None,
        };
        Ok((session, user))
    }

    fn deny(&self, req: &AuthorizeRequest, code: ErrorCode, why: &'static str) -> Step {
        let url = error_redirect(
            &req.redirect_uri,
            &OAuthError::new(code, why),
            req.state.as_deref(),
            &self.issuer,
        );
        pushed::to_client(pushed::is_form_post(&req.params), url)
    }

    /// RFC 6749 §4.1.2: a random, single-use code bound to the client, redirect URI, PKCE challenge,
    /// nonce and session, stored only as its digest.
    async fn issue_code(
        &self,
        req: &AuthorizeRequest,
        session: &Session,
    ) -> Result<Step, FlowError> {
        let now = self.clock.now();
        // Codes are kept a day (for replay detection): a signed-in browser may not mint them without
        // bound. Signing in to dozens of apps a minute is still far below the cap.
        if self
            .store
            .count_codes_since(&session.id, now - self.code_ttl)
            .await?
            >= MAX_CODES_PER_SESSION_PER_TTL
        {
            return Ok(self.deny(
                req,
                ErrorCode::TemporarilyUnavailable,
                "too many authorization requests; try again in a minute",
            ));
        }
        // A pushed request yields one code: the one request that marks it used issues it.
        if !self.use_pushed(req).await? {
            return Ok(self.deny(
                req,
                ErrorCode::InvalidRequestUri,
                "the request_uri has expired or was already used: push the request again",
            ));
        }
        let code = random::token(CODE_BYTES);
        self.store
            .insert_code(CodeRecord {
                code_sha256: random::sha256(code.as_bytes()),
                client_id: req.client.id.clone(),
                user_id: session.user_id.clone(),
                session_id: session.id.clone(),
                redirect_uri: req.redirect_uri.clone(),
                scope: req.scopes.clone(),
                resources: req.resources.clone(),
                nonce: req.nonce.clone(),
                code_challenge: req.code_challenge.clone(),
                dpop_jkt: req.dpop_jkt.clone(),
                auth_time: session.auth_time,
                amr: session.amr.clone(),
                created_at: now,
                expires_at: now + self.code_ttl,
                used_at: None,
                family_id: None,
                access_jti: None,
                access_exp: None,
            })
            .await?;
        let url = code_redirect(&req.redirect_uri, &code, req.state.as_deref(), &self.issuer);
        Ok(pushed::to_client(pushed::is_form_post(&req.params), url))
    }
}
