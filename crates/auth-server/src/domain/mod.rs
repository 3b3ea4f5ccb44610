//! Identity logic: clients, keys, grants. Nothing here knows about axum or HTTP types.

pub mod clients;
pub mod grants;
pub mod health;
pub mod keys;
pub mod oauth_error;
pub mod passwords;
pub mod random;
pub mod records;
pub mod signing_pool;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod values;
