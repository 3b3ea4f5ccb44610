//! The browser endpoints of the authorization-code flow: `GET|POST /authorize` (RFC 6749 §4.1.1,
//! OIDC Core §3.1.2), `POST /login` and `POST /consent`. Thin: parse, check CSRF, call
//! [`Flow`](crate::domain::sso::flow::Flow), render the [`Step`].

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::client_addr::client_ip;
use super::form::{Form, is_form_content_type, read_body};
use super::pages::{self, ConsentPage, LoginPage};
use crate::app::AppState;
use crate::domain::random;
use crate::domain::sso::flow::{LoginProblem, Step};
use crate::domain::sso::request::AuthorizeParams;
use crate::store::StoreError;

/// Largest form body accepted from a browser.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// How long a sign-in refused as busy waits before its answer (see [`login`]).
const BUSY_PACING: std::time::Duration = std::time::Duration::from_millis(200);

/// `GET /authorize`.
pub async fn authorize_get(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let form = match Form::parse(uri.query().unwrap_or_default().as_bytes()) {
        Ok(f) => f,
        Err(_) => return bad_request(),
    };
    authorize(&app, &headers, &form, false).await
}

/// `POST /authorize` (OIDC Core §3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET
/// and POST methods").
pub async fn authorize_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(form) = read_form(&headers, body).await else {
        return bad_request();
    };
    authorize(&app, &headers, &form, true).await
}

async fn authorize(app: &AppState, headers: &HeaderMap, form: &Form, post: bool) -> Response {
    let params = params_from(form);
    let session = app.cookies.session(headers);
    match app.flow.authorize(params, session).await {
        Ok(step) => render(app, headers, step, post, None),
        Err(e) => unavailable(&e),
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
    State(app): State<AppState>,
    headers: HeaderMap,
    ext: Extensions,
    body: Body,
) -> Response {
    let Some(admission) = app.flow.admit() else {
        // Drained without being kept; a body too long to drain gets the reset it would anyway.
        let _ = read_body(body, 0).await;
        // Paced: a client that resends at once (a script, a load generator) waits on a timer, which
        // costs no CPU, instead of spinning the server's cores away from the password checks.
        tokio::time::sleep(BUSY_PACING).await;
        return busy();
    };
    let Some(form) = read_form(&headers, body).await else {
        return bad_request();
    };
    if !csrf_ok(&app, &headers, &form) {
        return csrf_failed();
    }
    let username = form.single("username").ok().flatten().unwrap_or_default();
    let password = form.single("password").ok().flatten().unwrap_or_default();
    let addr = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| client_ip(a.ip(), &headers, &app.trusted_proxies));
    let outcome = app
        .flow
        .login(
            admission,
            params_from(&form),
            username,
            password,
            addr,
            app.cookies.session(&headers),
            app.cookies.device(&headers),
        )
        .await;
    match outcome {
        Ok(o) => {
            let mut res = render(&app, &headers, o.step, true, o.new_session.as_deref());
            if let Some(v) = o
                .device_cookie
                .and_then(|d| app.cookies.set_device(&d, app.flow.devices().ttl()))
            {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => unavailable(&e),
    }
}

/// The answer to a sign-in refused because the server is saturated: 503 with `Retry-After`, a
/// page rendered once.
fn busy() -> Response {
    static PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        pages::error(
            "The service is busy",
            "The service is busy. Please go back and try again in a moment.",
        )
    });
    let mut res = pages::html(StatusCode::SERVICE_UNAVAILABLE, PAGE.clone());
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    res
}

