//! The HTTP boundary: routes, thin handlers, and the mapping of domain errors to responses.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub mod access_log;
pub mod account;
pub mod admin;
pub mod authorize;
pub mod browser;
pub mod client_addr;
pub mod client_auth;
pub mod cookies;
pub mod cors;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod form;
pub mod logout;
pub mod metrics_layer;
pub mod mfa;
pub mod ops;
pub mod pages;
pub mod par;
pub mod rate_limit;
pub mod registration;
pub mod response;
pub mod revocation_feed;
pub mod state;
pub mod token;
pub mod token_admin;
pub mod userinfo;
pub mod webauthn;

use crate::domain::health::Health;
use error::json_error;
pub use state::{HttpState, Services};

/// The whole router. Routes sit under the issuer's path, so `https://host/realm` serves
/// `https://host/realm/token`; RFC 8414 §3's `/.well-known/oauth-authorization-server/realm` form is
/// served too.
pub fn router(state: HttpState) -> Router {
    let path = issuer_path(state.browser.issuer.as_str()).to_owned();
    // Documents served from memory: no timeout (they never wait on anything). Discovery and the
    // JWKS are public and the same for everyone: any web page may read them (CORS `*`).
    let documents = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration).layer(public_document()),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server).layer(public_document()),
        )
        .route("/jwks", get(discovery::jwks).layer(public_document()))
        .route("/healthz", get(healthz));
    // CORS for single-page apps, per client (see `cors`); never on the browser pages.
    let cors = |methods| {
        axum::middleware::from_fn_with_state(
            cors::Cors::new(state.oauth.clients.clone(), methods),
            cors::per_client,
        )
    };
    // Endpoints that do work: a timeout.
    let work = Router::new()
        .route("/token", post(token::token).layer(cors(&[Method::POST])))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/par", post(par::par))
        .route("/login", post(authorize::login))
        .route("/consent", post(authorize::consent))
        .route(
            "/userinfo",
            get(userinfo::get)
                .post(userinfo::post)
                .layer(cors(&[Method::GET, Method::POST])),
        )
        .route(
            "/revoke",
            post(token_admin::revoke).layer(cors(&[Method::POST])),
        )
        .route("/introspect", post(token_admin::introspect))
        .route("/revocations", get(revocation_feed::revocations))
        .route("/logout", get(logout::get).post(logout::post))
        .route("/readyz", get(readyz))
        .merge(account::routes())
        .merge(webauthn::routes())
        .merge(mfa::routes())
        .merge(registration::routes(state.oauth.registration))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    let routes = documents.merge(work);
    let app = if path.is_empty() {
        routes
    } else {
        Router::new().nest(&path, routes).route(
            &format!("/.well-known/oauth-authorization-server{path}"),
            get(discovery::oauth_authorization_server).layer(public_document()),
        )
    };
    let app = admin::mount(
        app,
        &state.admin,
        crate::config::AdminApiPlacement::Public,
        &path,
    );
    // Every request, matched or not, gets a request id, a span and one access-log line; 5xx
    // answers are logged (with their cause) by the handlers that know why.
    app.fallback(not_found)
        .layer(metrics_layer::HttpMetricsLayer::for_state(&state))
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(access_log::AccessLogLayer::new())
}

/// `Access-Control-Allow-Origin: *` for a public document (discovery, JWKS): it is the same for
/// every caller, carries nothing private and is read without credentials, so any origin may read
/// it (the Fetch standard allows `*` exactly for such credential-less requests).
fn public_document() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    )
}

/// Serves `router` on `listener` until `shutdown` resolves: header-read and idle timeouts, the
/// connection cap and graceful shutdown from [`http_serve::serve`]; handlers get
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: http_serve::Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    http_serve::serve(listener, router, limits, shutdown).await;
}

/// As [`serve`], but requests still in flight `drain` after `shutdown` resolved are cut off
/// ([`http_serve::serve_with_drain`]).
pub async fn serve_with_drain(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: http_serve::Limits,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> http_serve::Drained {
    http_serve::serve_with_drain(listener, router, limits, shutdown, Some(drain)).await
}

/// The path part of the issuer URL, without a trailing slash ("" for none).
pub fn issuer_path(issuer: &str) -> &str {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// `{"status":"ready"}`, or 503 with `{"status":"unavailable","reason":"database","description":
/// "..."}` (see [`Health::check`]).
async fn readyz(State(health): State<Health>) -> Response {
    match health.check().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(why) => {
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({
                    "status": "unavailable",
                    "reason": why.code(),
                    "description": why.to_string(),
                })),
            )
                .into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
    }
}

pub(crate) async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

#[cfg(test)]
mod tests {
    use super::issuer_path;

    #[test]
    fn issuer_paths() {
        assert_eq!(issuer_path("http://127.0.0.1:8080"), "");
        assert_eq!(
            issuer_path("https://idp.example.com/realms/main"),
            "/realms/main"
        );
    }
}
