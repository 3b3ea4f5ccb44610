//! Signing keys, sealed with the key-encryption key.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::table_migration;

table_migration! {
    SigningKeys {
        Kid: string.primary_key(), Alg: string, Generation: big_integer, PublicJwk: text,
        PrivateKeySealed: blob, KekId: string, PublishedAt: big_integer, ActivatesAt: big_integer,
        RetiresAt: big_integer_null, RemovedAt: big_integer_null,
    }
    indexes: [
        // The constraint that decides which replica creates the next key.
        Index::create()
            .name("signing_keys_alg_generation")
            .table(SigningKeys::Table)
            .col(SigningKeys::Alg)
            .col(SigningKeys::Generation)
            .unique()
            .to_owned(),
    ]
}
