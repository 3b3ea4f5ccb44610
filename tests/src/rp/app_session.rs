//! The app's own session (its cookie, `GET /me`) and its back-channel logout endpoint (OpenID
//! Connect Back-Channel Logout 1.0 §2.5-§2.8), which ends that session when the IdP's ends.

use std::collections::HashMap;

use auth_verifier::{LogoutTokenVerifier, Policy, Verifier};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Url;

use super::{RpState, Shared, escape, page};

/// The value of the app's session cookie, if the request has one.
pub(super) fn session_cookie(rp: &RpState, headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == rp.cookie)
        .map(|(_, value)| value.to_owned())
}

pub(super) async fn me(State(rp): Shared, headers: HeaderMap) -> Response {
    let session =
        session_cookie(&rp, &headers).and_then(|s| rp.sessions.lock().unwrap().get(&s).cloned());
    match session {
        Some(s) => page(
            &rp.name,
            &format!(
                "<h1 id=\"me\">Signed in to {} as {}</h1>",
                escape(&rp.name),
                escape(&s.username)
            ),
        )
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            page(
                &rp.name,
                &format!(
                    "<h1 id=\"me-signed-out\">Not signed in to {}</h1>",
                    escape(&rp.name)
                ),
            ),
        )
            .into_response(),
    }
}

/// OpenID Connect Back-Channel Logout 1.0 §2.5-§2.8: validate, end the sessions, answer.
pub(super) async fn backchannel_logout(State(rp): Shared, body: String) -> Response {
    // application/x-www-form-urlencoded, decoded as a query string is.
    let form: HashMap<String, String> = Url::parse(&format!("http://x/?{body}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let bad = || {
        (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({"error": "invalid_request"})),
        )
            .into_response()
    };
    let Some(token) = form.get("logout_token") else {
        return bad();
    };
    let verifier = rp
        .logout_verifier
        .get_or_try_init(|| async {
            let keys = Verifier::builder(Policy::new(rp.client_id.clone()))
                .issuer(auth_verifier::IssuerConfig::auth_server(&rp.issuer))
                .clock(rp.clock.clone())
                .build()
                .await?;
            Ok::<_, auth_verifier::InitError>(LogoutTokenVerifier::new(keys, rp.client_id.clone()))
        })
        .await;
    let Ok(verifier) = verifier else {
        return bad();
    };
    let Ok(logout) = verifier.verify(token).await else {
        return bad();
    };
    rp.sessions
        .lock()
        .unwrap()
        .retain(|_, s| match &logout.sid {
            Some(sid) => s.sid.as_deref() != Some(sid.as_str()),
            None => logout.sub.as_deref() != Some(s.sub.as_str()),
        });
    rp.logouts.lock().unwrap().push(logout);
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}
