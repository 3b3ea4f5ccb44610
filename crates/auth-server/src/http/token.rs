//! `POST /token` (RFC 6749 §3.2).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::access_log::with_client;
use super::client_addr::{ClientAddr, request_meta};
use super::error::OAuthResponse;
use super::form::{Form, OAuthForm};
use super::rate_limit::limited_client;
use super::response::no_store_json;
use super::state::OAuthEndpoints;
use crate::domain::clients::Client;
use crate::domain::grants::client_credentials::{self, ClientCredentialsRequest};
use crate::domain::grants::token_exchange::{self, ExchangeRequest};
use crate::domain::grants::user_grants::UserTokens;
use crate::domain::oauth_error::{ErrorCode, OAuthError};
use crate::telemetry::{Grant, token_issued};

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
    /// RFC 8693 §2.2.1, for a token exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
}

/// The token endpoint. The form is read (up to its cap) before anything is judged, so the
/// connection stays usable whatever we answer; RFC 6749 §3.2: the client MUST use POST with
/// `application/x-www-form-urlencoded`. The authenticated client is noted for the access log.
pub async fn token(
    State(oauth): State<Arc<OAuthEndpoints>>,
    headers: HeaderMap,
    addr: ClientAddr,
    OAuthForm(form): OAuthForm,
) -> Response {
    match limited_client(&oauth, "token", &headers, &form, addr).await {
        Ok(client) => {
            let granted = match super::dpop::token_proof(&oauth.dpop, &client, &headers).await {
                Ok(jkt) => grant(&oauth, &client, &form, &headers, addr, jkt.as_deref()).await,
                Err(e) => Err(e.into()),
            };
            let res = with_client(&client.id, granted);
            super::dpop::with_nonce(&oauth.dpop, &headers, res)
        }
        Err(res) => res,
    }
}

/// RFC 9449 §5: `DPoP` for a token bound to a key (`cnf.jkt`), `Bearer` otherwise.
fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}

/// Runs the grant `form` asks for, for the authenticated `client`.
async fn grant(
    oauth: &OAuthEndpoints,
    client: &Client,
    form: &Form,
    headers: &HeaderMap,
    addr: ClientAddr,
    jkt: Option<&str>,
) -> Result<Response, OAuthResponse> {
    match form.required("grant_type")? {
        "client_credentials" if client.public => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use the client_credentials grant",
        )
        .into()),
        "client_credentials" => {
            let req = ClientCredentialsRequest {
                scope: form.single("scope")?.map(str::to_owned),
                resources: form.all("resource").map(str::to_owned).collect(),
                dpop_jkt: jkt.map(str::to_owned),
            };
            let grant = client_credentials::grant(&oauth.tokens, client, &req).await?;
            token_issued(Grant::ClientCredentials, client.alg.as_str());
            Ok(no_store_json(&TokenResponse {
                access_token: &grant.access_token,
                token_type: token_type(jkt),
                expires_in: grant.expires_in,
                scope: grant.scope.as_deref(),
                id_token: None,
                refresh_token: None,
                issued_token_type: None,
            }))
        }
        token_exchange::GRANT_TYPE => {
            let req = exchange_request(form, jkt)?;
            let t = oauth.token_exchange.exchange(client, &req).await?;
            token_issued(Grant::TokenExchange, client.alg.as_str());
            Ok(no_store_json(&TokenResponse {
                access_token: &t.access_token,
                token_type: token_type(jkt),
                expires_in: t.expires_in,
                scope: t.scope.as_deref(),
                id_token: None,
                refresh_token: None,
                issued_token_type: Some(token_exchange::ACCESS_TOKEN_TYPE),
            }))
        }
        "authorization_code" => {
            let code = form.required("code")?;
            let (uri, verifier) = (form.single("redirect_uri")?, form.single("code_verifier")?);
            let meta = request_meta(headers, addr);
            let grant = oauth
                .user_grants
                .redeem_code(client, code, (uri, verifier), jkt, &meta);
            let tokens = grant.await?;
            token_issued(Grant::AuthorizationCode, client.alg.as_str());
            Ok(user_tokens(&tokens, jkt))
        }
        "refresh_token" => {
            let token = form.required("refresh_token")?;
            let meta = request_meta(headers, addr);
            let grant = oauth
                .user_grants
                .refresh(client, token, form.single("scope")?, jkt, &meta);
            let tokens = grant.await?;
            token_issued(Grant::RefreshToken, client.alg.as_str());
            Ok(user_tokens(&tokens, jkt))
        }
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        )
        .into()),
    }
}

fn user_tokens(t: &UserTokens, jkt: Option<&str>) -> Response {
    no_store_json(&TokenResponse {
        access_token: &t.access_token,
        token_type: token_type(jkt),
        expires_in: t.expires_in,
        scope: Some(&t.scope),
        id_token: t.id_token.as_deref(),
        refresh_token: t.refresh_token.as_deref(),
        issued_token_type: None,
    })
}

/// The RFC 8693 §2.1 parameters (`resource` and `audience` both name the audience).
fn exchange_request(form: &Form, jkt: Option<&str>) -> Result<ExchangeRequest, OAuthResponse> {
    Ok(ExchangeRequest {
        subject_token: form.required("subject_token")?.to_owned(),
        subject_token_type: form.required("subject_token_type")?.to_owned(),
        requested_token_type: form.single("requested_token_type")?.map(str::to_owned),
        actor_token: form.single("actor_token")?.is_some(),
        audiences: form
            .all("resource")
            .chain(form.all("audience"))
            .map(str::to_owned)
            .collect(),
        scope: form.single("scope")?.map(str::to_owned),
        dpop_jkt: jkt.map(str::to_owned),
    })
}
