//! Clients for the authorization-code flow: redirect URIs, post-logout redirect URIs, and the
//! public / first-party / always-refresh flags. Every column is NOT NULL with a default, so rows
//! made before this migration stay valid (confidential, third-party, no redirect URIs).
//!
//! SQLite allows one column per `ALTER TABLE`, so each column is its own statement.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Clients { RedirectUris, PostLogoutRedirectUris, Public, FirstParty, AlwaysRefresh } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text(Clients::RedirectUris).default("").to_owned(),
            text(Clients::PostLogoutRedirectUris).default("").to_owned(),
            boolean(Clients::Public).default(false).to_owned(),
            boolean(Clients::FirstParty).default(false).to_owned(),
            boolean(Clients::AlwaysRefresh).default(false).to_owned(),
        ];
        add_columns(manager, Clients::Table, columns).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, EntityTrait};
    use sea_orm_migration::MigratorTrait;

    use crate::store::Migrator;
    use crate::store::entities::client;

    #[tokio::test]
    async fn rows_made_before_it_stay_valid() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        Migrator::up(&db, Some(3)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO clients (client_id, name, secret_sha256, enabled, signing_alg, \
             allowed_scopes, default_scopes, allowed_resources, created_at, updated_at) \
             VALUES ('old', 'Old', x'00', TRUE, 'ES256', 'a', 'a', '', 1, 1)",
        )
        .await
        .unwrap();
        Migrator::up(&db, None).await.unwrap();
        let row = client::Entity::find_by_id("old".to_owned())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.redirect_uris, "");
        assert_eq!(row.post_logout_redirect_uris, "");
        assert!(!row.public && !row.first_party && !row.always_refresh);
    }
}
