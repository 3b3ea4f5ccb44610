//! The admin listener's router: the operators' endpoints (metrics, the admin API). It is served on
//! its own socket (`[admin] bind`, loopback by default), never on the public port unless configured.

use axum::Router;

use super::HttpState;

/// Everything the admin listener serves.
pub fn admin_router(state: HttpState) -> Router {
    let router = super::admin::mount(
        Router::new(),
        &state.admin,
        crate::config::AdminApiPlacement::Admin,
        "",
    );
    router
        .fallback(super::not_found)
        .with_state(state)
        .layer(super::access_log::AccessLogLayer::new())
}
