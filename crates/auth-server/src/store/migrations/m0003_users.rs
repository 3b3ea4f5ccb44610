//! Users, with an optional password hash.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::table;

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    Users {
        Id: string.primary_key(), Username: string_uniq, Email: string_null, DisplayName: string,
        PasswordHash: text_null, Disabled: boolean, CreatedAt: big_integer, UpdatedAt: big_integer,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(Users::create()).await
    }
}
