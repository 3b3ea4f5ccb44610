//! `/account/mfa/webauthn`: the signed-in user's passkeys and security keys. Behind the SSO
//! session (else the account sign-in page, `/account/login`); every change is a CSRF-checked POST
//! and needs a recent sign-in (`account.recent_auth_secs`; else the browser is sent to
//! `/account/reauth?next=/account/mfa/webauthn`, which signs in again and comes back), both checked
//! by the account page's own functions.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use std::sync::Arc;

use super::{Browser, json_answer, json_error, script_url, start_failed, started};
use crate::domain::account::recent;
use crate::domain::sso::sessions::Session;
use crate::domain::users::User;
use crate::domain::webauthn::{CredentialInfo, Passkeys, WebauthnFailure};
use crate::http::account::{AccountEndpoints, account_url};
use crate::http::browser::{csrf_ok, csrf_token, form, query, redirect, set_cookie, unavailable};
use crate::http::form::{Form, FormRejection, OAuthForm};
use crate::http::pages::Ui;
use crate::http::pages::webauthn::{
    CredentialRow, SCRIPT_INTEGRITY, WebauthnAccountPage, with_script_csp,
};
use crate::http::state::BrowserEndpoints;

/// The page's path under the issuer.
const PAGE: &str = "/account/mfa/webauthn";

type Acc = State<Arc<AccountEndpoints>>;

/// `GET /account/mfa/webauthn`: the list and the add form; `?done=added|renamed|removed` shows
/// what the last change did.
pub async fn page(State(web): Browser, State(acc): Acc, headers: HeaderMap, uri: Uri) -> Response {
    let ui = web.pages.ui(&headers, None);
    let (passkeys, _, user) = match signed_in(&web, &acc, &headers, &ui, false).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let done = query(&uri)
        .and_then(|q| q.single("done").ok().flatten().map(str::to_owned))
        .unwrap_or_default();
    let w = ui.webauthn_text();
    let notice = match done.as_str() {
        "added" => Some(w.added),
        "renamed" => Some(w.renamed),
        "removed" => Some(w.removed),
        _ => None,
    };
    show(&web, &headers, &ui, passkeys, &user, (notice, None)).await
}

/// `POST /account/mfa/webauthn/start` (form: `csrf`): a registration ceremony bound to the
/// session, as JSON; `{"location": ...}` when a recent sign-in is needed first.
pub async fn register_start(
    State(web): Browser,
    State(acc): Acc,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let ui = web.pages.ui(&headers, None);
    if !form(read).is_some_and(|f| csrf_ok(&web.cookies, &headers, &f)) {
        return json_error(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "the form has expired",
        );
    }
    let (passkeys, session, user) = match signed_in(&web, &acc, &headers, &ui, true).await {
        Ok(x) => x,
        Err(_) => {
            return json_error(StatusCode::UNAUTHORIZED, "login_required", "not signed in");
        }
    };
    if !acc.account.is_recent(&session) {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "error": "reauth_required", "location": reauth(&web) }),
        );
    }
    match passkeys.start_registration(&user, &session.id).await {
        Ok(s) => started(s),
        Err(e) => start_failed(&e),
    }
}

/// `POST /account/mfa/webauthn` (form: `csrf`, `ceremony`, `credential`, `name`): finishes a
/// registration.
pub async fn register(
    State(web): Browser,
    State(acc): Acc,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    change(&web, &acc, &headers, read, |passkeys, session, user, f| {
        Box::pin(async move {
            let field = |n| f.single(n).ok().flatten().unwrap_or_default();
            passkeys
                .finish_registration(
                    &user.id,
                    &session.id,
                    (field("ceremony"), field("credential")),
                    field("name"),
                )
                .await
                .map(|_| "added")
        })
    })
    .await
}

/// `POST /account/mfa/webauthn/rename` (form: `csrf`, `id`, `name`).
pub async fn rename(
    State(web): Browser,
    State(acc): Acc,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    change(&web, &acc, &headers, read, |passkeys, _, user, f| {
        Box::pin(async move {
            let field = |n| f.single(n).ok().flatten().unwrap_or_default();
            passkeys
                .rename(&user.id, field("id"), field("name"))
                .await
                .map(|()| "renamed")
        })
    })
    .await
}

