//! The steps of the browser flow, which the handlers render: a page, or a redirect.

use super::super::request::AuthorizeRequest;
use crate::domain::users::User;

/// What the browser gets next.
#[derive(Debug, Clone)]
pub enum Step {
    /// An error page; the redirect URI is not trusted (RFC 6749 §4.1.2.1).
    Error(&'static str),
    /// A redirect to the client (with a code, or an error).
    Redirect(String),
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

/// The result of a sign-in: the next step, and the new session's cookie secret if one was created.
#[derive(Debug)]
pub struct LoginOutcome {
    /// What to show next.
    pub step: Step,
    /// The secret to set as the session cookie.
    pub new_session: Option<String>,
    /// A new device cookie to set (after a successful sign-in).
    pub device_cookie: Option<String>,
}
