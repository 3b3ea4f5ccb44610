//! sea-orm entities. Timestamps are `i64` Unix seconds, which both SQLite and PostgreSQL store exactly.
//!
//! Each entity converts to and from its domain record ([`crate::domain::records`]); lists are
//! stored as space-separated columns, encoded and decoded here only ([`Words`]).

use crate::domain::values::{Resources, Scopes};

/// A list kept in one space-separated column.
pub trait Words {
    /// The list of a column.
    fn decode(column: &str) -> Self;
    /// The column of a list.
    fn encode(&self) -> String;
}

impl Words for Scopes {
    fn decode(column: &str) -> Self {
        Scopes::from_words(column)
    }
    fn encode(&self) -> String {
        self.to_string()
    }
}

impl Words for Resources {
    fn decode(column: &str) -> Self {
        Resources::from_words(column)
    }
    fn encode(&self) -> String {
        self.to_string()
    }
}

impl Words for Vec<String> {
    fn decode(column: &str) -> Self {
        column.split_whitespace().map(str::to_owned).collect()
    }
    fn encode(&self) -> String {
        self.join(" ")
    }
}

/// Conversions between an entity's `Model` (and `ActiveModel`) and its domain `record`, whose
/// fields have the same names: the `same` fields are moved as they are, the `words` fields go
/// through [`Words`]. The struct literals are exhaustive, so a column added on one side and not
/// the other does not compile.
macro_rules! record_conversions {
    ($record:ty { $($same:ident),* $(,)? } words { $($words:ident),* $(,)? }) => {
        impl From<Model> for $record {
            fn from(m: Model) -> Self {
                Self {
                    $($same: m.$same,)*
                    $($words: super::Words::decode(&m.$words),)*
                }
            }
        }
        impl From<$record> for Model {
            fn from(r: $record) -> Self {
                Self {
                    $($same: r.$same,)*
                    $($words: super::Words::encode(&r.$words),)*
                }
            }
        }
        impl From<$record> for ActiveModel {
            fn from(r: $record) -> Self {
                Model::from(r).into()
            }
        }
    };
}

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
