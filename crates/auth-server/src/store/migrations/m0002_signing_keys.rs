//! Signing keys, sealed with the key-encryption key.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::table;

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    SigningKeys {
        Kid: string.primary_key(), Alg: string, Generation: big_integer, PublicJwk: text,
        PrivateKeySealed: blob, KekId: string, PublishedAt: big_integer, ActivatesAt: big_integer,
        RetiresAt: big_integer_null, RemovedAt: big_integer_null,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(SigningKeys::create()).await?;
        // The constraint that decides which replica creates the next key.
        let generation = Index::create()
            .name("signing_keys_alg_generation")
            .table(SigningKeys::Table)
            .col(SigningKeys::Alg)
            .col(SigningKeys::Generation)
            .unique()
            .to_owned();
        manager.create_index(generation).await
    }
}
