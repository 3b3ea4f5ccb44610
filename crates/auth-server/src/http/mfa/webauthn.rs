//! A WebAuthn key as the second factor on the second-factor page: the "Use your security key or
//! passkey" form (with the per-page CSP for the one script), `POST /login/mfa/webauthn/start`
//! (options as JSON, for a ceremony bound to the pending sign-in) and `POST /login/mfa/webauthn`
//! (the assertion). Thin: parse, check CSRF, find the pending sign-in, call
//! [`Passkeys`](crate::domain::webauthn::Passkeys) and the [`Flow`](crate::domain::sso::flow::Flow),
//! render.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::authorize::{form_post, params_from, render};
use super::super::browser::{bad_request, csrf_failed, csrf_ok, form, unavailable};
use super::super::client_addr::{ClientAddr, request_meta};
use super::super::form::{FormRejection, OAuthForm};
use super::super::pages::Ui;
use super::super::pages::mfa::{ChallengePage, KeyForm};
use super::super::pages::webauthn::{SCRIPT_INTEGRITY, with_script_csp};
use super::super::state::BrowserEndpoints;
use super::super::webauthn::{json_error, script_url, start_failed, started};
use crate::domain::mfa::{FactorKind, MfaError};
use crate::domain::sso::flow::BrowserBinding;
use crate::domain::webauthn::{Binding, WebauthnFailure};
use crate::telemetry::{SignIn, sign_in};

/// The second-factor page with the key form and the CSP that allows its script and start URL.
pub(in crate::http) fn challenge_page(
    web: &BrowserEndpoints,
    ui: &Ui<'_>,
    status: StatusCode,
    page: &ChallengePage<'_>,
) -> Response {
    let base = web.issuer.as_str().trim_end_matches('/');
    let (action, start, script) = (
        format!("{base}/login/mfa/webauthn"),
        format!("{base}/login/mfa/webauthn/start"),
        script_url(web),
    );
    let key = KeyForm {
        action: &action,
        start: &start,
        script: &script,
        integrity: &SCRIPT_INTEGRITY,
    };
    let html = ui.mfa_challenge_with_key(page, Some(key));
    with_script_csp(ui.html(status, html), &script, &start)
}

/// `POST /login/mfa/webauthn/start` (the second-factor page's fields: the request, `csrf`,
/// `mfa_ticket`): the options for the user's keys, for a ceremony bound to the pending sign-in
/// this browser holds for this request.
pub async fn start(
    State(web): State<Arc<BrowserEndpoints>>,
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
    if !csrf_ok(&web.cookies, &headers, &form) {
        return json_error(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "the form has expired",
        );
    }
    let browser = BrowserBinding {
        csrf: web.cookies.csrf(&headers),
        session: web.cookies.session(&headers),
    };
    let ticket = form.single("mfa_ticket").ok().flatten();
    let p = match web
        .flow
        .pending_sign_in(params_from(&form), ticket, browser)
        .await
    {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "this sign-in has expired or was already completed",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "finding a pending sign-in failed");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable",
            );
        }
    };
    let binding = p.ceremony_binding();
    match passkeys
        .start_second_factor(&p.user.id, Binding::Pending(&binding))
        .await
    {
        Ok(Some(s)) => started(s),
        Ok(None) => json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no passkey or security key is registered",
        ),
        Err(e) => start_failed(&e),
    }
}

/// `POST /login/mfa/webauthn`: the key form (the page's fields, `ceremony`, `credential`). A
/// verified assertion completes the pending sign-in; a refused one counts against the
/// second-factor throttle and shows the page again.
pub async fn finish(
    State(web): State<Arc<BrowserEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let Some(form) = form(OAuthForm::read(&headers, body).await) else {
        sign_in(SignIn::Invalid);
        return bad_request(&web.pages.ui(&headers, None));
    };
    let ui = web.pages.for_form(&headers, &form);
    let (Some(passkeys), true) = (&web.passkeys, csrf_ok(&web.cookies, &headers, &form)) else {
        sign_in(SignIn::Csrf);
        return csrf_failed(&ui);
    };
    let browser = BrowserBinding {
        csrf: web.cookies.csrf(&headers),
        session: web.cookies.session(&headers),
    };
    let field = |n| form.single(n).ok().flatten();
    let ticket = field("mfa_ticket");
    let shown = |step| render(&web, &headers, &ui, step, (true, form_post(&form)), None);
    let p = match web
        .flow
        .pending_sign_in(params_from(&form), ticket, browser)
        .await
    {
        Ok(Ok(p)) => p,
        Ok(Err(step)) => return shown(step),
        Err(e) => return unavailable(&ui, &e),
    };
    let (binding, user_id) = (p.ceremony_binding(), p.user.id.clone());
    let answer = (
        field("ceremony").unwrap_or_default(),
        field("credential").unwrap_or_default(),
    );
    let check = async || match passkeys
        .finish_second_factor(&user_id, Binding::Pending(&binding), answer)
        .await
    {
        Ok(v) => Ok(Some(FactorKind::WebAuthn {
            hardware: v.method == "hwk",
        })),
        Err(WebauthnFailure::Store(e)) => Err(MfaError::Store(e)),
        Err(_) => Ok(None),
    };
    let meta = request_meta(&headers, addr);
    match web
        .flow
        .key_second_factor(p, ticket.unwrap_or_default(), check, browser, &meta)
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