/// `POST /consent`: the consent form.
pub async fn consent(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Some(form) = read_form(&headers, body).await else {
        return bad_request();
    };
    if !csrf_ok(&app, &headers, &form) {
        return csrf_failed();
    }
    let allow = form.single("decision").ok().flatten() == Some("allow");
    let ticket = form.single("consent_ticket").ok().flatten();
    match app
        .flow
        .consent(
            params_from(&form),
            app.cookies.session(&headers),
            ticket,
            allow,
        )
        .await
    {
        Ok(step) => render(&app, &headers, step, true, None),
        Err(e) => unavailable(&e),
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

/// Reads a form body (Content-Type checked, size capped).
pub async fn read_form(headers: &HeaderMap, body: Body) -> Option<Form> {
    // Read (or drain) the body before judging it, so the client always receives our answer.
    let bytes = read_body(body, MAX_FORM_BYTES).await.ok()?;
    if !is_form_content_type(headers) {
        return None;
    }
    Form::parse(&bytes).ok()
}

/// Double-submit check: the form's `csrf` equals the CSRF cookie, which only our own pages set
/// (SameSite=Lax keeps it off cross-site POSTs, and `__Host-` on https keeps other hosts from
/// planting one).
pub fn csrf_ok(app: &AppState, headers: &HeaderMap, form: &Form) -> bool {
    match (
        app.cookies.csrf(headers),
        form.single("csrf").ok().flatten(),
    ) {
        (Some(cookie), Some(field)) => {
            cookie.len() == field.len() && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()))
        }
        _ => false,
    }
}

/// The CSRF token for a page: the browser's, or a new one (with its `Set-Cookie`).
pub fn csrf_token(app: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match app.cookies.csrf(headers) {
        Some(t) if t.len() >= 32 && t.len() <= 64 => (t.to_owned(), None),
        _ => {
            let t = random::token(32);
            let set = app.cookies.set_csrf(&t);
            (t, set)
        }
    }
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    step: Step,
    post: bool,
    new_session: Option<&str>,
) -> Response {
    let mut res = match step {
        Step::Error(message) => pages::html(
            StatusCode::BAD_REQUEST,
            pages::error("This sign-in link is not valid", message),
        ),
        Step::Redirect(url) => redirect(&url, post),
        Step::Login {
            request,
            problem,
            username,
        } => {
            let (csrf, set) = csrf_token(app, headers);
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
            let action = format!("{}/login", app.config.server.issuer);
            let mut res = pages::html(
                status,
                pages::login(&LoginPage {
                    client_name: &request.client.name,
                    username: &username,
                    error,
                    csrf: &csrf,
                    action: &action,
                    hidden: &hidden,
                }),
            );
            if let Some(v) = set {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
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
            let (csrf, set) = csrf_token(app, headers);
            let mut hidden = request.params.pairs();
            hidden.push(("consent_ticket".to_owned(), ticket));
            let action = format!("{}/consent", app.config.server.issuer);
            let mut res = pages::html(
                StatusCode::OK,
                pages::consent(&ConsentPage {
                    client_name: &request.client.name,
                    user_name: &user.display_name,
                    scopes: &request.scopes,
                    csrf: &csrf,
                    action: &action,
                    hidden: &hidden,
                }),
            );
            if let Some(v) = set {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
    };
    if let Some(secret) = new_session
        && let Some(v) = app.cookies.set_session(secret)
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// 302 after a GET, 303 after a POST (so the browser follows with GET), never cached.
pub fn redirect(url: &str, post: bool) -> Response {
    let status = if post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let Ok(location) = HeaderValue::from_str(url) else {
        return bad_request();
    };
    let mut res = status.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn bad_request() -> Response {
    pages::html(
        StatusCode::BAD_REQUEST,
        pages::error(
            "This request is not valid",
            "The request could not be read. Go back to the application and try again.",
        ),
    )
}

fn csrf_failed() -> Response {
    pages::html(
        StatusCode::FORBIDDEN,
        pages::error(
            "This form has expired",
            "For your security, the form could not be accepted. Go back to the application and sign in again.",
        ),
    )
}

/// The database is down: a plain page, details only in the log.
pub fn unavailable(e: &StoreError) -> Response {
    tracing::warn!(error = %e, "storage failed on a browser endpoint");
    let mut res = pages::html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::error(
            "Temporarily unavailable",
            "The service is temporarily unavailable. Please try again in a moment.",
        ),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}
