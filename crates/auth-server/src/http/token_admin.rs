//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662), both client-authenticated.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::client_auth::authenticate_client;
use super::error::OAuthResponse;
use super::form::{Form, OAuthForm};
use super::response::no_store_json;
use super::state::OAuthEndpoints;
use crate::domain::clients::Client;
use crate::domain::oauth_error::OAuthError;

/// The authenticated client and the `token` it asks about. `token_type_hint` may appear at most
/// once, like every parameter; RFC 7009 §2.1: the hint only helps the lookup, and "if the server is
/// unable to locate the token using the given hint, it MUST extend its search across all of its
/// supported token types". Both types are searched anyway, so any hint, known or not, is ignored.
async fn request<'f>(
    oauth: &OAuthEndpoints,
    headers: &HeaderMap,
    form: &'f Form,
) -> Result<(Arc<Client>, &'f str), OAuthError> {
    let client = authenticate_client(&oauth.clients, headers, form).await?;
    let token = form.required("token")?;
    form.single("token_type_hint")?;
    Ok((client, token))
}

/// `POST /revoke`. RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if
/// the token has been revoked successfully or if the client submitted an invalid token."
pub async fn revoke(
    State(oauth): State<Arc<OAuthEndpoints>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Result<StatusCode, OAuthResponse> {
    let (client, token) = request(&oauth, &headers, &form).await?;
    oauth.token_admin.revoke(&client, token).await?;
    Ok(StatusCode::OK)
}

/// `POST /introspect`. RFC 7662 §2.1: "the endpoint MUST also require some form of authorization";
/// only confidential clients, authenticated, may introspect.
pub async fn introspect(
    State(oauth): State<Arc<OAuthEndpoints>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Result<Response, OAuthResponse> {
    let (client, token) = request(&oauth, &headers, &form).await?;
    if client.public {
        return Err(OAuthError::invalid_client().into());
    }
    let answer = oauth
        .token_admin
        .introspect(&client, token)
        .await
        .map_err(OAuthError::from)?;
    Ok(no_store_json(&answer))
}
