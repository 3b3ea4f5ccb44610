//! The admin REST API under `/admin/v1`: clients, keys, audit events (and users, sessions),
//! authenticated with this IdP's own access tokens ([`auth`]), answering errors as RFC 9457
//! problems ([`problem`]), documented by an OpenAPI 3.1 document built from the same registration
//! as the routes ([`openapi`]).
//!
//! It is served on the admin listener (`admin.api = "admin"`, the default), on the public one
//! (`"public"`, under the issuer's path), or not at all (`"off"`). Handlers are thin: each parses
//! its input, calls one domain service with the [`auth::Caller`] (the audit actor and request
//! metadata), and maps the result.
//!
//! To add endpoints: a module with `pub(super) fn register(r: Routes) -> Routes` that adds its
//! schemas and `Op`s, called from [`routes`].

use std::ops::Deref;
use std::sync::Arc;

use auth_core::Clock;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

pub mod audit;
pub mod auth;
mod client_auth_fields;
pub mod clients;
pub mod keys;
pub mod openapi;
pub mod problem;
pub mod registration_tokens;
mod schemas;
pub mod sessions;
pub mod token_exchange;
pub mod users;

pub use auth::{AdminAuth, Caller};
pub use openapi::{Op, Routes, Verb};
pub use problem::{AdminJson, AdminPath, AdminQuery, Problem};

use crate::config::{AdminApiPlacement, TrustedProxies};
use crate::domain::audit_trail::AuditTrail;
use crate::domain::clients::ClientRegistry;
use crate::domain::keys::KeyManager;
use crate::domain::sso::sessions::Sessions;
use crate::domain::sso::tokens_admin::TokenAdmin;
use crate::domain::users::Users;

/// The domain services the admin handlers call.
#[derive(Debug, Clone)]
pub struct AdminServices {
    /// Registered clients.
    pub clients: ClientRegistry,
    /// Signing keys.
    pub keys: Arc<KeyManager>,
    /// Users.
    pub users: Users,
    /// SSO sessions (listed and ended per user).
    pub sessions: Sessions,
    /// Token revocation and the revocation list.
    pub token_admin: TokenAdmin,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The audit trail, for reading.
    pub audit: AuditTrail,
}

/// The admin API's state: the services, token verification, where it is served. Handlers take
/// `State<AdminApi>` and reach the services through `Deref` (`api.clients`, ...).
#[derive(Debug, Clone)]
pub struct AdminApi(Arc<AdminInner>);

/// What [`AdminApi`] holds.
#[derive(Debug)]
pub struct AdminInner {
    /// The services.
    pub services: AdminServices,
    /// Token verification.
    pub auth: AdminAuth,
    /// Where the API is served.
    pub placement: AdminApiPlacement,
    /// `server.trusted_proxies`, for the client address of the audit trail.
    pub trusted_proxies: TrustedProxies,
}

impl AdminApi {
    /// The API over `services`.
    pub fn new(
        services: AdminServices,
        auth: AdminAuth,
        placement: AdminApiPlacement,
        trusted_proxies: TrustedProxies,
    ) -> Self {
        Self(Arc::new(AdminInner {
            services,
            auth,
            placement,
            trusted_proxies,
        }))
    }

    /// The same API verifying tokens with `auth` instead.
    pub fn with_auth(&self, auth: AdminAuth) -> Self {
        Self::new(
            self.0.services.clone(),
            auth,
            self.0.placement,
            self.0.trusted_proxies.clone(),
        )
    }
}

impl Deref for AdminApi {
    type Target = AdminInner;
    fn deref(&self) -> &AdminInner {
        &self.0
    }
}

impl Deref for AdminInner {
    type Target = AdminServices;
    fn deref(&self) -> &AdminServices {
        &self.services
    }
}

/// Every admin endpoint, registered with its documentation.
pub fn routes() -> Routes {
    let r = Routes::new().add(
        Op::get("/openapi.json", "This OpenAPI document")
            .tag("meta")
            .public()
            .ok("OpenApiDocument"),
        openapi_json,
    );
    let r = r.schema(
        "OpenApiDocument",
        serde_json::json!({"type": "object", "required": ["openapi", "paths"]}),
    );
    let r = keys::register(r);
    let r = token_exchange::register(clients::register(r));
    let r = registration_tokens::register(r);
    let r = sessions::register(users::register(r));
    audit::register(r)
}

/// The OpenAPI document of [`routes`].
pub fn document() -> Value {
    routes().document()
}

async fn openapi_json() -> axum::response::Response {
    axum::Json(document()).into_response()
}

/// The `/admin/v1` subtree for `api`, ready to nest in a router of any state: authenticated
/// routes behind [`auth::authenticate`], the public document, problem answers for unknown paths
/// (404) and methods (405). The request id (and the access-log line) come from the listener's
/// [`super::access_log::AccessLogLayer`].
pub fn service<S: Clone + Send + Sync + 'static>(api: AdminApi) -> Router<S> {
    let (authenticated, public, _) = routes().finish();
    let authenticated = authenticated.route_layer(axum::middleware::from_fn_with_state(
        api.clone(),
        auth::authenticate,
    ));
    authenticated
        .merge(public)
        .fallback(|| async { Problem::not_found("no such admin endpoint") })
        .method_not_allowed_fallback(|| async {
            Problem::status(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not allowed on this admin endpoint",
            )
        })
        .with_state(api)
}

/// Mounts the admin API at `/admin/v1` on `router` if it is served at `placement`. Nested as a
/// router (not as an opaque service), so the access log and the HTTP metrics see each admin
/// route's template (`/admin/v1/clients/{client_id}`), not `unmatched`.
pub fn mount<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    api: &AdminApi,
    placement: AdminApiPlacement,
    prefix: &str,
) -> Router<S> {
    if api.placement == placement && placement != AdminApiPlacement::Off {
        router.nest(&format!("{prefix}/admin/v1"), service(api.clone()))
    } else {
        router
    }
}