/// `POST /account/mfa/webauthn/remove` (form: `csrf`, `id`).
pub async fn remove(
    State(web): Browser,
    State(acc): Acc,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    change(&web, &acc, &headers, read, |passkeys, _, user, f| {
        Box::pin(async move {
            let id = f.single("id").ok().flatten().unwrap_or_default();
            passkeys.remove(&user.id, id).await.map(|()| "removed")
        })
    })
    .await
}

/// What a change does, given the service, the session, the user and the form: the word for
/// `?done=`.
type Change<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<&'static str, WebauthnFailure>> + Send + 'a>,
>;

/// A change: CSRF, the session, a recent sign-in, then `run`; 303 back to the page, or the page
/// with the refusal (400).
async fn change<F>(
    web: &BrowserEndpoints,
    acc: &AccountEndpoints,
    headers: &HeaderMap,
    read: Result<OAuthForm, FormRejection>,
    run: F,
) -> Response
where
    F: for<'a> FnOnce(&'a Passkeys, &'a Session, &'a User, &'a Form) -> Change<'a>,
{
    let ui = web.pages.ui(headers, None);
    let Some(form) = form(read) else {
        return crate::http::browser::bad_request(&ui);
    };
    if !csrf_ok(&web.cookies, headers, &form) {
        return crate::http::browser::csrf_failed(&ui);
    }
    let (passkeys, session, user) = match signed_in(web, acc, headers, &ui, true).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    if !acc.account.is_recent(&session) {
        return redirect(&reauth(web), true);
    }
    match run(passkeys, &session, &user, &form).await {
        Ok(done) => redirect(&format!("{}{PAGE}?done={done}", web.issuer.as_str()), true),
        Err(WebauthnFailure::Store(e)) => unavailable(&ui, &e),
        Err(e) => {
            let message = e.to_string();
            let mut res = show(web, headers, &ui, passkeys, &user, (None, Some(&message))).await;
            if res.status() == StatusCode::OK {
                *res.status_mut() = StatusCode::BAD_REQUEST;
            }
            res
        }
    }
}

/// The session's service, session and user; or the answer when WebAuthn is off (404) or nobody
/// is signed in (the account sign-in page, [`crate::http::account::signed_in`]).
async fn signed_in<'w>(
    web: &'w BrowserEndpoints,
    acc: &AccountEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
    post: bool,
) -> Result<(&'w Passkeys, Session, User), Response> {
    let Some(passkeys) = &web.passkeys else {
        return Err(ui.html(
            StatusCode::NOT_FOUND,
            ui.error(
                "Not available",
                "Passkeys and security keys are not available on this server.",
            ),
        ));
    };
    let (session, user) = crate::http::account::signed_in(web, acc, headers, post).await?;
    Ok((passkeys, session, user))
}

/// `/account/reauth?next=/account/mfa/webauthn` (the account page's re-authentication).
fn reauth(web: &BrowserEndpoints) -> String {
    account_url(web, &recent::reauth_path(PAGE))
}

/// The page, with a notice or an error.
async fn show(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
    passkeys: &Passkeys,
    user: &User,
    (notice, error): (Option<&str>, Option<&str>),
) -> Response {
    let list = match passkeys.list(&user.id).await {
        Ok(l) => l,
        Err(e) => return unavailable(ui, &e),
    };
    let w = ui.webauthn_text();
    let rows: Vec<CredentialRow> = list
        .into_iter()
        .map(|c: CredentialInfo| CredentialRow {
            created: when(c.created_at),
            last_used: c.last_used_at.map_or_else(|| w.never.to_owned(), when),
            kind: if c.synced { w.synced } else { w.device_bound },
            id: c.id,
            name: c.name,
        })
        .collect();
    let (csrf, set) = csrf_token(&web.cookies, headers);
    let issuer = web.issuer.as_str();
    let (register_action, start, rename_action, remove_action, script) = (
        format!("{issuer}{PAGE}"),
        format!("{issuer}{PAGE}/start"),
        format!("{issuer}{PAGE}/rename"),
        format!("{issuer}{PAGE}/remove"),
        script_url(web),
    );
    let html = ui.webauthn_account(&WebauthnAccountPage {
        user_name: &user.display_name,
        csrf: &csrf,
        credentials: &rows,
        notice,
        error,
        register_action: &register_action,
        start: &start,
        rename_action: &rename_action,
        remove_action: &remove_action,
        script: &script,
        integrity: &SCRIPT_INTEGRITY,
    });
    let mut res = with_script_csp(ui.html(StatusCode::OK, html), &script, &start);
    set_cookie(&mut res, set);
    res
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
fn when(t: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_default()
}
