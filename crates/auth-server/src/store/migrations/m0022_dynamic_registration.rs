//! Dynamic client registration (RFC 7591, RFC 7592): the operators' initial access tokens
//! (`registration_tokens`: stored as SHA-256 digests with their policy, the scopes and resource
//! indicators their clients may be allowed, and a use count that each registration
//! raises by a conditional update) and, per dynamically registered client, the digest of its
//! registration access token (`client_registrations`, deleted with the client).

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, create_indexes, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    RegistrationTokens {
        Id: string.primary_key(), TokenSha256: blob.unique_key(), AllowedScopes: text,
        AllowedResources: text,
        MaxUses: big_integer_null, Uses: big_integer, ExpiresAt: big_integer_null,
        RevokedAt: big_integer_null, CreatedAt: big_integer,
    }
}

table! {
    ClientRegistrations {
        ClientId: string.primary_key(), AccessTokenSha256: blob.unique_key(),
        RegistrationTokenId: string, AllowedScopes: text, ClientCreatedAt: big_integer,
        CreatedAt: big_integer,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(RegistrationTokens::create()).await?;
        manager.create_table(ClientRegistrations::create()).await?;
        create_indexes(
            manager,
            [ClientRegistrations::RegistrationTokenId.index("idx_client_registrations_token")],
        )
        .await
    }
}
