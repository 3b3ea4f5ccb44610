//! Clients' explicitly allowed web origins for CORS (`allowed_origins`, space-separated, like the
//! redirect URIs). NOT NULL with an empty default, so existing clients keep only the origins of
//! their redirect URIs.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Clients { AllowedOrigins } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [text(Clients::AllowedOrigins).default("").to_owned()];
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
    async fn existing_clients_get_no_extra_origins() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0016_client_origins")
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
        assert_eq!(row.allowed_origins, "");
    }
}
