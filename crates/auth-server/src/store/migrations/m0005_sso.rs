//! Single sign-on state: sessions, authorization codes, refresh-token families, revoked access
//! tokens, consents and login throttling.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoSessions {
    Table,
    Id,
    SecretSha256,
    UserId,
    AuthTime,
    Amr,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    CodeSha256,
    ClientId,
    UserId,
    SessionId,
    RedirectUri,
    Scope,
    Resources,
    Nonce,
    CodeChallenge,
    AuthTime,
    Amr,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    FamilyId,
    AccessJti,
    AccessExp,
}

#[derive(DeriveIden)]
enum TokenFamilies {
    Table,
    Id,
    ClientId,
    UserId,
    SessionId,
    Scope,
    Resources,
    AuthTime,
    Amr,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenSha256,
    FamilyId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    AccessJti,
    AccessExp,
}

#[derive(DeriveIden)]
enum RevokedAccessTokens {
    Table,
    Jti,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserId,
    ClientId,
    Scope,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Key,
    Failures,
    WindowStart,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SsoSessions::Table)
                    .col(string(SsoSessions::Id).primary_key())
                    .col(blob(SsoSessions::SecretSha256).unique_key())
                    .col(string(SsoSessions::UserId))
                    .col(big_integer(SsoSessions::AuthTime))
                    .col(string(SsoSessions::Amr))
                    .col(big_integer(SsoSessions::CreatedAt))
                    .col(big_integer(SsoSessions::LastSeenAt))
                    .col(big_integer(SsoSessions::ExpiresAt))
                    .col(big_integer_null(SsoSessions::EndedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCodes::Table)
                    .col(blob(AuthorizationCodes::CodeSha256).primary_key())
                    .col(string(AuthorizationCodes::ClientId))
                    .col(string(AuthorizationCodes::UserId))
                    .col(string(AuthorizationCodes::SessionId))
                    .col(text(AuthorizationCodes::RedirectUri))
                    .col(text(AuthorizationCodes::Scope))
                    .col(text(AuthorizationCodes::Resources))
                    .col(text_null(AuthorizationCodes::Nonce))
                    .col(string_null(AuthorizationCodes::CodeChallenge))
                    .col(big_integer(AuthorizationCodes::AuthTime))
                    .col(string(AuthorizationCodes::Amr))
                    .col(big_integer(AuthorizationCodes::CreatedAt))
                    .col(big_integer(AuthorizationCodes::ExpiresAt))
                    .col(big_integer_null(AuthorizationCodes::UsedAt))
                    .col(string_null(AuthorizationCodes::FamilyId))
                    .col(string_null(AuthorizationCodes::AccessJti))
                    .col(big_integer_null(AuthorizationCodes::AccessExp))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TokenFamilies::Table)
                    .col(string(TokenFamilies::Id).primary_key())
                    .col(string(TokenFamilies::ClientId))
                    .col(string(TokenFamilies::UserId))
                    .col(string_null(TokenFamilies::SessionId))
                    .col(text(TokenFamilies::Scope))
                    .col(text(TokenFamilies::Resources))
                    .col(big_integer(TokenFamilies::AuthTime))
                    .col(string(TokenFamilies::Amr))
                    .col(big_integer(TokenFamilies::CreatedAt))
                    .col(big_integer(TokenFamilies::ExpiresAt))
                    .col(big_integer_null(TokenFamilies::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_token_families_session")
                    .table(TokenFamilies::Table)
                    .col(TokenFamilies::SessionId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(blob(RefreshTokens::TokenSha256).primary_key())
                    .col(string(RefreshTokens::FamilyId))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer(RefreshTokens::ExpiresAt))
                    .col(big_integer_null(RefreshTokens::UsedAt))
                    .col(string_null(RefreshTokens::AccessJti))
                    .col(big_integer_null(RefreshTokens::AccessExp))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedAccessTokens::Table)
                    .col(string(RevokedAccessTokens::Jti).primary_key())
                    .col(big_integer(RevokedAccessTokens::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(string(Consents::UserId))
                    .col(string(Consents::ClientId))
                    .col(text(Consents::Scope))
                    .col(big_integer(Consents::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Consents::UserId)
                            .col(Consents::ClientId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string(LoginFailures::Key).primary_key())
                    .col(integer(LoginFailures::Failures))
                    .col(big_integer(LoginFailures::WindowStart))
                    .col(big_integer(LoginFailures::LockedUntil))
                    .to_owned(),
            )
            .await
    }
}
