//! The steps of the browser flow, which the handlers render: a page, or a redirect.

use super::super::request::AuthorizeRequest;
use crate::domain::mfa::Enrollment;
use crate::domain::users::User;

/// What the browser gets next. `Debug` shows neither the redirect's query (it may carry a code) nor
/// the consent ticket.
#[derive(Clone)]
pub enum Step {
    /// An error page; the redirect URI is not trusted (RFC 6749 §4.1.2.1).
    Error(&'static str),
    /// A redirect to the client (with a code, or an error).
    Redirect(String),
    /// The same, delivered as an auto-submitted form (`response_mode=form_post`; the request's,
    /// which for a pushed request only the server knows).
    FormPost(String),
    /// The sign-in page.
    Login {
        /// The request to carry through the form.
        request: Box<AuthorizeRequest>,
        /// Why the last attempt failed, if it did.
        problem: Option<LoginProblem>,
        /// What to prefill.
        username: String,
    },
    /// The consent page.
    Consent {
        /// The request to carry through the form.
        request: Box<AuthorizeRequest>,
        /// Who is signed in.
        user: User,
        /// The single-use ticket the form must send back (field `consent_ticket`).
        ticket: String,
    },
    /// The second-factor page (see `super::second_factor`): a TOTP code or a recovery code, or
    /// the enrollment of TOTP when the user has no factor yet.
    SecondFactor {
        /// The request to carry through the form.
        request: Box<AuthorizeRequest>,
        /// Who is signing in.
        user: User,
        /// The pending sign-in's single-use ticket (field `mfa_ticket`).
        ticket: String,
        /// The TOTP enrollment to show (QR code and secret), when the user has no factor.
        enroll: Option<Enrollment>,
        /// Whether to offer the user's WebAuthn keys (they have one and WebAuthn is on).
        keys: bool,
        /// Why the last answer failed, if it did.
        problem: Option<SecondFactorProblem>,
    },
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Error(message) => f.debug_tuple("Error").field(message).finish(),
            Step::Redirect(to) | Step::FormPost(to) => {
                let without_query = to.split(['?', '#']).next().unwrap_or_default();
                f.debug_tuple("Redirect").field(&without_query).finish()
            }
            Step::Login {
                request,
                problem,
                username,
            } => f
                .debug_struct("Login")
                .field("request", request)
                .field("problem", problem)
                .field("username", username)
                .finish(),
            Step::Consent { request, user, .. } => f
                .debug_struct("Consent")
                .field("request", request)
                .field("user", user)
                .field("ticket", &"<redacted>")
                .finish(),
            Step::SecondFactor {
                request,
                user,
                enroll,
                problem,
                ..
            } => f
                .debug_struct("SecondFactor")
                .field("request", request)
                .field("user", user)
                .field("ticket", &"<redacted>")
                .field("enroll", enroll)
                .field("problem", problem)
                .finish(),
        }
    }
}

/// Why a sign-in attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginProblem {
    /// Wrong username or password (one answer for both).
    Rejected,
    /// Too many failures from this client: try later.
    Locked,
    /// The account is slowed down after failures: try again in this many seconds.
    Slowed(i64),
    /// The server is saturated with sign-ins: try again.
    Busy,
}

/// Why a second-factor answer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorProblem {
    /// Wrong, reused or already used code.
    Rejected,
    /// Too many wrong answers: try later.
    Locked,
}

/// The result of a sign-in: the next step, and the new session's cookie secret if one was created.
/// `Debug` shows neither cookie.
pub struct LoginOutcome {
    /// What to show next.
    pub step: Step,
    /// The secret to set as the session cookie.
    pub new_session: Option<String>,
    /// A new device cookie to set (after a successful sign-in).
    pub device_cookie: Option<String>,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOutcome")
            .field("step", &self.step)
            .field(
                "new_session",
                &self.new_session.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "device_cookie",
                &self.device_cookie.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
