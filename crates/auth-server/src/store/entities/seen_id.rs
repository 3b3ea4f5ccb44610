//! An identifier that may be used once, remembered until it expires (see
//! [`Store::remember_once`](crate::store::Store::remember_once)).

use sea_orm::entity::prelude::*;

/// One row of `seen_ids`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "seen_ids")]
pub struct Model {
    /// What the identifier belongs to (e.g. `dpop`, `client_assertion:<client id>`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    /// SHA-256 of the identifier.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_sha256: Vec<u8>,
    /// After this, the identifier may be seen again (its token is no longer accepted anyway).
    pub expires_at: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
