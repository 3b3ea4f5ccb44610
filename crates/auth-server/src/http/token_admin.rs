//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662), both client-authenticated.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::access_log::with_client;
use super::client_addr::ClientAddr;
use super::error::OAuthResponse;
use super::form::{Form, OAuthForm};
use super::rate_limit::limited_client;
use super::response::no_store_json;
use super::state::OAuthEndpoints;
use crate::domain::oauth_error::OAuthError;

/// The `token` a request asks about. `token_type_hint` may appear at most once, like every
/// parameter; RFC 7009 §2.1: the hint only helps the lookup, and "if the server is unable to
/// locate the token using the given hint, it MUST extend its search across all of its supported
/// token types". Both types are searched anyway, so any hint, known or not, is ignored.
fn token_param(form: &Form) -> Result<&str, OAuthError> {
    let token = form.required("token")?;
    form.single("token_type_hint")?;
    Ok(token)
}

/// `POST /revoke`. RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if
/// the token has been revoked successfully or if the client submitted an invalid token."
pub async fn revoke(
    State(oauth): State<Arc<OAuthEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    OAuthForm(form): OAuthForm,
) -> Response {
    let client = match limited_client(&oauth, "revoke", &headers, &form, addr).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let revoked = async {
        oauth
            .token_admin
            .revoke(&client, token_param(&form)?)
            .await?;
        Ok::<_, OAuthResponse>(StatusCode::OK)
    };
    with_client(&client.id, revoked.await)
}

/// `POST /introspect`. RFC 7662 §2.1: "the endpoint MUST also require some form of authorization";
/// only confidential clients, authenticated, may introspect.
pub async fn introspect(
    State(oauth): State<Arc<OAuthEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    OAuthForm(form): OAuthForm,
) -> Response {
    let client = match limited_client(&oauth, "introspect", &headers, &form, addr).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let answer = async {
        let token = token_param(&form)?;
        if client.public {
            return Err(OAuthError::invalid_client().into());
        }
        let answer = oauth
            .token_admin
            .introspect(&client, token)
            .await
            .map_err(OAuthError::from)?;
        Ok::<_, OAuthResponse>(no_store_json(&answer))
    };
    with_client(&client.id, answer.await)
}
