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

/// Declares an entity's `Model` from its record's field list (`model::records::with_*_fields!`),
/// with the conversions between the two: a field written `name: Type as Column` is a list kept as
/// words in a `Column` (through [`Words`]), any other moves as it is; `[...]` before a field are its
/// `#[sea_orm(...)]` column attributes. The struct literals are exhaustive, so both sides always
/// have the same fields.
macro_rules! entity_model {
    ($(#[doc = $doc:literal])* $table:literal $record:ident { $($fields:tt)* }) => {
        entity_model! { @munch [$(#[doc = $doc])* $table $record] [] $($fields)* }
    };
    (
        @munch $head:tt [$($done:tt)*]
        $(#[doc = $field_doc:literal])* $([$($column_attr:tt)*])?
        $field:ident: $ty:ty as $column_ty:ty $(, $($rest:tt)*)?
    ) => {
        entity_model! {
            @munch $head [$($done)* {
                [$(#[doc = $field_doc])* $(#[sea_orm($($column_attr)*)])?] $field: $column_ty, words
            }] $($($rest)*)?
        }
    };
    (
        @munch $head:tt [$($done:tt)*]
        $(#[doc = $field_doc:literal])* $([$($column_attr:tt)*])?
        $field:ident: $ty:ty $(, $($rest:tt)*)?
    ) => {
        entity_model! {
            @munch $head [$($done)* {
                [$(#[doc = $field_doc])* $(#[sea_orm($($column_attr)*)])?] $field: $ty, same
            }] $($($rest)*)?
        }
    };
    (
        @munch [$(#[doc = $doc:literal])* $table:literal $record:ident]
        [$({ [$($attr:tt)*] $field:ident: $column_ty:ty, $kind:ident })*]
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            $($($attr)* pub $field: $column_ty,)*
        }

        impl From<Model> for crate::model::records::$record {
            fn from(m: Model) -> Self {
                Self {
                    $($field: entity_model!(@decode $kind m.$field),)*
                }
            }
        }

        impl From<crate::model::records::$record> for Model {
            fn from(r: crate::model::records::$record) -> Self {
                Self {
                    $($field: entity_model!(@encode $kind r.$field),)*
                }
            }
        }

        impl From<crate::model::records::$record> for ActiveModel {
            fn from(r: crate::model::records::$record) -> Self {
                Model::from(r).into()
            }
        }
    };
    (@decode same $value:expr) => { $value };
    (@decode words $value:expr) => { super::Words::decode(&$value) };
    (@encode same $value:expr) => { $value };
    (@encode words $value:expr) => { super::Words::encode(&$value) };
}

pub mod audit_event;
pub mod authorization_code;
pub mod backchannel_outbox;
pub mod client;
pub mod client_registration;
pub mod consent;
pub mod exchanged_token;
pub mod login_failure;
pub mod mfa_pending;
pub mod mfa_recovery_code;
pub mod mfa_required_user;
pub mod mfa_totp;
pub mod pending_consent;
pub mod pushed_request;
pub mod refresh_token;
pub mod registration_token;
pub mod revoked_access_token;
pub mod revoked_subject;
pub mod seen_id;
pub mod session_client;
pub mod signing_key;
pub mod sso_session;
pub mod token_exchange_policy;
pub mod token_exchange_subject;
pub mod token_family;
pub mod user;
pub mod webauthn_ceremony;
pub mod webauthn_credential;

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
            dpop_jkt: None,
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
            user_agent: Some("agent".into()),
            client_addr: None,
        };
        let row = sso_session::Model::from(session.clone());
        assert_eq!(row.amr, "");
        assert_eq!(SessionRecord::from(row), session);
    }
}
