//! `[registration]`: dynamic client registration (RFC 7591, RFC 7592).

use serde::Deserialize;

/// `[registration]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Serve `POST /register` and `/register/{client_id}`, and advertise `registration_endpoint`.
    /// Off by default: even with an initial access token required, an endpoint that creates
    /// clients is opened only by an operator who means to.
    #[serde(default)]
    pub enabled: bool,
}
