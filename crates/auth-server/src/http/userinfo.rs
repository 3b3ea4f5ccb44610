//! `GET|POST /userinfo` (OIDC Core §5.3), a bearer-protected resource (RFC 6750).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::{FormRejection, OAuthForm};
use super::response::no_store_json;
use super::state::OAuthEndpoints;
use crate::domain::sso::tokens_admin::TokenAdminError;

type OAuth = State<Arc<OAuthEndpoints>>;

/// `GET /userinfo`.
pub async fn get(State(oauth): OAuth, headers: HeaderMap) -> Response {
    match bearer(&headers) {
        Ok(Some(token)) => answer(&oauth, &token).await,
        Ok(None) => challenge(StatusCode::UNAUTHORIZED, None),
        Err(()) => challenge(StatusCode::BAD_REQUEST, Some("invalid_request")),
    }
}

/// `POST /userinfo`: the token in the header, or (RFC 6750 §2.2) in a form body.
pub async fn post(
    State(oauth): OAuth,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    match bearer(&headers) {
        Ok(Some(token)) => answer(&oauth, &token).await,
        Ok(None) => {
            let token = read.ok().and_then(|OAuthForm(f)| {
                f.single("access_token").ok().flatten().map(str::to_owned)
            });
            match token {
                Some(t) => answer(&oauth, &t).await,
                None => challenge(StatusCode::UNAUTHORIZED, None),
            }
        }
        Err(()) => challenge(StatusCode::BAD_REQUEST, Some("invalid_request")),
    }
}

async fn answer(oauth: &OAuthEndpoints, token: &str) -> Response {
    match oauth.token_admin.userinfo(token).await {
        Ok(claims) => super::cors::with_token_client(token, no_store_json(&claims)),
        Err(TokenAdminError::InvalidToken) => {
            challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"))
        }
        Err(TokenAdminError::InsufficientScope) => super::cors::with_token_client(
            token,
            challenge(StatusCode::FORBIDDEN, Some("insufficient_scope")),
        ),
        Err(e) => super::error::OAuthResponse(e.into()).into_response(),
    }
}

/// The bearer token of the `Authorization` header ([`auth_core::bearer`], as every resource
/// service reads it): `Ok(None)` when there is no header, `Err` when it is repeated, not a Bearer
/// credential (a client that sent another scheme learns it is refused here, RFC 6750 §3.1
/// `invalid_request`), or not a usable token.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let values = headers.get_all(header::AUTHORIZATION).iter();
    match auth_core::bearer::credentials(values.map(HeaderValue::as_bytes)) {
        Ok(Some(credentials)) => auth_core::bearer::token(credentials)
            .map(|t| Some(t.to_owned()))
            .map_err(|_| ()),
        Ok(None) if headers.contains_key(header::AUTHORIZATION) => Err(()),
        Ok(None) => Ok(None),
        Err(_) => Err(()),
    }
}

/// RFC 6750 §3: a challenge, with an error code when a token was presented.
fn challenge(status: StatusCode, error: Option<&str>) -> Response {
    let realm = ("realm", "userinfo");
    let value = match error {
        None => auth_core::bearer::challenge(&[realm]),
        Some("insufficient_scope") => auth_core::bearer::challenge(&[
            realm,
            ("error", "insufficient_scope"),
            ("scope", "openid"),
        ]),
        Some(e) => auth_core::bearer::challenge(&[realm, ("error", e)]),
    };
    let mut res = match error {
        Some(e) => (status, axum::Json(serde_json::json!({ "error": e }))).into_response(),
        None => status.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
