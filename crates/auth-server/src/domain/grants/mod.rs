//! Token-endpoint grants.

pub mod client_credentials;
pub mod user_grants;
