//! Client secret rotation with overlap and per-client rate limits: the secret a rotation replaced
//! (`previous_secret_sha256`) with the time it stops being accepted (`previous_secret_expires_at`),
//! both NULL when there is none; and the client's own rate limit (`rate_limit`, as written by
//! `RateLimit::to_string`, NULL for the configured default). Existing clients get none of either.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Clients { PreviousSecretSha256, PreviousSecretExpiresAt, RateLimit } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            blob_null(Clients::PreviousSecretSha256).to_owned(),
            big_integer_null(Clients::PreviousSecretExpiresAt).to_owned(),
            string_null(Clients::RateLimit).to_owned(),
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
    async fn existing_clients_get_no_previous_secret_and_the_default_limit() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0019_client_secret_rotation")
            .unwrap();
        Migrator::up(&db, Some(u32::try_from(before).unwrap()))
            .await
            .unwrap();
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
        assert_eq!(row.previous_secret_sha256, None);
        assert_eq!(row.previous_secret_expires_at, None);
        assert_eq!(row.rate_limit, None);
    }
}
