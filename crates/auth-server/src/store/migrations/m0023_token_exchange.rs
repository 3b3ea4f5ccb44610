//! Token exchange (RFC 8693): each client's exchange policy (no row: the client may not exchange,
//! so nothing changes for existing clients), the tokens issued by an exchange with the subject
//! token each came from (so that revoking a subject token revokes what was exchanged from it),
//! and one row per subject token that an exchange or a revocation touched: the row both take,
//! which orders an exchange and a revocation of the same subject token.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    TokenExchangePolicies {
        ClientId: string.primary_key(), SubjectAudiences: text, Audiences: text, Scopes: text,
        Impersonation: boolean, UpdatedAt: big_integer,
    }
}

table! {
    TokenExchangeSubjects {
        SubjectJti: string.primary_key(), Revoked: boolean, ExpiresAt: big_integer,
    }
}

table! {
    ExchangedTokens {
        Jti: string.primary_key(), SubjectJti: string, ClientId: string, ExpiresAt: big_integer,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(TokenExchangePolicies::create())
            .await?;
        manager
            .create_table(TokenExchangeSubjects::create())
            .await?;
        manager.create_table(ExchangedTokens::create()).await?;
        for index in [
            TokenExchangeSubjects::ExpiresAt.index("idx_token_exchange_subjects_expires"),
            ExchangedTokens::SubjectJti.index("idx_exchanged_tokens_subject"),
            ExchangedTokens::ClientId.index("idx_exchanged_tokens_client"),
            ExchangedTokens::ExpiresAt.index("idx_exchanged_tokens_expires"),
        ] {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}
