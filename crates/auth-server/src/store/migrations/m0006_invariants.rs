//! What the security invariants need from the schema: a security stamp on users (a sign-in may only
//! start a session under the stamp its password was checked against, so a sign-in racing a new
//! password or a disabled user cannot survive it), and an index for every lookup path, so that the
//! conditional updates and scans that enforce the invariants stay cheap as tables grow.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    SecurityStamp,
}

#[derive(DeriveIden)]
enum SsoSessions {
    Table,
    UserId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    SessionId,
    UserId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum TokenFamilies {
    Table,
    UserId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RevokedAccessTokens {
    Table,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    WindowStart,
}

/// The name of every index this migration creates. A test asserts each exists on both databases.
pub const INDEXES: [&str; 10] = [
    "idx_sso_sessions_user",
    "idx_sso_sessions_expires",
    "idx_authorization_codes_session",
    "idx_authorization_codes_user",
    "idx_authorization_codes_expires",
    "idx_token_families_user",
    "idx_token_families_expires",
    "idx_refresh_tokens_expires",
    "idx_revoked_access_tokens_expires",
    "idx_login_failures_window",
];

fn index(name: &str, table: impl IntoIden, col: impl IntoIden) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(table)
        .col(col)
        .if_not_exists()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(big_integer(Users::SecurityStamp).default(0))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            index(INDEXES[0], SsoSessions::Table, SsoSessions::UserId),
            index(INDEXES[1], SsoSessions::Table, SsoSessions::ExpiresAt),
            index(
                INDEXES[2],
                AuthorizationCodes::Table,
                AuthorizationCodes::SessionId,
            ),
            index(
                INDEXES[3],
                AuthorizationCodes::Table,
                AuthorizationCodes::UserId,
            ),
            index(
                INDEXES[4],
                AuthorizationCodes::Table,
                AuthorizationCodes::ExpiresAt,
            ),
            index(INDEXES[5], TokenFamilies::Table, TokenFamilies::UserId),
            index(INDEXES[6], TokenFamilies::Table, TokenFamilies::ExpiresAt),
            index(INDEXES[7], RefreshTokens::Table, RefreshTokens::ExpiresAt),
            index(
                INDEXES[8],
                RevokedAccessTokens::Table,
                RevokedAccessTokens::ExpiresAt,
            ),
            index(INDEXES[9], LoginFailures::Table, LoginFailures::WindowStart),
        ];
        for i in indexes {
            manager.create_index(i).await?;
        }
        Ok(())
    }
}
