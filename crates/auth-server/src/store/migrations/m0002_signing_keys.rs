use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    Generation,
    PublicJwk,
    PrivateKeySealed,
    KekId,
    PublishedAt,
    ActivatesAt,
    RetiresAt,
    RemovedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(string(SigningKeys::Alg))
                    .col(big_integer(SigningKeys::Generation))
                    .col(text(SigningKeys::PublicJwk))
                    .col(blob(SigningKeys::PrivateKeySealed))
                    .col(string(SigningKeys::KekId))
                    .col(big_integer(SigningKeys::PublishedAt))
                    .col(big_integer(SigningKeys::ActivatesAt))
                    .col(big_integer_null(SigningKeys::RetiresAt))
                    .col(big_integer_null(SigningKeys::RemovedAt))
                    .to_owned(),
            )
            .await?;
        // The constraint that decides which replica creates the next key.
        manager
            .create_index(
                Index::create()
                    .name("signing_keys_alg_generation")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::Alg)
                    .col(SigningKeys::Generation)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
