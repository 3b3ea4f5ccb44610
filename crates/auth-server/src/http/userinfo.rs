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
        Ok(claims) => no_store_json(&claims),
        Err(TokenAdminError::InvalidToken) => {
            challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"))
        }
        Err(TokenAdminError::InsufficientScope) => {
            challenge(StatusCode::FORBIDDEN, Some("insufficient_scope"))
        }
        Err(e) => super::error::OAuthResponse(e.into()).into_response(),
    }
}

/// The bearer token of the `Authorization` header: `Ok(None)` when there is no header, `Err` when it
/// is repeated or not a Bearer credential.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let v = v.to_str().map_err(|_| ())?;
    let (scheme, token) = v.split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(());
    }
    Ok(Some(token.trim().to_owned()))
}

/// RFC 6750 §3: a challenge, with an error code when a token was presented.
fn challenge(status: StatusCode, error: Option<&str>) -> Response {
    let value = match error {
        None => "Bearer realm=\"userinfo\"".to_owned(),
        Some("insufficient_scope") => {
            "Bearer realm=\"userinfo\", error=\"insufficient_scope\", scope=\"openid\"".to_owned()
        }
        Some(e) => format!("Bearer realm=\"userinfo\", error=\"{e}\""),
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
