//! The repository of dynamic client registration (RFC 7591, RFC 7592): initial access tokens and
//! client registrations. A registration spends one use of its initial access token by a conditional
//! update in the transaction that inserts the client, so a token with `max_uses` N registers
//! exactly N clients however many replicas race, and a failed insert spends nothing.

use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use super::audit::{insert_audit_in, update_one_audited};
use super::entities::client;
use super::entities::client_registration::{self as reg, Entity as Registrations};
use super::entities::registration_token::{self as tok, Entity as Tokens};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::records::Client;
use crate::model::registration::{ClientRegistration, RegistrationToken};

/// What [`Store::register_client_with_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// The client is registered and one use was spent.
    Done,
    /// The initial access token is unknown, revoked, expired or used up: nothing written.
    TokenUnusable,
}

impl Store {
    /// Inserts a new initial access token with its `audit` event.
    pub async fn insert_registration_token(
        &self,
        token: &RegistrationToken,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        let row: tok::ActiveModel = tok::Model::from(token).into();
        Tokens::insert(row).exec_without_returning(&txn).await?;
        insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every initial access token, oldest first.
    pub async fn registration_tokens(&self) -> Result<Vec<RegistrationToken>, StoreError> {
        Ok(Tokens::find()
            .order_by_asc(tok::Column::CreatedAt)
            .order_by_asc(tok::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(RegistrationToken::from)
            .collect())
    }

    /// The initial access token `id`.
    pub async fn registration_token(
        &self,
        id: &str,
    ) -> Result<Option<RegistrationToken>, StoreError> {
        Ok(Tokens::find_by_id(id.to_owned())
            .one(self.conn())
            .await?
            .map(RegistrationToken::from))
    }

    /// The initial access token whose digest is `digest`.
    pub async fn registration_token_by_digest(
        &self,
        digest: &[u8],
    ) -> Result<Option<RegistrationToken>, StoreError> {
        Ok(Tokens::find()
            .filter(tok::Column::TokenSha256.eq(digest.to_vec()))
            .one(self.conn())
            .await?
            .map(RegistrationToken::from))
    }

    /// Revokes initial access token `id` if it is not revoked yet, with the `audit` event in the
    /// same transaction; false (nothing written) if it already was, or there is no such token.
    pub async fn revoke_registration_token(
        &self,
        id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let update = Tokens::update_many()
            .col_expr(tok::Column::RevokedAt, Expr::value(now))
            .filter(tok::Column::Id.eq(id))
            .filter(tok::Column::RevokedAt.is_null());
        update_one_audited(self.conn(), update, audit).await
    }

    /// Registers `client` with initial access token `token_id` at `now`, in one transaction: one
    /// use of the token is spent by a conditional update (not revoked, not expired at `now`, fewer
    /// uses than `max_uses`), then the client, its `registration` and the `audit` event are
    /// inserted. [`Registered::TokenUnusable`] (nothing written) if the token allowed no more use;
    /// [`StoreError::Conflict`] (nothing written, no use spent) if the client id is taken.
    pub async fn register_client_with_token(
        &self,
        token_id: &str,
        now: i64,
        client: &Client,
        registration: &ClientRegistration,
        audit: &AuditRecord,
    ) -> Result<Registered, StoreError> {
        let txn = self.conn().begin().await?;
        // The write comes first, so SQLite takes its write lock before reading anything and
        // PostgreSQL's row lock makes a concurrent spender re-check the use count after this commit.
        let spent = Tokens::update_many()
            .col_expr(tok::Column::Uses, Expr::col(tok::Column::Uses).add(1))
            .filter(tok::Column::Id.eq(token_id))
            .filter(tok::Column::RevokedAt.is_null())
            .filter(
                Condition::any()
                    .add(tok::Column::ExpiresAt.is_null())
                    .add(tok::Column::ExpiresAt.gt(now)),
            )
            .filter(
                Condition::any()
                    .add(tok::Column::MaxUses.is_null())
                    .add(Expr::col(tok::Column::Uses).lt(Expr::col(tok::Column::MaxUses))),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        if spent != 1 {
            txn.rollback().await?;
            return Ok(Registered::TokenUnusable);
        }
        let row: client::ActiveModel = client::Model::from(client).into();
        client::Entity::insert(row)
            .exec_without_returning(&txn)
            .await?;
        let row: reg::ActiveModel = reg::Model::from(registration).into();
        Registrations::insert(row)
            .exec_without_returning(&txn)
            .await?;
        insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        Ok(Registered::Done)
    }

    /// The client registration whose registration access token has digest `digest`.
    pub async fn client_registration_by_digest(
        &self,
        digest: &[u8],
    ) -> Result<Option<ClientRegistration>, StoreError> {
        Ok(Registrations::find()
            .filter(reg::Column::AccessTokenSha256.eq(digest.to_vec()))
            .one(self.conn())
            .await?
            .map(ClientRegistration::from))
    }

    /// The registration of client `client_id`, if it was registered dynamically.
    pub async fn client_registration(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientRegistration>, StoreError> {
        Ok(Registrations::find_by_id(client_id.to_owned())
            .one(self.conn())
            .await?
            .map(ClientRegistration::from))
    }
}

/// Deletes the registration of client `client_id` (if any) on `conn`: called in the transaction
/// that deletes the client, so its registration access token dies with it.
pub(crate) async fn delete_client_registration_in(
    conn: &impl ConnectionTrait,
    client_id: &str,
) -> Result<(), StoreError> {
    Registrations::delete_many()
        .filter(reg::Column::ClientId.eq(client_id))
        .exec(conn)
        .await?;
    Ok(())
}
