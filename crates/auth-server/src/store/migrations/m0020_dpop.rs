//! DPoP (RFC 9449): each client's policy (`allowed` for every existing client, so nothing changes
//! for them), the key thumbprint a refresh-token family is bound to (RFC 9449 §5: refresh tokens
//! of public clients; NULL for every existing family, which stays unbound), and the one an
//! authorization code is bound to (§10 `dpop_jkt`; NULL: unbound).

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Clients { Dpop } }
idens! { TokenFamilies { DpopJkt } }
idens! { AuthorizationCodes { DpopJkt } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let policy = text(Clients::Dpop).default("allowed").to_owned();
        add_columns(manager, Clients::Table, [policy]).await?;
        add_columns(
            manager,
            TokenFamilies::Table,
            [text_null(TokenFamilies::DpopJkt)],
        )
        .await?;
        let code_key = text_null(AuthorizationCodes::DpopJkt);
        add_columns(manager, AuthorizationCodes::Table, [code_key]).await
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
    async fn existing_clients_allow_dpop() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0020_dpop")
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
        assert_eq!(row.dpop, "allowed");
    }
}
