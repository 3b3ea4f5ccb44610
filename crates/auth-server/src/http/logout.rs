//! `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0 (the `end_session_endpoint`).
//!
//! With a valid `id_token_hint` for the browser's current session (its `sid`), the session ends at
//! once; without one, or with a hint from another session, the user confirms on a page (a
//! CSRF-protected form), so a cross-site link cannot sign anyone out. A
//! `post_logout_redirect_uri` is followed only when it is registered, exactly, for the client the
//! hint (or `client_id`) names (§3: "The OP MUST NOT perform post-logout redirection if ... not
//! previously registered"). Ending the session also ends its refresh tokens.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use super::authorize::{csrf_ok, csrf_token, read_form, redirect, unavailable};
use super::form::Form;
use super::pages::{self, LogoutPage};
use crate::app::AppState;
use crate::domain::sso::request::with_query;

/// `GET /logout`.
pub async fn get(State(app): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    match Form::parse(uri.query().unwrap_or_default().as_bytes()) {
        Ok(form) => logout(&app, &headers, &form, false).await,
        Err(_) => invalid("The sign-out request could not be read."),
    }
}

/// `POST /logout` (from an application, or the confirmation form).
pub async fn post(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match read_form(&headers, body).await {
        Some(form) => logout(&app, &headers, &form, true).await,
        None => invalid("The sign-out request could not be read."),
    }
}

fn invalid(message: &'static str) -> Response {
    pages::html(
        StatusCode::BAD_REQUEST,
        pages::error("This sign-out link is not valid", message),
    )
}

async fn logout(app: &AppState, headers: &HeaderMap, form: &Form, post: bool) -> Response {
    let one = |name| form.single(name).ok().flatten();
    let hint = match one("id_token_hint") {
        Some(h) => match app.token_admin.id_token_hint(h) {
            Some(claims) => Some(claims),
            None => return invalid("The application sent a sign-out request that is not valid."),
        },
        None => None,
    };
    let client_id = match (hint.as_ref().map(|h| h.0.as_str()), one("client_id")) {
        (Some(a), Some(b)) if a != b => {
            return invalid("The application sent a sign-out request that is not valid.");
        }
        (Some(a), _) | (None, Some(a)) => Some(a.to_owned()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => match app.clients.get(id).await {
            Ok(c) => c,
            Err(e) => return unavailable(&e),
        },
        None => None,
    };
    let target = match one("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => Some(uri.to_owned()),
            _ => {
                return invalid(
                    "The application asked to return you to an address it has not registered.",
                );
            }
        },
    };
    // A cross-site POST from an application carries no session cookie (SameSite=Lax): answering it
    // as done would leave the session alive. Send the browser to the same request by GET, which
    // carries the cookie.
    if post && hint.is_some() && app.cookies.session(headers).is_none() {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for name in [
            "id_token_hint",
            "client_id",
            "post_logout_redirect_uri",
            "state",
        ] {
            if let Some(v) = one(name) {
                pairs.push((name, v));
            }
        }
        let url = with_query(&format!("{}/logout", app.config.server.issuer), &pairs);
        return redirect(&url, true);
    }
    let confirmed = post && one("confirm") == Some("yes") && csrf_ok(app, headers, form);
    let current = match app.cookies.session(headers) {
        Some(secret) => match app.flow.sessions().current(secret).await {
            Ok(s) => s,
            Err(e) => return unavailable(&e),
        },
        None => None,
    };
    // §2: "the OP MUST ask the End-User ... if an id_token_hint was not provided or if the supplied
    // ID Token does not belong to the current OP session": a hint from another session (anyone's
    // own ID token, put in a link) must not sign this browser out unasked.
    let hint_is_for_this_session = match (&hint, &current) {
        (Some((_, Some(sid))), Some(s)) => *sid == s.id,
        (Some(_), None) => true,
        _ => false,
    };
    if !hint_is_for_this_session && !confirmed {
        let (csrf, set) = csrf_token(app, headers);
        let mut hidden = vec![("confirm".to_owned(), "yes".to_owned())];
        for name in ["client_id", "post_logout_redirect_uri", "state"] {
            if let Some(v) = one(name) {
                hidden.push((name.to_owned(), v.to_owned()));
            }
        }
        if let Some(id) = &client_id
            && one("client_id").is_none()
        {
            hidden.push(("client_id".to_owned(), id.clone()));
        }
        let action = format!("{}/logout", app.config.server.issuer);
        let mut res = pages::html(
            StatusCode::OK,
            pages::logout_confirm(&LogoutPage {
                csrf: &csrf,
                action: &action,
                hidden: &hidden,
                client_name: client.as_ref().map(|c| c.name.as_str()),
            }),
        );
        if let Some(v) = set {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        return res;
    }
    if let Some(s) = current
        && let Err(e) = app.flow.sessions().end(&s.id).await
    {
        return unavailable(&e);
    }
    let mut res = match target {
        Some(uri) => {
            let url = match one("state") {
                Some(state) => with_query(&uri, &[("state", state)]),
                None => uri,
            };
            redirect(&url, post)
        }
        None => pages::html(StatusCode::OK, pages::logged_out()),
    };
    if let Some(v) = app.cookies.clear_session() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
