//! `GET /account` and its forms: change password, end a session, withdraw an app's access.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::super::browser::{bad_request, csrf_failed, csrf_ok, form, query, redirect, set_cookie};
use super::super::client_addr::{ClientAddr, request_meta};
use super::super::form::{Form, OAuthForm};
use super::super::pages::account_text::Notice;
use super::super::state::BrowserEndpoints;
use super::{
    AccountEndpoints, account_url, done, failed, overview_page, problem_notice, saturated,
    signed_in, signed_in_recent,
};
use crate::domain::account::recent::ACCOUNT_PATH;
use crate::domain::account::{Origin, PasswordChange};

type Web = State<Arc<BrowserEndpoints>>;
type Acc = State<Arc<AccountEndpoints>>;

/// `GET /account`: the account page (`?done=` names the action that just succeeded).
pub async fn overview(State(web): Web, State(acc): Acc, headers: HeaderMap, uri: Uri) -> Response {
    let found = match signed_in(&web, &acc, &headers, false).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let notice =
        query(&uri).and_then(|q| q.single("done").ok().flatten().and_then(Notice::from_code));
    overview_page((&web, &acc), &headers, found, (notice, None)).await
}

/// A form of the account page: read, CSRF-checked.
pub(super) async fn read_form(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    body: Body,
) -> Result<Form, Response> {
    let ui = web.pages.ui(headers, None);
    let Some(form) = form(OAuthForm::read(headers, body).await) else {
        return Err(bad_request(&ui));
    };
    if !csrf_ok(&web.cookies, headers, &form) {
        return Err(csrf_failed(&ui));
    }
    Ok(form)
}

/// `POST /account/password`: `current_password`, `new_password`, `repeat_password`. The current
/// password is checked like a sign-in (which is also the "recent sign-in" this change needs).
pub async fn change_password(
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
    let field = |name| form.single(name).ok().flatten().unwrap_or_default();
    let meta = request_meta(&headers, addr);
    let origin = Origin {
        addr: addr.0,
        meta: &meta,
        device_cookie: web.cookies.device(&headers),
    };
    let outcome = acc
        .account
        .change_password(
            admission,
            (&session, &user),
            (
                field("current_password"),
                field("new_password"),
                field("repeat_password"),
            ),
            origin,
        )
        .await;
    let problem = match outcome {
        Ok(PasswordChange::Changed) => return done(&web, Notice::PasswordChanged),
        Ok(PasswordChange::Refused(p)) => problem_notice(p),
        Ok(PasswordChange::Weak) => Notice::Weak,
        Ok(PasswordChange::Mismatch) => Notice::Mismatch,
        Ok(PasswordChange::Gone) => Notice::Gone,
        Err(e) => return failed(&web.pages.ui(&headers, None), &e),
    };
    overview_page(
        (&web, &acc),
        &headers,
        (session, user),
        (None, Some(problem)),
    )
    .await
}

/// `POST /account/sessions/end`: `session` (its id). Ending the current session is signing out
/// here; ending another needs a recent sign-in.
pub async fn end_session(
    State(web): Web,
    State(acc): Acc,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let form = match read_form(&web, &headers, body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let id = form.single("session").ok().flatten().unwrap_or_default();
    let (session, user) = match signed_in(&web, &acc, &headers, true).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let current = id == session.id;
    let (session, user) = if current {
        (session, user)
    } else {
        match signed_in_recent(&web, &acc, &headers, ACCOUNT_PATH, true).await {
            Ok(found) => found,
            Err(res) => return res,
        }
    };
    let meta = request_meta(&headers, addr);
    match acc.account.end_session(&user, id, &meta).await {
        Ok(true) if current => {
            let mut res = redirect(&account_url(&web, "/account/login"), true);
            set_cookie(&mut res, web.cookies.clear_session());
            res
        }
        Ok(true) => done(&web, Notice::SessionEnded),
        Ok(false) => {
            let found = (session, user);
            overview_page(
                (&web, &acc),
                &headers,
                found,
                (Some(Notice::NotFound), None),
            )
            .await
        }
        Err(e) => failed(&web.pages.ui(&headers, None), &e),
    }
}

/// `POST /account/consents/withdraw`: `client` (its id). Needs a recent sign-in.
pub async fn withdraw(
    State(web): Web,
    State(acc): Acc,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let form = match read_form(&web, &headers, body).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let client = form.single("client").ok().flatten().unwrap_or_default();
    let (session, user) = match signed_in_recent(&web, &acc, &headers, ACCOUNT_PATH, true).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let meta = request_meta(&headers, addr);
    match acc.account.withdraw(&user, client, &meta).await {
        Ok(true) => done(&web, Notice::Withdrawn),
        Ok(false) => {
            let found = (session, user);
            overview_page(
                (&web, &acc),
                &headers,
                found,
                (Some(Notice::NotFound), None),
            )
            .await
        }
        Err(e) => failed(&web.pages.ui(&headers, None), &e),
    }
}
