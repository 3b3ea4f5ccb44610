//! sea-orm entities. Timestamps are `i64` Unix seconds, which both SQLite and PostgreSQL store exactly.

pub mod client;
pub mod signing_key;
pub mod user;
