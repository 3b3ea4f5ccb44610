//! WebAuthn: registered credentials (security keys and passkeys) and the server-side state of the
//! ceremonies in progress (a challenge each: short-lived, single-use, bound to a session or browser).

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, create_indexes, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    WebauthnCredentials {
        Id: string.primary_key(), UserId: string, CredentialId: string.unique_key(), Name: string,
        Passkey: text, Counter: big_integer, BackupEligible: boolean, BackupState: boolean,
        CreatedAt: big_integer, LastUsedAt: big_integer_null,
    }
}

table! {
    WebauthnCeremonies {
        Id: string.primary_key(), Kind: string, BindingSha256: blob, UserId: string_null,
        State: text, CreatedAt: big_integer, ExpiresAt: big_integer,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(WebauthnCredentials::create()).await?;
        manager.create_table(WebauthnCeremonies::create()).await?;
        create_indexes(
            manager,
            [
                WebauthnCredentials::UserId.index("idx_webauthn_credentials_user"),
                WebauthnCeremonies::ExpiresAt.index("idx_webauthn_ceremonies_expires"),
            ],
        )
        .await
    }
}
