//! `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0 (the `end_session_endpoint`). The
//! policy is [`Logout`](crate::domain::sso::logout::Logout)'s; this renders its step.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::browser::{csrf_ok, csrf_token, query, redirect, set_cookie, unavailable};
use super::client_addr::{ClientAddr, request_meta};
use super::form::{Form, FormRejection, OAuthForm};
use super::pages::{LogoutPage, Ui};
use super::state::BrowserEndpoints;
use crate::domain::sso::logout::{LogoutRequest, LogoutStep};

/// `GET /logout`.
pub async fn get(
    State(web): State<Arc<BrowserEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    uri: Uri,
) -> Response {
    match query(&uri) {
        Some(form) => logout(&web, &headers, addr, &form, false).await,
        None => invalid(
            &web.pages.ui(&headers, None),
            "The sign-out request could not be read.",
        ),
    }
}

/// `POST /logout` (from an application, or the confirmation form).
pub async fn post(
    State(web): State<Arc<BrowserEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    match read {
        Ok(OAuthForm(form)) => logout(&web, &headers, addr, &form, true).await,
        Err(_) => invalid(
            &web.pages.ui(&headers, None),
            "The sign-out request could not be read.",
        ),
    }
}

fn invalid(ui: &Ui<'_>, message: &'static str) -> Response {
    ui.html(
        StatusCode::BAD_REQUEST,
        ui.error("This sign-out link is not valid", message),
    )
}

async fn logout(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    addr: ClientAddr,
    form: &Form,
    post: bool,
) -> Response {
    let one = |name| form.single(name).ok().flatten();
    let ui = web.pages.for_form(headers, form);
    let request = LogoutRequest {
        id_token_hint: one("id_token_hint"),
        client_id: one("client_id"),
        post_logout_redirect_uri: one("post_logout_redirect_uri"),
        state: one("state"),
    };
    let confirmed = post && one("confirm") == Some("yes") && csrf_ok(&web.cookies, headers, form);
    let session = web.cookies.session(headers);
    let meta = request_meta(headers, addr);
    let step = match web
        .logout
        .decide(&request, session, (post, confirmed), &meta)
        .await
    {
        Ok(step) => step,
        Err(e) => return unavailable(&ui, &e),
    };
    match step {
        LogoutStep::Invalid(message) => invalid(&ui, message),
        LogoutStep::ResendAsGet(url) => redirect(&url, true),
        LogoutStep::Confirm {
            client_name,
            hidden,
        } => {
            let (csrf, set) = csrf_token(&web.cookies, headers);
            let action = web.issuer.end_session();
            let mut res = ui.html(
                StatusCode::OK,
                ui.logout_confirm(&LogoutPage {
                    csrf: &csrf,
                    action: &action,
                    hidden: &hidden,
                    client_name: client_name.as_deref(),
                }),
            );
            set_cookie(&mut res, set);
            res
        }
        LogoutStep::Done { redirect: target } => {
            let mut res = match target {
                Some(url) => redirect(&url, post),
                None => ui.html(StatusCode::OK, ui.logged_out()),
            };
            set_cookie(&mut res, web.cookies.clear_session());
            res
        }
    }
}
