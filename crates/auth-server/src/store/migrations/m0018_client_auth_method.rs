//! How each client authenticates at the token, introspection and revocation endpoints (RFC 7591
//! §2 `token_endpoint_auth_method`), and its public keys for `private_key_jwt` (RFC 7523 §2.2):
//! inline (`jwks`, JSON text) or by URL (`jwks_uri`). Existing clients keep their behaviour: a
//! confidential client becomes `client_secret_basic` (which, like `client_secret_post`, accepts the
//! secret in either place, as before), a public client `none`.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{add_columns, idens};

#[derive(DeriveMigrationName)]
pub struct Migration;

idens! { Clients { TokenEndpointAuthMethod, Jwks, JwksUri, Public } }

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text(Clients::TokenEndpointAuthMethod)
                .default("client_secret_basic")
                .to_owned(),
            text_null(Clients::Jwks).to_owned(),
            text_null(Clients::JwksUri).to_owned(),
        ];
        add_columns(manager, Clients::Table, columns).await?;
        let public = Query::update()
            .table(Clients::Table)
            .value(Clients::TokenEndpointAuthMethod, "none")
            .and_where(Expr::col(Clients::Public).eq(true))
            .to_owned();
        manager.exec_stmt(public).await
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
    async fn existing_clients_keep_their_method() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0018_client_auth_method")
            .unwrap();
        Migrator::up(&db, Some(u32::try_from(before).unwrap()))
            .await
            .unwrap();
        db.execute_unprepared(
            "INSERT INTO clients (client_id, name, secret_sha256, enabled, signing_alg, \
             allowed_scopes, default_scopes, allowed_resources, public, created_at, updated_at) \
             VALUES ('conf', 'C', x'00', TRUE, 'ES256', 'a', 'a', '', FALSE, 1, 1), \
             ('pub', 'P', x'', TRUE, 'ES256', 'a', 'a', '', TRUE, 1, 1)",
        )
        .await
        .unwrap();
        Migrator::up(&db, None).await.unwrap();
        let method = |id: &'static str| {
            let db = db.clone();
            async move {
                let row = client::Entity::find_by_id(id.to_owned())
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap();
                (row.token_endpoint_auth_method, row.jwks, row.jwks_uri)
            }
        };
        assert_eq!(
            method("conf").await,
            ("client_secret_basic".to_owned(), None, None)
        );
        assert_eq!(method("pub").await, ("none".to_owned(), None, None));
    }
}
