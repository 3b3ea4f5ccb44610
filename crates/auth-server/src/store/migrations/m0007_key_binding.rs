//! Key binding and emergency revocation (issue 8).
//!
//! - `aad_version`: which associated data sealed `private_key_sealed`. Rows written before this
//!   migration were sealed with version 1 (`kid|alg`), which this migration cannot change: SQL has no
//!   access to the key-encryption key. Version 2 also binds the public key (the RFC 7638 canonical
//!   JSON of the stored public JWK). A server holding the KEK re-seals version-1 rows into version 2
//!   at its next key reload, with a conditional update, and only rows that open and whose `kid` is
//!   the thumbprint of their public key (see `domain::keys::binding`).
//! - `revoked_at`: set by `auth-server keys revoke`; a revoked key never signs or is published again,
//!   and is listed in the revocation feed's `revoked_keys`.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { SigningKeys { AadVersion, RevokedAt } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            integer(SigningKeys::AadVersion).default(1).to_owned(),
            big_integer_null(SigningKeys::RevokedAt),
        ];
        add_columns(manager, SigningKeys::Table, columns).await
    }
}
