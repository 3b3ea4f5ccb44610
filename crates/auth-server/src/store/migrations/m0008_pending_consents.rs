//! Pending consents: the consent form is bound to a single-use, server-side record of the request
//! and session it was shown for, so a copied form cannot skip what `/authorize` demanded
//! (`prompt=login`, `max_age`). And the introspection permission of clients (RFC 7662 §4), off for
//! every existing client.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, idens, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    PendingConsents {
        TicketSha256: blob.primary_key(), SessionId: string, ClientId: string, RequestSha256: blob,
        CreatedAt: big_integer, ExpiresAt: big_integer, UsedAt: big_integer_null,
    }
}

idens! { Clients { IntrospectAny } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(PendingConsents::create()).await?;
        let by_expiry = PendingConsents::ExpiresAt.index("idx_pending_consents_expires");
        manager.create_index(by_expiry).await?;
        let introspect_any = boolean(Clients::IntrospectAny).default(false).to_owned();
        add_columns(manager, Clients::Table, [introspect_any]).await
    }
}
