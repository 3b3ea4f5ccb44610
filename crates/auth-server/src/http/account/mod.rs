//! The account page at `/account` and its forms, behind the SSO session cookie: change password,
//! list and end sessions, list and withdraw the apps that have access; plus its own sign-in
//! (`/account/login`) and the re-authentication that "recent sign-in" asks for
//! (`/account/reauth?next=`). Thin: read the form, check CSRF, call
//! [`Account`], render a page or redirect (303 after a POST, the
//! post/redirect/get pattern, so a reload never re-sends a form).
//!
//! [`signed_in`] and [`signed_in_recent`] are the checks other `/account...` pages use.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use super::HttpState;
use super::browser::{busy, csrf_token, redirect, set_cookie, unavailable};
use super::pages::Ui;
use super::pages::account::{AccountLinks, AccountPage};
use super::pages::account_text::Notice;
use super::state::BrowserEndpoints;
use crate::domain::account::recent::{self, ACCOUNT_PATH};
use crate::domain::account::{Account, AccountError};
use crate::domain::sso::flow::LoginProblem;
use crate::domain::sso::sessions::Session;
use crate::domain::users::User;

mod actions;
mod sign_in;

/// What the account pages use, beside the browser endpoints' cookies and pages.
#[derive(Debug)]
pub struct AccountEndpoints {
    /// The account page's services.
    pub account: Account,
}

/// The account routes (below the issuer's path).
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/account", get(actions::overview))
        .route("/account/password", post(actions::change_password))
        .route("/account/sessions/end", post(actions::end_session))
        .route("/account/consents/withdraw", post(actions::withdraw))
        .route(
            "/account/login",
            get(sign_in::login_get).post(sign_in::login_post),
        )
        .route(
            "/account/reauth",
            get(sign_in::reauth_get).post(sign_in::reauth_post),
        )
}

/// The absolute URL of account path `path` (which starts with `/account`).
pub fn account_url(web: &BrowserEndpoints, path: &str) -> String {
    format!("{}{path}", web.issuer.as_str())
}

/// The signed-in session and user behind the request's cookie, or the answer to give instead: a
/// redirect to the account sign-in page (for a GET, 302; after a POST, 303), or 503.
pub async fn signed_in(
    web: &BrowserEndpoints,
    acc: &AccountEndpoints,
    headers: &HeaderMap,
    post: bool,
) -> Result<(Session, User), Response> {
    match acc.account.signed_in(web.cookies.session(headers)).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(redirect(&account_url(web, "/account/login"), post)),
        Err(e) => Err(unavailable(&web.pages.ui(headers, None), &e)),
    }
}

/// As [`signed_in`], and the sign-in must be recent (`account.recent_auth_secs`): otherwise the
/// answer is a redirect to `/account/reauth?next=<next>` (`next` a local `/account...` path; any
/// other value becomes `/account`). For every sensitive change at `/account...`.
pub async fn signed_in_recent(
    web: &BrowserEndpoints,
    acc: &AccountEndpoints,
    headers: &HeaderMap,
    next: &str,
    post: bool,
) -> Result<(Session, User), Response> {
    let (session, user) = signed_in(web, acc, headers, post).await?;
    if acc.account.is_recent(&session) {
        return Ok((session, user));
    }
    let next = recent::next_or_account(Some(next));
    Err(redirect(
        &account_url(web, &recent::reauth_path(next)),
        post,
    ))
}

/// The notice for a password check that did not pass.
fn problem_notice(p: LoginProblem) -> Notice {
    match p {
        LoginProblem::Rejected => Notice::WrongPassword,
        LoginProblem::Locked => Notice::Locked,
        LoginProblem::Slowed(_) => Notice::Slowed,
        LoginProblem::Busy => Notice::Busy,
    }
}

/// The status of a page showing `notice` as a failure.
fn problem_status(notice: Notice) -> StatusCode {
    match notice {
        Notice::WrongPassword | Notice::CodeNeeded | Notice::CodeRejected => {
            StatusCode::UNAUTHORIZED
        }
        Notice::Locked | Notice::Slowed => StatusCode::TOO_MANY_REQUESTS,
        Notice::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Notice::NotFound => StatusCode::NOT_FOUND,
        Notice::Gone => StatusCode::CONFLICT,
        Notice::Weak | Notice::Mismatch => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// The account page for `user`, with a notice and a problem of the password form.
async fn overview_page(
    (web, acc): (&BrowserEndpoints, &AccountEndpoints),
    headers: &HeaderMap,
    (session, user): (Session, User),
    (notice, password_problem): (Option<Notice>, Option<Notice>),
) -> Response {
    let ui = web.pages.ui(headers, None);
    let overview = match acc.account.overview(&session, user).await {
        Ok(o) => o,
        Err(e) => return failed(&ui, &e),
    };
    let status = notice
        .or(password_problem)
        .filter(|n| !n.is_success())
        .map_or(StatusCode::OK, problem_status);
    let (csrf, set) = csrf_token(&web.cookies, headers);
    let links = AccountLinks {
        password: account_url(web, "/account/password"),
        end_session: account_url(web, "/account/sessions/end"),
        withdraw: account_url(web, "/account/consents/withdraw"),
        methods: account_url(web, "/account/mfa"),
        logout: web.issuer.end_session(),
    };
    let mut res = ui.html(
        status,
        ui.account(&AccountPage {
            overview: &overview,
            csrf: &csrf,
            links: &links,
            notice,
            password_problem,
        }),
    );
    set_cookie(&mut res, set);
    res
}

/// 503 for a failure of the account's services (details only in the log).
fn failed(ui: &Ui<'_>, e: &AccountError) -> Response {
    unavailable(ui, e)
}

/// How long a password form refused as busy waits before its answer, as `/login` does: a client
/// that resends at once waits on a timer instead of spinning the cores away from the checks.
const BUSY_PACING: std::time::Duration = std::time::Duration::from_millis(200);

/// The answer to a password form refused because the server is saturated (after [`BUSY_PACING`]).
async fn saturated(web: &BrowserEndpoints, headers: &HeaderMap) -> Response {
    tokio::time::sleep(BUSY_PACING).await;
    busy(&web.pages.ui(headers, None))
}

/// `/account?done=<code>`, after a successful action.
fn done(web: &BrowserEndpoints, notice: Notice) -> Response {
    redirect(
        &account_url(web, &format!("{ACCOUNT_PATH}?done={}", notice.code())),
        true,
    )
}
