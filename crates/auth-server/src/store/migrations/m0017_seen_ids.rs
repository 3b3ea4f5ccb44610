//! Identifiers that may be used once (a client assertion's `jti`, a DPoP proof's `jti`): each is
//! remembered, per scope, until it expires, so a replay is refused by every replica
//! ([`Store::remember_once`](crate::store::Store::remember_once)). The identifier is stored as its
//! SHA-256, so a row's size is fixed whatever the sender chose.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! { SeenIds { Scope: string, IdSha256: blob, ExpiresAt: big_integer } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut seen = SeenIds::create();
        // The key is what makes a second insert of one (scope, id) fail on every backend.
        seen.primary_key(Index::create().col(SeenIds::Scope).col(SeenIds::IdSha256));
        manager.create_table(seen).await?;
        manager
            .create_index(SeenIds::ExpiresAt.index("idx_seen_ids_expires"))
            .await
    }
}
