use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
    Name,
    SecretSha256,
    Enabled,
    SigningAlg,
    AllowedScopes,
    DefaultScopes,
    AllowedResources,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(string(Clients::ClientId).primary_key())
                    .col(string(Clients::Name))
                    .col(blob(Clients::SecretSha256))
                    .col(boolean(Clients::Enabled))
                    .col(string(Clients::SigningAlg))
                    .col(text(Clients::AllowedScopes))
                    .col(text(Clients::DefaultScopes))
                    .col(text(Clients::AllowedResources))
                    .col(big_integer(Clients::CreatedAt))
                    .col(big_integer(Clients::UpdatedAt))
                    .to_owned(),
            )
            .await
    }
}
