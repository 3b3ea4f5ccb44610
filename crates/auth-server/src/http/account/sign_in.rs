//! `GET|POST /account/login` (the account page's own sign-in, which returns to `/account`) and
//! `GET|POST /account/reauth?next=` (enter the password again, then return to `next`, a local
//! `/account...` path). Both check the password as `/login` does, and the second factor of a user
//! who has one (see `domain::account`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

use super::super::browser::{csrf_token, query, redirect, set_cookie};
use super::super::client_addr::{ClientAddr, request_meta};
use super::super::pages::account::AccountLoginPage;
use super::super::state::BrowserEndpoints;
use super::actions::read_form;
use super::{
    AccountEndpoints, account_url, failed, problem_notice, problem_status, saturated, signed_in,
};
use crate::domain::account::recent::{ACCOUNT_PATH, next_or_account};
use crate::domain::account::{Origin, Refusal, SecondFactorAnswer};
use crate::domain::sso::flow::LoginProblem;
use crate::http::pages::account_text::Notice;

type Web = State<Arc<BrowserEndpoints>>;
type Acc = State<Arc<AccountEndpoints>>;

/// The sign-in (or re-authentication) page, with the problem of the last attempt.
fn login_page(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    (username, next): (&str, Option<&str>),
    problem: Option<Refusal>,
) -> Response {
    let ui = web.pages.ui(headers, None);
    let (csrf, set) = csrf_token(&web.cookies, headers);
    let reauth = next.is_some();
    let action = account_url(
        web,
        if reauth {
            "/account/reauth"
        } else {
            "/account/login"
        },
    );
    let hidden: Vec<(String, String)> = next
        .map(|n| vec![("next".to_owned(), n.to_owned())])
        .unwrap_or_default();
    let notice = problem.map(refusal_notice);
    let status = notice.map_or(StatusCode::OK, problem_status);
    let mut res = ui.html(
        status,
        ui.account_login(
            &AccountLoginPage {
                username,
                problem: notice,
                csrf: &csrf,
                action: &action,
                hidden: &hidden,
            },
            reauth,
        ),
    );
    set_cookie(&mut res, set);
    let retry = match problem {
        Some(Refusal::Password(LoginProblem::Slowed(secs))) => {
            HeaderValue::from_str(&secs.to_string()).ok()
        }
        Some(Refusal::Password(LoginProblem::Busy)) => Some(HeaderValue::from_static("2")),
        _ => None,
    };
    if let Some(v) = retry {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The notice for a refused sign-in or re-authentication.
fn refusal_notice(r: Refusal) -> Notice {
    match r {
        Refusal::Password(p) => problem_notice(p),
        Refusal::CodeNeeded => Notice::CodeNeeded,
        Refusal::CodeRejected => Notice::CodeRejected,
        Refusal::CodeLocked => Notice::Locked,
    }
}

/// `GET /account/login`: the sign-in form, or straight to `/account` when already signed in.
pub async fn login_get(State(web): Web, State(acc): Acc, headers: HeaderMap) -> Response {
    match acc.account.signed_in(web.cookies.session(&headers)).await {
        Ok(Some(_)) => redirect(&account_url(&web, ACCOUNT_PATH), false),
        Ok(None) => login_page(&web, &headers, ("", None), None),
        Err(e) => failed(&web.pages.ui(&headers, None), &e),
    }
}

/// `POST /account/login`: `username`, `password`, and `code` (a TOTP or recovery code) for a
/// user who has a second factor; a new session, then `/account`.
pub async fn login_post(
    State(web): Web,
    State(acc): Acc,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let Some(admission) = acc.account.admit() else {
        return saturated(&web, &headers).await;
    };
    let form = match read_form(&web, &headers, body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let field = |name| form.single(name).ok().flatten().unwrap_or_default();
    let username = field("username");
    let meta = request_meta(&headers, addr);
    let origin = Origin {
        addr: addr.0,
        meta: &meta,
        device_cookie: web.cookies.device(&headers),
    };
    let outcome = acc
        .account
        .sign_in(
            admission,
            (username, field("password")),
            (
                SecondFactorAnswer(form.single("code").ok().flatten()),
                origin,
            ),
            web.cookies.session(&headers),
        )
        .await;
    match outcome {
        Ok(Ok(signed)) => {
            let mut res = redirect(&account_url(&web, ACCOUNT_PATH), true);
            set_cookie(&mut res, web.cookies.set_session(&signed.secret));
            let ttl = acc.account.devices().ttl();
            let device = signed
                .device_cookie
                .and_then(|d| web.cookies.set_device(&d, ttl));
            set_cookie(&mut res, device);
            res
        }
        Ok(Err(problem)) => login_page(&web, &headers, (username, None), Some(problem)),
        Err(e) => failed(&web.pages.ui(&headers, None), &e),
    }
}

/// `GET /account/reauth?next=`: the password form (signed in only).
pub async fn reauth_get(
    State(web): Web,
    State(acc): Acc,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (_, user) = match signed_in(&web, &acc, &headers, false).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let q = query(&uri);
    let next = q.as_ref().and_then(|q| q.single("next").ok().flatten());
    let next = next_or_account(next);
    login_page(&web, &headers, (&user.username, Some(next)), None)
}

/// `POST /account/reauth`: `password`, `code` (as for the sign-in), `next`; the session's
/// `auth_time` (and `amr`) become those of this check, then `next`.
pub async fn reauth_post(
    State(web): Web,
    State(acc): Acc,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let Some(admission) = acc.account.admit() else {
        return saturated(&web, &headers).await;
    };
    let form = match read_form(&web, &headers, body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let (session, user) = match signed_in(&web, &acc, &headers, true).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let next = next_or_account(form.single("next").ok().flatten()).to_owned();
    let password = form.single("password").ok().flatten().unwrap_or_default();
    let meta = request_meta(&headers, addr);
    let origin = Origin {
        addr: addr.0,
        meta: &meta,
        device_cookie: web.cookies.device(&headers),
    };
    match acc
        .account
        .reauth(
            admission,
            (&session, &user),
            password,
            (
                SecondFactorAnswer(form.single("code").ok().flatten()),
                origin,
            ),
        )
        .await
    {
        Ok(Ok(())) => redirect(&account_url(&web, &next), true),
        Ok(Err(problem)) => {
            login_page(&web, &headers, (&user.username, Some(&next)), Some(problem))
        }
        Err(e) => failed(&web.pages.ui(&headers, None), &e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::problem_status;
    use crate::http::pages::account_text::Notice;
    use axum::http::StatusCode;

    #[test]
    fn refusals_have_their_status() {
        assert_eq!(
            problem_status(Notice::WrongPassword),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            problem_status(Notice::Locked),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            problem_status(Notice::Busy),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
