//! The HTTP side of multi-factor sign-in (see [`crate::domain::mfa`]): `POST /login/mfa`, the
//! answer to the second-factor page ([`challenge`]), and the `/account/mfa` pages where a user
//! enrolls TOTP, removes it and gets new recovery codes ([`account`]). Thin: parse, check CSRF,
//! call the domain, render.

use axum::Router;
use axum::routing::{get, post};

use super::HttpState;

pub mod account;
pub mod challenge;
pub mod webauthn;

/// The routes, to merge under the issuer's path.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/login/mfa", post(challenge::submit))
        .route("/login/mfa/webauthn/start", post(webauthn::start))
        .route("/login/mfa/webauthn", post(webauthn::finish))
        .route("/account/mfa", get(account::show))
        .route("/account/mfa/totp/start", post(account::start_totp))
        .route("/account/mfa/totp/confirm", post(account::confirm_totp))
        .route("/account/mfa/totp/remove", post(account::remove_totp))
        .route("/account/mfa/recovery", post(account::regenerate_codes))
}
