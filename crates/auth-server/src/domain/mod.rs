//! Identity logic: clients, keys, grants. Nothing here knows about axum or HTTP types, nor about the
//! ORM: what the domain keeps is a plain [`records`] value, which the store's repositories take and
//! return, and protocol values ([`values`]) are parsed and formatted in one place each. Each service
//! has its own error enum; `http::error` maps them to responses.

pub mod account;
pub mod audit;
pub mod audit_trail;
pub mod clients;
pub mod dpop;
pub mod gauges;
pub mod grants;
pub mod health;
pub mod keys;
pub mod mfa;
pub mod oauth_error;
pub mod passwords;
pub mod random;
pub mod rate_limits;
pub mod signing_pool;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod webauthn;

pub use crate::model::{records, values};

/// Whether `s` is 1 to `max` bytes, each an ASCII letter or digit or one of `punctuation`: the
/// rule of client ids and user names.
pub(crate) fn is_plain_name(s: &str, max: usize, punctuation: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || punctuation.contains(&b))
}
