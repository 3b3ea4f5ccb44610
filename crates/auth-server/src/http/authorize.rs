//! The browser endpoints of the authorization-code flow: `GET|POST /authorize` (RFC 6749 §4.1.1,
//! OIDC Core §3.1.2), `POST /login` and `POST /consent`. Thin: parse, check CSRF, call
//! [`Flow`](crate::domain::sso::flow::Flow), render the [`Step`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

use super::browser::{
    bad_request, busy, csrf_failed, csrf_ok, csrf_token, form, query, redirect, set_cookie,
    unavailable,
};
use super::client_addr::{ClientAddr, request_meta};
use super::form::{Form, FormRejection, OAuthForm, read_body};
use super::pages::{self, ConsentPage, LoginPage, Ui};
use super::state::BrowserEndpoints;
use crate::domain::sso::flow::{FlowError, LoginOutcome, LoginProblem, Step};
use crate::domain::sso::request::AuthorizeParams;
use crate::telemetry::{SignIn, sign_in};

type Browser = State<Arc<BrowserEndpoints>>;

/// How long a sign-in refused as busy waits before its answer (see [`login`]).
const BUSY_PACING: std::time::Duration = std::time::Duration::from_millis(200);

/// `GET /authorize`.
pub async fn authorize_get(State(web): Browser, headers: HeaderMap, uri: Uri) -> Response {
    match query(&uri) {
        Some(form) => authorize(&web, &headers, &form, false).await,
        None => bad_request(&web.pages.ui(&headers, None)),
    }
}

/// `POST /authorize` (OIDC Core §3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET
/// and POST methods").
pub async fn authorize_post(
    State(web): Browser,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    match form(read) {
        Some(form) => authorize(&web, &headers, &form, true).await,
        None => bad_request(&web.pages.ui(&headers, None)),
    }
}

async fn authorize(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    form: &Form,
    post: bool,
) -> Response {
    let params = params_from(form);
    let session = web.cookies.session(headers);
    let ui = web.pages.for_form(headers, form);
    match web.flow.authorize(params, session).await {
        Ok(step) => render(web, headers, &ui, step, (post, form_post(form)), None),
        Err(e) => unavailable(&ui, &e),
    }
}

/// `POST /login`: the sign-in form.
///
/// A place among the password checks is taken first: when the server is saturated the answer is a
/// fixed "busy" page, decided by one atomic increment before the form is parsed, the request
/// validated, the database touched or a page rendered (the body is only drained, so the connection
/// stays usable). Refusing a storm therefore costs next to nothing; the refusal is sent after a short
/// pause on a timer, so clients that resend at once cannot spin the cores either.
pub async fn login(
    State(web): Browser,
    headers: HeaderMap,
    addr: ClientAddr,
    body: Body,
) -> Response {
    let Some(admission) = web.flow.admit() else {
        // Drained without being kept; a body too long to drain gets the reset it would anyway.
        let _ = read_body(body, 0).await;
        // Paced: a client that resends at once (a script, a load generator) waits on a timer, which
        // costs no CPU, instead of spinning the server's cores away from the password checks.
        tokio::time::sleep(BUSY_PACING).await;
        sign_in(SignIn::Busy);
        return busy(&web.pages.ui(&headers, None));
    };
    let Some(form) = form(OAuthForm::read(&headers, body).await) else {
        sign_in(SignIn::Invalid);
        return bad_request(&web.pages.ui(&headers, None));
    };
    let ui = web.pages.for_form(&headers, &form);
    if !csrf_ok(&web.cookies, &headers, &form) {
        sign_in(SignIn::Csrf);
        return csrf_failed(&ui);
    }
    let username = form.single("username").ok().flatten().unwrap_or_default();
    let password = form.single("password").ok().flatten().unwrap_or_default();
    let meta = request_meta(&headers, addr);
    let outcome = web
        .flow
        .login(
            admission,
            params_from(&form),
            (username, password),
            (addr.0, &meta),
            web.cookies.session(&headers),
            web.cookies.device(&headers),
            web.cookies.csrf(&headers),
        )
        .await;
    sign_in(sign_in_outcome(&outcome));
    match outcome {
        Ok(o) => {
            let delivery = (true, form_post(&form));
            let mut res = render(
                &web,
                &headers,
                &ui,
                o.step,
                delivery,
                o.new_session.as_deref(),
            );
            let device = o
                .device_cookie
                .and_then(|d| web.cookies.set_device(&d, web.flow.devices().ttl()));
            set_cookie(&mut res, device);
            res
        }
        Err(e) => unavailable(&ui, &e),
    }
}

/// How a sign-in ended, for the metrics.
fn sign_in_outcome(outcome: &Result<LoginOutcome, FlowError>) -> SignIn {
    match outcome {
        Ok(o) if o.new_session.is_some() => SignIn::Success,
        Ok(LoginOutcome {
            step:
                Step::Login {
                    problem: Some(problem),
                    ..
                },
            ..
        }) => match problem {
            LoginProblem::Rejected => SignIn::Rejected,
            LoginProblem::Locked => SignIn::Locked,
            LoginProblem::Slowed(_) => SignIn::Slowed,
            LoginProblem::Busy => SignIn::Busy,
        },
        Ok(_) => SignIn::Invalid,
        Err(_) => SignIn::Error,
    }
}

