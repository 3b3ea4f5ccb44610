//! A user (resource owner) who signs in at the IdP.

use sea_orm::entity::prelude::*;

/// One row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// The subject identifier (`sub`): random, stable, never reused.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The login name, unique.
    #[sea_orm(unique)]
    pub username: String,
    /// E-mail address, if known.
    pub email: Option<String>,
    /// Name to display.
    pub display_name: String,
    /// argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Disabled users cannot sign in.
    pub disabled: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Changes whenever the user's credentials or standing change (a new password, disabled or
    /// enabled): a sign-in starts a session only under the stamp it checked the password against.
    pub security_stamp: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::UserRecord { id, username, email, display_name, password_hash, disabled, created_at, updated_at, security_stamp } words {  });
