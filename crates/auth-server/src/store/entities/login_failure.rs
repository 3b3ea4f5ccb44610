//! Failed sign-ins counted per account or per client address, for throttling.

use sea_orm::entity::prelude::*;

/// One row of `login_failures`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    /// `user:<username>` or `addr:<ip>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Failures in the current window.
    pub failures: i32,
    /// Start of the window.
    pub window_start: i64,
    /// Sign-in refused until this time.
    pub locked_until: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::ThrottleRecord { key, failures, window_start, locked_until } words {  });