/// `POST /consent`: the consent form.
pub async fn consent(
    State(web): Browser,
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
    let allow = form.single("decision").ok().flatten() == Some("allow");
    let ticket = form.single("consent_ticket").ok().flatten();
    match web
        .flow
        .consent(
            params_from(&form),
            web.cookies.session(&headers),
            (ticket, allow),
            &request_meta(&headers, addr),
        )
        .await
    {
        Ok(step) => render(&web, &headers, &ui, step, (true, form_post(&form)), None),
        Err(e) => unavailable(&ui, &e),
    }
}

/// The authorization parameters of a query or form. A repeated single-valued parameter is noted
/// (and answered with `invalid_request` once the redirect URI is trusted); a repeated `client_id` or
/// `redirect_uri` is treated as missing, so it gets the error page.
pub fn params_from(form: &Form) -> AuthorizeParams {
    let mut p = AuthorizeParams::default();
    for name in AuthorizeParams::NAMES {
        if name == "resource" {
            for r in form.all(name) {
                p.set(name, r.to_owned());
            }
            continue;
        }
        match form.single(name) {
            Ok(Some(v)) => {
                p.set(name, v.to_owned());
            }
            Ok(None) => {}
            Err(_) => {
                if name != "client_id" && name != "redirect_uri" {
                    p.repeated = true;
                }
            }
        }
    }
    p
}

/// Whether the request asked for `response_mode=form_post` (validated by the flow: the
/// authorization response is then delivered by [`pages::form_post`]).
pub(crate) fn form_post(form: &Form) -> bool {
    form.single("response_mode").ok().flatten() == Some("form_post")
}

/// Renders `step`; `(post, form_post)`: whether the request was a POST (a redirect is then 303),
/// and whether the authorization response goes back as a form post. Also used by `POST /login/mfa`
/// ([`super::mfa::challenge`]) and the passkey sign-in.
pub(crate) fn render(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
    step: Step,
    (post, form_post): (bool, bool),
    new_session: Option<&str>,
) -> Response {
    let mut res = match step {
        Step::Error(message) => ui.html(
            StatusCode::BAD_REQUEST,
            ui.error("This sign-in link is not valid", message),
        ),
        Step::Redirect(url) => match form_post.then(|| pages::form_post::form_post(ui, &url)) {
            Some(Some(page)) => page,
            _ => redirect(&url, post),
        },
        Step::FormPost(url) => match pages::form_post::form_post(ui, &url) {
            Some(page) => page,
            None => redirect(&url, post),
        },
        Step::Login {
            request,
            problem,
            username,
        } => {
            let (csrf, set) = csrf_token(&web.cookies, headers);
            let (status, error) = match problem {
                None => (StatusCode::OK, None),
                Some(LoginProblem::Rejected) => (
                    StatusCode::UNAUTHORIZED,
                    Some("Invalid username or password."),
                ),
                Some(LoginProblem::Locked) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("Too many failed attempts. Wait a few minutes, then try again."),
                ),
                Some(LoginProblem::Slowed(_)) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(
                        "This account has had many failed sign-ins. Please try again in a moment.",
                    ),
                ),
                Some(LoginProblem::Busy) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some("The service is busy. Please try again in a moment."),
                ),
            };
            let hidden = request.params.pairs();
            let action = web.issuer.login();
            let page = LoginPage {
                client_name: &request.client.name,
                username: &username,
                error,
                csrf: &csrf,
                action: &action,
                hidden: &hidden,
            };
            let mut res = super::webauthn::login_page(web, ui, status, &page);
            set_cookie(&mut res, set);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            if let Some(LoginProblem::Slowed(secs)) = problem
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Step::Consent {
            request,
            user,
            ticket,
        } => {
            let (csrf, set) = csrf_token(&web.cookies, headers);
            let mut hidden = request.params.pairs();
            hidden.push(("consent_ticket".to_owned(), ticket));
            let action = web.issuer.consent();
            let mut res = ui.html(
                StatusCode::OK,
                ui.consent(&ConsentPage {
                    client_name: &request.client.name,
                    user_name: &user.display_name,
                    scopes: &request.scopes,
                    csrf: &csrf,
                    action: &action,
                    hidden: &hidden,
                }),
            );
            set_cookie(&mut res, set);
            res
        }
        Step::SecondFactor {
            request,
            user,
            ticket,
            enroll,
            keys,
            problem,
        } => super::mfa::challenge::page(
            web,
            headers,
            ui,
            (request, user, ticket),
            (enroll, keys),
            problem,
        ),
    };
    if let Some(secret) = new_session {
        set_cookie(&mut res, web.cookies.set_session(secret));
    }
    res
}
