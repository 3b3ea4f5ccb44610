//! sea-orm entities. Timestamps are `i64` Unix seconds, which both SQLite and PostgreSQL store exactly.
//!
//! Each entity converts to and from its domain record ([`crate::model::records`]); lists are
//! stored as space-separated columns, encoded and decoded here only ([`Words`]).

use crate::model::values::{Resources, Scopes};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::records::{CodeRecord, SessionRecord};

    #[test]
    fn lists_round_trip_through_their_columns() {
        let scopes = Scopes::from_words("openid profile");
        assert_eq!(scopes.encode(), "openid profile");
        assert_eq!(Scopes::decode(&scopes.encode()), scopes);
        let resources = Resources::from_words("https://a urn:b");
        assert_eq!(Resources::decode(&resources.encode()), resources);
        let amr = vec!["pwd".to_owned(), "otp".to_owned()];
        assert_eq!(amr.encode(), "pwd otp");
        assert_eq!(<Vec<String>>::decode(" pwd  otp "), amr);
        assert_eq!(<Vec<String>>::decode(""), Vec::<String>::new());
    }

    #[test]
    fn records_round_trip_through_their_rows() {
        let code = CodeRecord {
            code_sha256: vec![1, 2],
            client_id: "c".into(),
            user_id: "u".into(),
            session_id: "s".into(),
            redirect_uri: "https://app/cb".into(),
            scope: Scopes::from_words("openid email"),
            resources: Resources::from_words("https://api"),
            nonce: Some("n".into()),
            code_challenge: None,
            auth_time: 1,
            amr: vec!["pwd".into()],
            created_at: 2,
            expires_at: 3,
            used_at: None,
            family_id: None,
            access_jti: Some("j".into()),
            access_exp: Some(4),
        };
        let row = authorization_code::Model::from(code.clone());
        assert_eq!(row.scope, "openid email");
        assert_eq!(row.resources, "https://api");
        assert_eq!(row.amr, "pwd");
        assert_eq!(CodeRecord::from(row), code);
        let session = SessionRecord {
            id: "s".into(),
            secret_sha256: vec![3],
            user_id: "u".into(),
            auth_time: 1,
            amr: vec![],
            created_at: 1,
            last_seen_at: 1,
            expires_at: 2,
            ended_at: None,
        };
        let row = sso_session::Model::from(session.clone());
        assert_eq!(row.amr, "");
        assert_eq!(SessionRecord::from(row), session);
    }
}
