//! Pending consents: the consent form is bound to a single-use, server-side record of the request
//! and session it was shown for, so a copied form cannot skip what `/authorize` demanded
//! (`prompt=login`, `max_age`). And the introspection permission of clients (RFC 7662 §4), off for
//! every existing client.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PendingConsents {
    Table,
    TicketSha256,
    SessionId,
    ClientId,
    RequestSha256,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    IntrospectAny,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PendingConsents::Table)
                    .col(blob(PendingConsents::TicketSha256).primary_key())
                    .col(string(PendingConsents::SessionId))
                    .col(string(PendingConsents::ClientId))
                    .col(blob(PendingConsents::RequestSha256))
                    .col(big_integer(PendingConsents::CreatedAt))
                    .col(big_integer(PendingConsents::ExpiresAt))
                    .col(big_integer_null(PendingConsents::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pending_consents_expires")
                    .table(PendingConsents::Table)
                    .col(PendingConsents::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(boolean(Clients::IntrospectAny).default(false))
                    .to_owned(),
            )
            .await
    }
}
