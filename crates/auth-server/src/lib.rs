//! `auth-server`: a self-hosted OAuth 2.0 / OpenID Connect identity provider.
//!
//! Layers, each unaware of the ones above it (`main -> cli -> app -> http -> domain -> store`,
//! checked by a test):
//!
//! - [`app`]: wiring. [`app::App`] holds the configuration and the domain services, runs the key
//!   job, and builds the http layer's state ([`app::App::http_state`]).
//! - [`http`]: axum routes and thin handlers over their own [`http::HttpState`]; maps domain errors
//!   to RFC 6749 responses.
//! - [`domain`]: clients, grants, token minting, signing keys and their rotation, sign-in and
//!   logout. No axum or sea-orm types.
//! - [`store`]: sea-orm entities, migrations and repositories, on SQLite or PostgreSQL; they take
//!   and return the domain's records.
//! - [`model`]: beneath them all, the domain's [`model::records`] and protocol [`model::values`]
//!   (re-exported as `domain::records` and `domain::values`).
//! - [`config`]: the typed configuration, read by every layer.
//! - [`telemetry`]: Prometheus metrics (names, the recorder, recording helpers), beneath every
//!   layer like the configuration.
//!
//! The `auth-server` binary adds the CLI ([`cli`]).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! let config = auth_server::config::Config::load(None)?;
//! let kek = auth_server::app::App::load_kek(&config)?;
//! let app = auth_server::app::App::start(config, Arc::new(auth_core::SystemClock), kek).await?;
//! let listener = tokio::net::TcpListener::bind(app.config.server.bind).await?;
//! app.serve(listener, None, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
#[cfg(test)]
mod layers;
pub mod model;
pub mod store;
pub mod telemetry;
