//! The revocation feed's fairness and subject cut-offs: revoked access tokens remember which client
//! revoked its own (client-credentials) token, so each client gets a bounded share of the feed; and
//! a table of per-subject cut-offs (a new password, a disabled user). Existing rows count as user
//! tokens, which the feed never drops.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, idens, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { RevokedAccessTokens { ClientId } }

table! {
    RevokedSubjects {
        Sub: string.primary_key(), Before: big_integer, ExpiresAt: big_integer
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let client = string_null(RevokedAccessTokens::ClientId);
        add_columns(manager, RevokedAccessTokens::Table, [client]).await?;
        let by_client = RevokedAccessTokens::ClientId.index("idx_revoked_access_tokens_client");
        manager.create_index(by_client).await?;
        manager.create_table(RevokedSubjects::create()).await
    }
}
