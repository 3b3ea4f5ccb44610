//! The HTTP boundary: routes, thin handlers, and the mapping of domain errors to responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub mod authorize;
pub mod browser;
pub mod client_addr;
pub mod client_auth;
pub mod cookies;
pub mod discovery;
pub mod error;
pub mod form;
pub mod logout;
pub mod ops;
pub mod pages;
pub mod response;
pub mod revocation_feed;
pub mod state;
pub mod token;
pub mod token_admin;
pub mod userinfo;

use crate::domain::health::Health;
use error::json_error;
pub use state::{HttpState, Services};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole router. Routes sit under the issuer's path, so `https://host/realm` serves
/// `https://host/realm/token`; RFC 8414 §3's `/.well-known/oauth-authorization-server/realm` form is
/// served too.
pub fn router(state: HttpState) -> Router {
    let path = issuer_path(state.browser.issuer.as_str()).to_owned();
    // Documents served from memory: no per-request timer, span or id, so they stay cheap under load.
    let documents = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/healthz", get(healthz));
    // Endpoints that do work: a timeout, and a request id on every log line and response.
    let work = Router::new()
        .route("/token", post(token::token))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/login", post(authorize::login))
        .route("/consent", post(authorize::consent))
        .route("/userinfo", get(userinfo::get).post(userinfo::post))
        .route("/revoke", post(token_admin::revoke))
        .route("/introspect", post(token_admin::introspect))
        .route("/revocations", get(revocation_feed::revocations))
        .route("/logout", get(logout::get).post(logout::post))
        .route("/readyz", get(readyz))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // 5xx answers are logged by the handlers that know why (a database error is a warning with
        // its cause); the layer's own failure line would log every "busy" of a login storm as an error.
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)).make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, Counter::default()));
    let routes = documents.merge(work);
    let app = if path.is_empty() {
        routes
    } else {
        Router::new().nest(&path, routes).route(
            &format!("/.well-known/oauth-authorization-server{path}"),
            get(discovery::oauth_authorization_server),
        )
    };
    app.fallback(not_found)
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
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

/// The path part of the issuer URL, without a trailing slash ("" for none).
fn issuer_path(issuer: &str) -> &str {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// Request ids: a per-process random prefix and a counter. Unique, cheap, and not guessable across
/// restarts.
#[derive(Clone, Debug)]
struct Counter {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Default for Counter {
    fn default() -> Self {
        Self {
            prefix: crate::domain::random::token(6).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _req: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn readyz(State(health): State<Health>) -> Response {
    match health.ready().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "database unavailable",
            )
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
