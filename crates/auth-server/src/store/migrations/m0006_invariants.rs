//! What the security invariants need from the schema: a security stamp on users (a sign-in may only
//! start a session under the stamp its password was checked against, so a sign-in racing a new
//! password or a disabled user cannot survive it), and an index for every lookup path, so that the
//! conditional updates and scans that enforce the invariants stay cheap as tables grow.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, add_columns, create_indexes, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Users { SecurityStamp } }
idens! { SsoSessions { UserId, ExpiresAt } }
idens! { AuthorizationCodes { SessionId, UserId, ExpiresAt } }
idens! { TokenFamilies { UserId, ExpiresAt } }
idens! { RefreshTokens { ExpiresAt } }
idens! { RevokedAccessTokens { ExpiresAt } }
idens! { LoginFailures { WindowStart } }

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let stamp = big_integer(Users::SecurityStamp).default(0).to_owned();
        add_columns(manager, Users::Table, [stamp]).await?;
        let indexes = [
            SsoSessions::UserId.index(INDEXES[0]),
            SsoSessions::ExpiresAt.index(INDEXES[1]),
            AuthorizationCodes::SessionId.index(INDEXES[2]),
            AuthorizationCodes::UserId.index(INDEXES[3]),
            AuthorizationCodes::ExpiresAt.index(INDEXES[4]),
            TokenFamilies::UserId.index(INDEXES[5]),
            TokenFamilies::ExpiresAt.index(INDEXES[6]),
            RefreshTokens::ExpiresAt.index(INDEXES[7]),
            RevokedAccessTokens::ExpiresAt.index(INDEXES[8]),
            LoginFailures::WindowStart.index(INDEXES[9]),
        ];
        // `IF NOT EXISTS`, as this migration has always created them.
        create_indexes(manager, indexes.map(|mut i| i.if_not_exists().to_owned())).await
    }
}
