//! OAuth clients of the client-credentials grant.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::table;

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    Clients {
        ClientId: string.primary_key(), Name: string, SecretSha256: blob, Enabled: boolean,
        SigningAlg: string, AllowedScopes: text, DefaultScopes: text, AllowedResources: text,
        CreatedAt: big_integer, UpdatedAt: big_integer,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(Clients::create()).await
    }
}
