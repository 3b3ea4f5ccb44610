//! What the account page shows of a session: the browser's `User-Agent` (cut to a bounded length)
//! and the client address at sign-in. Both are nullable: sessions started before this migration,
//! and sign-ins without the header, have none.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { SsoSessions { UserAgent, ClientAddr } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let agent = string_null(SsoSessions::UserAgent);
        let addr = string_null(SsoSessions::ClientAddr);
        add_columns(manager, SsoSessions::TABLE, [agent, addr]).await
    }
}
