//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662), both client-authenticated.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::OAuthResponse;
use super::form::{Form, is_form_content_type, read_body};
use super::token::{MAX_BODY_BYTES, authenticate_client, success_json};
use crate::app::AppState;
use crate::domain::oauth_error::OAuthError;

async fn read(headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    let bytes = read_body(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| OAuthError::invalid_request("the request body is too large"))?;
    let is_form = is_form_content_type(headers);
    if !is_form {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    Form::parse(&bytes)
}

/// `POST /revoke`. RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if
/// the token has been revoked successfully or if the client submitted an invalid token."
pub async fn revoke(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let run = async {
        let form = read(&headers, body).await?;
        let client = authenticate_client(&app, &headers, &form).await?;
        let token = form
            .single("token")?
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        // RFC 7009 §2.1: the hint only helps the lookup, and "if the server is unable to locate
        // the token using the given hint, it MUST extend its search across all of its supported
        // token types". Both types are searched anyway, so any hint, known or not, is ignored
        // (it may appear at most once, like every parameter).
        form.single("token_type_hint")?;
        app.token_admin.revoke(&client, token).await
    };
    match run.await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => OAuthResponse(e).into_response(),
    }
}

/// `POST /introspect`. RFC 7662 §2.1: "the endpoint MUST also require some form of authorization";
/// only confidential clients, authenticated, may introspect.
pub async fn introspect(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let run = async {
        let form = read(&headers, body).await?;
        let client = authenticate_client(&app, &headers, &form).await?;
        if client.public {
            return Err(OAuthError::invalid_client());
        }
        let token = form
            .single("token")?
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        form.single("token_type_hint")?;
        app.token_admin
            .introspect(&client, token)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "introspection failed");
                OAuthError::unavailable()
            })
    };
    match run.await {
        Ok(v) => success_json(&v),
        Err(e) => OAuthResponse(e).into_response(),
    }
}
