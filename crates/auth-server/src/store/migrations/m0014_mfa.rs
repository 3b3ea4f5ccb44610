//! Multi-factor sign-in: TOTP factors (secret sealed with the KEK), hashed one-time recovery codes,
//! the pending sign-ins waiting for their second factor, the users an administrator requires MFA
//! of, and the clients' `require_mfa` flag (off for every existing client).

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, idens, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    MfaTotp {
        UserId: string.primary_key(), EnrollmentId: string, SecretSealed: blob, KekId: string,
        CreatedAt: big_integer, ConfirmedAt: big_integer_null, LastStep: big_integer_null,
    }
}

table! {
    MfaRecoveryCodes {
        CodeSha256: blob.primary_key(), UserId: string, CreatedAt: big_integer,
        UsedAt: big_integer_null,
    }
}

table! {
    MfaPending {
        TicketSha256: blob.primary_key(), UserId: string, ClientId: string, RequestSha256: blob,
        BrowserSha256: blob, SessionId: string_null, SecurityStamp: big_integer, Amr: string,
        CreatedAt: big_integer, ExpiresAt: big_integer, UsedAt: big_integer_null,
    }
}

table! {
    MfaRequiredUsers { UserId: string.primary_key(), CreatedAt: big_integer }
}

idens! { Clients { RequireMfa } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(MfaTotp::create()).await?;
        manager.create_table(MfaRecoveryCodes::create()).await?;
        let by_user = MfaRecoveryCodes::UserId.index("idx_mfa_recovery_codes_user");
        manager.create_index(by_user).await?;
        manager.create_table(MfaPending::create()).await?;
        let by_expiry = MfaPending::ExpiresAt.index("idx_mfa_pending_expires");
        manager.create_index(by_expiry).await?;
        manager.create_table(MfaRequiredUsers::create()).await?;
        let require_mfa = boolean(Clients::RequireMfa).default(false).to_owned();
        add_columns(manager, Clients::Table, [require_mfa]).await
    }
}
