//! What the browser endpoints (`/authorize`, `/login`, `/consent`, `/logout`) share: their form,
//! the CSRF double-submit check, redirects, and the error pages.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::cookies::CookiePolicy;
use super::form::{Form, FormRejection, OAuthForm};
use super::pages::{Pages, Ui};
use crate::domain::random;

/// The form of a browser request, if it could be read (answer [`bad_request`] if not).
pub fn form(read: Result<OAuthForm, FormRejection>) -> Option<Form> {
    read.ok().map(|OAuthForm(form)| form)
}

/// The query string of a GET, if it could be read.
pub fn query(uri: &axum::http::Uri) -> Option<Form> {
    Form::parse(uri.query().unwrap_or_default().as_bytes()).ok()
}

/// Double-submit check: the form's `csrf` equals the CSRF cookie, which only our own pages set
/// (SameSite=Lax keeps it off cross-site POSTs, and `__Host-` on https keeps other hosts from
/// planting one).
pub fn csrf_ok(cookies: &CookiePolicy, headers: &HeaderMap, form: &Form) -> bool {
    match (cookies.csrf(headers), form.single("csrf").ok().flatten()) {
        (Some(cookie), Some(field)) => {
            cookie.len() == field.len() && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()))
        }
        _ => false,
    }
}

/// The CSRF token for a page: the browser's, or a new one (with its `Set-Cookie`).
pub fn csrf_token(cookies: &CookiePolicy, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookies.csrf(headers) {
        Some(t) if t.len() >= 32 && t.len() <= 64 => (t.to_owned(), None),
        _ => {
            let t = random::token(32);
            let set = cookies.set_csrf(&t);
            (t, set)
        }
    }
}

/// Appends a `Set-Cookie`, if there is one.
pub fn set_cookie(res: &mut Response, cookie: Option<HeaderValue>) {
    if let Some(v) = cookie {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// 302 after a GET, 303 after a POST (so the browser follows with GET), never cached.
pub fn redirect(url: &str, post: bool) -> Response {
    let status = if post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let Ok(location) = HeaderValue::from_str(url) else {
        return bad_request(&Pages::fallback());
    };
    let mut res = status.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A request that could not be read.
pub fn bad_request(ui: &Ui<'_>) -> Response {
    ui.html(
        StatusCode::BAD_REQUEST,
        ui.error(
            "This request is not valid",
            "The request could not be read. Go back to the application and try again.",
        ),
    )
}

/// A form whose CSRF token does not match.
pub fn csrf_failed(ui: &Ui<'_>) -> Response {
    ui.html(
        StatusCode::FORBIDDEN,
        ui.error(
            "This form has expired",
            "For your security, the form could not be accepted. Go back to the application and sign in again.",
        ),
    )
}

/// The database is down: a plain page, details only in the log.
pub fn unavailable(ui: &Ui<'_>, e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "storage failed on a browser endpoint");
    let mut res = ui.html(
        StatusCode::SERVICE_UNAVAILABLE,
        ui.error(
            "Temporarily unavailable",
            "The service is temporarily unavailable. Please try again in a moment.",
        ),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

/// The answer to a sign-in refused because the server is saturated: 503 with `Retry-After`, a
/// page rendered once (per language, when the pages were built).
pub fn busy(ui: &Ui<'_>) -> Response {
    let mut res = ui.html(StatusCode::SERVICE_UNAVAILABLE, ui.busy());
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    res
}
