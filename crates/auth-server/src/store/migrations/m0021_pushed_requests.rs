//! Pushed authorization requests (RFC 9126): the parameters a client pushed to `/par`, stored under
//! the digest of the `request_uri` handed back, bound to that client, until they expire (then
//! purged) or yield a code; and the clients' `require_pushed_authorization_requests` flag (RFC 9126
//! §6, off for every existing client).

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, idens, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    PushedRequests {
        UriSha256: blob.primary_key(), ClientId: string, Params: text, CreatedAt: big_integer,
        ExpiresAt: big_integer, OpenedAt: big_integer_null, UsedAt: big_integer_null,
    }
}

idens! { Clients { RequirePushedAuthorizationRequests } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(PushedRequests::create()).await?;
        let by_expiry = PushedRequests::ExpiresAt.index("idx_pushed_requests_expires");
        manager.create_index(by_expiry).await?;
        let required = boolean(Clients::RequirePushedAuthorizationRequests)
            .default(false)
            .to_owned();
        add_columns(manager, Clients::Table, [required]).await
    }
}
