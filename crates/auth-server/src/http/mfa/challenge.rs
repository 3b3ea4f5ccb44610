//! `POST /login/mfa` and the second-factor page (`Step::SecondFactor`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::super::authorize::{form_post, params_from, render};
use super::super::browser::{bad_request, csrf_failed, csrf_ok, csrf_token, form, set_cookie};
use super::super::client_addr::{ClientAddr, request_meta};
use super::super::form::{FormRejection, OAuthForm};
use super::super::pages::Ui;
use super::super::pages::mfa::{ChallengePage, EnrollView};
use super::super::state::BrowserEndpoints;
use crate::domain::mfa::Enrollment;
use crate::domain::sso::flow::{BrowserBinding, SecondFactorForm, SecondFactorProblem};
use crate::domain::sso::request::AuthorizeRequest;
use crate::domain::users::User;

/// `POST /login/mfa`: the second-factor form (CSRF double-submit checked; the pending sign-in is
/// bound to this browser's cookies, see [`crate::domain::sso::flow::BrowserBinding`]).
pub async fn submit(
    State(web): State<Arc<BrowserEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let Some(form) = form(read) else {
        return bad_request(&web.pages.ui(&headers, None));
    };
    let ui = web.pages.for_form(&headers, &form);
    if !csrf_ok(&web.cookies, &headers, &form) {
        return csrf_failed(&ui);
    }
    let field = |name| form.single(name).ok().flatten();
    let fields = SecondFactorForm {
        ticket: field("mfa_ticket"),
        code: field("code"),
        recovery_code: field("recovery_code"),
        enrollment_id: field("enrollment_id"),
    };
    let browser = BrowserBinding {
        csrf: web.cookies.csrf(&headers),
        session: web.cookies.session(&headers),
    };
    let meta = request_meta(&headers, addr);
    match web
        .flow
        .second_factor(params_from(&form), fields, browser, &meta)
        .await
    {
        Ok(o) => render(
            &web,
            &headers,
            &ui,
            o.step,
            (true, form_post(&form)),
            o.new_session.as_deref(),
        ),
        Err(e) => super::super::browser::unavailable(&ui, &e),
    }
}

/// The second-factor page for a pending sign-in.
pub(in crate::http) fn page(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
    (request, user, ticket): (Box<AuthorizeRequest>, User, String),
    (enroll, keys): (Option<Enrollment>, bool),
    problem: Option<SecondFactorProblem>,
) -> Response {
    let (csrf, set) = csrf_token(&web.cookies, headers);
    let m = ui.mfa_text();
    let (status, error) = match problem {
        None => (StatusCode::OK, None),
        Some(SecondFactorProblem::Rejected) => (StatusCode::UNAUTHORIZED, Some(m.rejected)),
        Some(SecondFactorProblem::Locked) => (StatusCode::TOO_MANY_REQUESTS, Some(m.locked)),
    };
    let mut hidden = request.params.pairs();
    hidden.push(("mfa_ticket".to_owned(), ticket));
    let action = format!("{}/login/mfa", web.issuer.as_str().trim_end_matches('/'));
    let enroll_view = enroll.as_ref().map(|e| EnrollView {
        qr_svg: &e.qr_svg,
        secret: &e.secret_base32,
        enrollment_id: &e.enrollment_id,
    });
    let page = ChallengePage {
        user_name: &user.display_name,
        error,
        csrf: &csrf,
        action: &action,
        hidden: &hidden,
        enroll: enroll_view,
    };
    let mut res = match (keys && enroll.is_none(), web.passkeys.is_some()) {
        (true, true) => super::webauthn::challenge_page(web, ui, status, &page),
        _ => ui.html(status, ui.mfa_challenge(&page)),
    };
    set_cookie(&mut res, set);
    if status == StatusCode::TOO_MANY_REQUESTS {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("60"),
        );
    }
    res
}
