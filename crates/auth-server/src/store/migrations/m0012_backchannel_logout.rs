//! OpenID Connect Back-Channel Logout 1.0: the clients' `backchannel_logout_uri` and
//! `backchannel_logout_session_required`; which clients received tokens in each SSO session
//! (`session_clients`, written when a code is redeemed); and the outbox of logout tokens to deliver
//! (`backchannel_outbox`, one row per ended session and client, drained in the background).

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, idens, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Clients { BackchannelLogoutUri, BackchannelLogoutSessionRequired } }

table! {
    SessionClients {
        SessionId: string, ClientId: string, UserId: string, CreatedAt: big_integer,
        ExpiresAt: big_integer,
    }
}

table! {
    BackchannelOutbox {
        Id: string.primary_key(), SessionId: string, ClientId: string, UserId: string, Uri: text,
        CreatedAt: big_integer, Attempts: integer, NextAttemptAt: big_integer,
        ClaimedUntil: big_integer_null, ClaimToken: string_null, DeliveredAt: big_integer_null,
        FailedAt: big_integer_null, LastError: text_null,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let uri = text_null(Clients::BackchannelLogoutUri);
        let mut required = boolean(Clients::BackchannelLogoutSessionRequired);
        required.default(false);
        add_columns(manager, Clients::Table, [uri, required]).await?;
        let mut sessions = SessionClients::create();
        sessions.primary_key(
            Index::create()
                .col(SessionClients::SessionId)
                .col(SessionClients::ClientId),
        );
        manager.create_table(sessions).await?;
        manager
            .create_index(SessionClients::ExpiresAt.index("idx_session_clients_expires"))
            .await?;
        manager
            .create_index(SessionClients::ClientId.index("idx_session_clients_client"))
            .await?;
        manager.create_table(BackchannelOutbox::create()).await?;
        // At most one logout token per ended session and client.
        manager
            .create_index(
                Index::create()
                    .name("uq_backchannel_outbox_session_client")
                    .table(BackchannelOutbox::Table)
                    .col(BackchannelOutbox::SessionId)
                    .col(BackchannelOutbox::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(BackchannelOutbox::NextAttemptAt.index("idx_backchannel_outbox_due"))
            .await?;
        manager
            .create_index(BackchannelOutbox::CreatedAt.index("idx_backchannel_outbox_created"))
            .await
    }
}
