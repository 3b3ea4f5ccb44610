//! sea-orm entities. Timestamps are `i64` Unix seconds, which both SQLite and PostgreSQL store exactly.

pub mod authorization_code;
pub mod client;
pub mod consent;
pub mod login_failure;
pub mod pending_consent;
pub mod refresh_token;
pub mod revoked_access_token;
pub mod revoked_subject;
pub mod signing_key;
pub mod sso_session;
pub mod token_family;
pub mod user;
