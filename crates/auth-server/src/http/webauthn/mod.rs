//! WebAuthn over HTTP: the script, passwordless sign-in (`/login/passkey/start` answers the
//! options as JSON, `/login/passkey` takes the form the script posts) and the account page
//! ([`account`]). Thin: parse, check CSRF, call [`Passkeys`](crate::domain::webauthn::Passkeys)
//! and the [`Flow`](crate::domain::sso::flow::Flow), render.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::HttpState;
use super::authorize::{form_post, params_from, render};
use super::browser::{
    bad_request, csrf_failed, csrf_ok, csrf_token, form, set_cookie, unavailable,
};
use super::client_addr::{ClientAddr, request_meta};
use super::form::{FormRejection, OAuthForm};
use super::pages::webauthn::{PasskeyForm, SCRIPT, SCRIPT_INTEGRITY, with_script_csp};
use super::pages::{LoginPage, Ui};
use super::state::BrowserEndpoints;
use crate::domain::sso::flow::KeySignIn;
use crate::domain::sso::request::AuthorizeRequest;
use crate::domain::webauthn::{Started, WebauthnFailure};
use crate::telemetry::{SignIn, sign_in};

pub mod account;

type Browser = State<Arc<BrowserEndpoints>>;

/// The routes, relative to the issuer's path.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/assets/webauthn.js", get(script))
        .route("/login/passkey/start", post(login_start))
        .route("/login/passkey", post(login_finish))
        .route(
            "/account/mfa/webauthn",
            get(account::page).post(account::register),
        )
        .route("/account/mfa/webauthn/start", post(account::register_start))
        .route("/account/mfa/webauthn/rename", post(account::rename))
        .route("/account/mfa/webauthn/remove", post(account::remove))
}

/// The script's URL, versioned by its digest (the content at a versioned URL never changes).
pub fn script_url(web: &BrowserEndpoints) -> String {
    let version: String = SCRIPT_INTEGRITY
        .trim_start_matches("sha256-")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    format!("{}/assets/webauthn.js?v={version}", web.issuer.as_str())
}

/// `GET /assets/webauthn.js`: the one script, immutable (its URL carries its version).
async fn script() -> Response {
    let mut res = SCRIPT.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The sign-in page: with the passkey form (and its script's CSP) when WebAuthn is on, else the
/// plain page.
pub fn login_page(
    web: &BrowserEndpoints,
    ui: &Ui<'_>,
    status: StatusCode,
    page: &LoginPage<'_>,
) -> Response {
    if web.passkeys.is_none() {
        return ui.html(status, ui.login(page));
    }
    let (action, start, script) = (
        format!("{}/login/passkey", web.issuer.as_str()),
        format!("{}/login/passkey/start", web.issuer.as_str()),
        script_url(web),
    );
    let html = ui.login_with_passkey(
        page,
        &PasskeyForm {
            action: &action,
            start: &start,
            script: &script,
        },
    );
    with_script_csp(ui.html(status, html), &script, &start)
}

/// A JSON answer, never cached.
fn json_answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A JSON error: `{"error": code, "error_description": ...}`.
pub(in crate::http) fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    json_answer(
        status,
        json!({ "error": code, "error_description": description }),
    )
}

/// The answer to a start: the ceremony id and the options for `navigator.credentials`.
pub(in crate::http) fn started(s: Started) -> Response {
    json_answer(
        StatusCode::OK,
        json!({ "ceremony": s.ceremony, "options": s.options }),
    )
}

/// A refused start, as JSON.
pub(in crate::http) fn start_failed(e: &WebauthnFailure) -> Response {
    match e {
        WebauthnFailure::Store(e) => {
            tracing::warn!(error = %e, "storage failed starting a webauthn ceremony");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable",
            )
        }
        e => json_error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    }
}

/// `POST /login/passkey/start` (form: `csrf`): a passwordless ceremony bound to this browser's
/// CSRF cookie.
async fn login_start(
    State(web): Browser,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let Some(passkeys) = &web.passkeys else {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "WebAuthn is not available",
        );
    };
    let Some(form) = form(read) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unreadable form",
        );
    };
    let (true, Some(browser)) = (
        csrf_ok(&web.cookies, &headers, &form),
        web.cookies.csrf(&headers),
    ) else {
        return json_error(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "the form has expired",
        );
    };
    match passkeys.start_passwordless(browser).await {
        Ok(s) => started(s),
        Err(e) => start_failed(&e),
    }
}

/// `POST /login/passkey`: the passkey form (the authorization request, `csrf`, `ceremony`,
/// `credential`). A verified assertion signs in and continues the request as `/login` does.
async fn login_finish(
    State(web): Browser,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let Some(form) = form(OAuthForm::read(&headers, body).await) else {
        sign_in(SignIn::Invalid);
        return bad_request(&web.pages.ui(&headers, None));
    };
    let ui = web.pages.for_form(&headers, &form);
    let (Some(passkeys), true, Some(browser)) = (
        &web.passkeys,
        csrf_ok(&web.cookies, &headers, &form),
        web.cookies.csrf(&headers),
    ) else {
        sign_in(SignIn::Csrf);
        return csrf_failed(&ui);
    };
    let req = match web.flow.passkey_request(params_from(&form)).await {
        Ok(Ok(req)) => req,
        Ok(Err(step)) => return render(&web, &headers, &ui, step, (true, form_post(&form)), None),
        Err(e) => return unavailable(&ui, &e),
    };
    let field = |n| form.single(n).ok().flatten().unwrap_or_default();
    let verified = match passkeys
        .finish_passwordless(browser, (field("ceremony"), field("credential")))
        .await
    {
        Ok(v) => v,
        Err(WebauthnFailure::Store(e)) => return unavailable(&ui, &e),
        Err(e) => {
            sign_in(SignIn::Rejected);
            return refused(&web, &headers, &ui, &req, &e);
        }
    };
    let amr = verified.amr();
    let key = KeySignIn {
        user_id: &verified.user_id,
        amr: &amr,
        credential: &verified.credential,
    };
    let meta = request_meta(&headers, addr);
    match web
        .flow
        .passkey_sign_in(req, key, &meta, web.cookies.session(&headers))
        .await
    {
        Ok(o) => {
            sign_in(match o.new_session {
                Some(_) => SignIn::Success,
                None => SignIn::Rejected,
            });
            render(
                &web,
                &headers,
                &ui,
                o.step,
                (true, form_post(&form)),
                o.new_session.as_deref(),
            )
        }
        Err(e) => {
            sign_in(SignIn::Error);
            unavailable(&ui, &e)
        }
    }
}

/// The sign-in page again, saying why the passkey was refused (401).
fn refused(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
    req: &AuthorizeRequest,
    why: &WebauthnFailure,
) -> Response {
    let (csrf, set) = csrf_token(&web.cookies, headers);
    let hidden = req.params.pairs();
    let action = web.issuer.login();
    let message = why.to_string();
    let error = ui.webauthn_text().message(&message);
    let page = LoginPage {
        client_name: &req.client.name,
        username: "",
        error: Some(error),
        csrf: &csrf,
        action: &action,
        hidden: &hidden,
    };
    let mut res = login_page(web, ui, StatusCode::UNAUTHORIZED, &page);
    set_cookie(&mut res, set);
    res
}
