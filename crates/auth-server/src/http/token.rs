//! `POST /token` (RFC 6749 §3.2).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth::credentials;
use super::error::OAuthResponse;
use super::form::{BodyTooLarge, Form, is_form_content_type, read_body};
use crate::app::AppState;
use std::sync::Arc;

use crate::domain::clients::{AuthnError, Client};
use crate::domain::grants::client_credentials::{self, ClientCredentialsRequest};
use crate::domain::grants::user_grants::UserTokens;
use crate::domain::oauth_error::{ErrorCode, OAuthError};

/// Largest token request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// RFC 6749 §5.1 success body (with OIDC Core §3.1.3.3 `id_token`).
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

/// The token endpoint.
pub async fn token(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&app, &headers, body).await {
        Ok(res) => res,
        Err(e) => OAuthResponse(e).into_response(),
    }
}

async fn handle(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Response, OAuthError> {
    // Read the body first (up to the cap), so the connection stays usable whatever we answer.
    let bytes = match read_body(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => return Ok(too_large(e)),
    };
    // RFC 6749 §3.2: the client MUST use POST with application/x-www-form-urlencoded.
    let form_type = is_form_content_type(headers);
    if !form_type {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let form = Form::parse(&bytes)?;
    let client = authenticate_client(app, headers, &form).await?;
    let grant_type = form
        .single("grant_type")?
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    match grant_type {
        "client_credentials" if client.public => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use the client_credentials grant",
        )),
        "client_credentials" => {
            let req = ClientCredentialsRequest {
                scope: form.single("scope")?.map(str::to_owned),
                resources: form.all("resource").map(str::to_owned).collect(),
            };
            let grant = client_credentials::grant(&app.issuer, &client, &req).await?;
            Ok(success(&TokenResponse {
                access_token: &grant.access_token,
                token_type: "Bearer",
                expires_in: grant.expires_in,
                scope: grant.scope.as_deref(),
                id_token: None,
                refresh_token: None,
            }))
        }
        "authorization_code" => {
            let code = form
                .single("code")?
                .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
            let tokens = app
                .user_grants
                .redeem_code(
                    &client,
                    code,
                    form.single("redirect_uri")?,
                    form.single("code_verifier")?,
                )
                .await?;
            Ok(user_tokens(&tokens))
        }
        "refresh_token" => {
            let token = form
                .single("refresh_token")?
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            let tokens = app
                .user_grants
                .refresh(&client, token, form.single("scope")?)
                .await?;
            Ok(user_tokens(&tokens))
        }
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        )),
    }
}

fn user_tokens(t: &UserTokens) -> Response {
    success(&TokenResponse {
        access_token: &t.access_token,
        token_type: "Bearer",
        expires_in: t.expires_in,
        scope: Some(&t.scope),
        id_token: t.id_token.as_deref(),
        refresh_token: t.refresh_token.as_deref(),
    })
}

/// Identifies the client: with its secret (RFC 6749 §2.3.1), or, for a public client, by `client_id`
/// alone (§2.1, §3.2.1: "A client MAY use the "client_id" request parameter to identify itself when
/// sending requests to the token endpoint"). A confidential client must authenticate.
pub async fn authenticate_client(
    app: &AppState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Arc<Client>, OAuthError> {
    let has_secret =
        headers.contains_key(header::AUTHORIZATION) || form.single("client_secret")?.is_some();
    if !has_secret && let Some(id) = form.single("client_id")? {
        let client = match app.clients.get(id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "client lookup failed");
                return Err(OAuthError::unavailable());
            }
        };
        return match client {
            Some(c) if c.public && c.enabled => Ok(c),
            _ => Err(OAuthError::invalid_client()),
        };
    }
    let creds = credentials(headers, form)?;
    match app
        .clients
        .authenticate(&creds.client_id, &creds.secret)
        .await
    {
        Ok(c) => Ok(c),
        Err(AuthnError::Rejected) => Err(OAuthError::invalid_client()),
        Err(AuthnError::Store(e)) => {
            tracing::warn!(error = %e, "client lookup failed");
            Err(OAuthError::unavailable())
        }
    }
}

/// RFC 6749 §5.1: "The authorization server MUST include the HTTP "Cache-Control" response header
/// field with a value of "no-store" in any response containing tokens".
pub fn success_json(body: &impl Serialize) -> Response {
    let mut res = axum::Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn success(body: &TokenResponse<'_>) -> Response {
    success_json(body)
}

/// 413 with `Connection: close`: the rest of the body was not read, so the connection cannot be
/// reused (RFC 9110 §15.5.14).
fn too_large(e: BodyTooLarge) -> Response {
    let mut res =
        OAuthResponse(OAuthError::invalid_request("the request body is too large")).into_response();
    *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    if !e.drained {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
