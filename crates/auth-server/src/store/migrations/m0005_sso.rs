//! Single sign-on state: sessions, authorization codes, refresh-token families, revoked access
//! tokens, consents and login throttling.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

table! {
    SsoSessions {
        Id: string.primary_key(), SecretSha256: blob.unique_key(), UserId: string, AuthTime:
        big_integer, Amr: string, CreatedAt: big_integer, LastSeenAt: big_integer, ExpiresAt:
        big_integer, EndedAt: big_integer_null,
    }
}

table! {
    AuthorizationCodes {
        CodeSha256: blob.primary_key(), ClientId: string, UserId: string, SessionId: string,
        RedirectUri: text, Scope: text, Resources: text, Nonce: text_null, CodeChallenge:
        string_null, AuthTime: big_integer, Amr: string, CreatedAt: big_integer, ExpiresAt:
        big_integer, UsedAt: big_integer_null, FamilyId: string_null, AccessJti: string_null,
        AccessExp: big_integer_null,
    }
}

table! {
    TokenFamilies {
        Id: string.primary_key(), ClientId: string, UserId: string, SessionId: string_null, Scope:
        text, Resources: text, AuthTime: big_integer, Amr: string, CreatedAt: big_integer,
        ExpiresAt: big_integer, RevokedAt: big_integer_null,
    }
}

table! {
    RefreshTokens {
        TokenSha256: blob.primary_key(), FamilyId: string, CreatedAt: big_integer, ExpiresAt:
        big_integer, UsedAt: big_integer_null, AccessJti: string_null, AccessExp: big_integer_null,
    }
}

table! { RevokedAccessTokens { Jti: string.primary_key(), ExpiresAt: big_integer } }

table! { Consents { UserId: string, ClientId: string, Scope: text, UpdatedAt: big_integer } }

table! {
    LoginFailures {
        Key: string.primary_key(), Failures: integer, WindowStart: big_integer, LockedUntil:
        big_integer,
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(SsoSessions::create()).await?;
        manager.create_table(AuthorizationCodes::create()).await?;
        manager.create_table(TokenFamilies::create()).await?;
        let by_session = TokenFamilies::SessionId.index("idx_token_families_session");
        manager.create_index(by_session).await?;
        manager.create_table(RefreshTokens::create()).await?;
        let by_family = RefreshTokens::FamilyId.index("idx_refresh_tokens_family");
        manager.create_index(by_family).await?;
        manager.create_table(RevokedAccessTokens::create()).await?;
        let consents = Consents::create()
            .primary_key(
                Index::create()
                    .col(Consents::UserId)
                    .col(Consents::ClientId),
            )
            .to_owned();
        manager.create_table(consents).await?;
        manager.create_table(LoginFailures::create()).await
    }
}
