//! Identity logic: clients, keys, grants. Nothing here knows about axum or HTTP types, nor about the
//! ORM: what the domain keeps is a plain [`records`] value, which the store's repositories take and
//! return, and protocol values ([`values`]) are parsed and formatted in one place each. Each service
//! has its own error enum; `http::error` maps them to responses.

pub mod clients;
pub mod grants;
pub mod health;
pub mod keys;
pub mod oauth_error;
pub mod passwords;
pub mod random;
pub mod signing_pool;
pub mod sso;
pub mod tokens;
pub mod users;

pub use crate::model::{records, values};
