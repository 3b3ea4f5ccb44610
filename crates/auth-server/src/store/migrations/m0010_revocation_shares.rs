//! The revocation feed's fairness and subject cut-offs: revoked access tokens remember which client
//! revoked its own (client-credentials) token, so each client gets a bounded share of the feed; and
//! a table of per-subject cut-offs (a new password, a disabled user). Existing rows count as user
//! tokens, which the feed never drops.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RevokedAccessTokens {
    Table,
    ClientId,
}

#[derive(DeriveIden)]
enum RevokedSubjects {
    Table,
    Sub,
    Before,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RevokedAccessTokens::Table)
                    .add_column(string_null(RevokedAccessTokens::ClientId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_revoked_access_tokens_client")
                    .table(RevokedAccessTokens::Table)
                    .col(RevokedAccessTokens::ClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedSubjects::Table)
                    .col(string(RevokedSubjects::Sub).primary_key())
                    .col(big_integer(RevokedSubjects::Before))
                    .col(big_integer(RevokedSubjects::ExpiresAt))
                    .to_owned(),
            )
            .await
    }
}
