//! The client repository.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder};

use super::entities::client::{self, ActiveModel, Entity};
use super::{Store, StoreError};
use crate::model::records::Client;

impl Store {
    /// Inserts a new client; [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let active: ActiveModel = client::Model::from(client).into();
        Entity::insert(active)
            .exec_without_returning(self.conn())
            .await?;
        Ok(())
    }

    /// One client by id ([`StoreError::Corrupt`] if its row cannot be read).
    pub async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        self.find_client_row(client_id)
            .await?
            .map(Client::try_from)
            .transpose()
    }

    /// Whether a client has id `client_id`.
    pub async fn client_exists(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.find_client_row(client_id).await?.is_some())
    }

    async fn find_client_row(&self, client_id: &str) -> Result<Option<client::Model>, StoreError> {
        Ok(Entity::find_by_id(client_id.to_owned())
            .one(self.conn())
            .await?)
    }

    /// Every client, by id.
    pub async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Entity::find()
            .order_by_asc(client::Column::ClientId)
            .all(self.conn())
            .await?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    /// Sets `enabled`; returns false if no such client.
    pub async fn set_client_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.update_client(client_id, now, |c| c.enabled = Set(enabled))
            .await
    }

    /// Replaces the secret digest; returns false if no such client.
    pub async fn set_client_secret(
        &self,
        client_id: &str,
        secret_sha256: Vec<u8>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.update_client(client_id, now, |c| c.secret_sha256 = Set(secret_sha256))
            .await
    }

    /// Reads client `client_id`, applies `change` and `updated_at`, and writes it back; false if
    /// no such client.
    async fn update_client(
        &self,
        client_id: &str,
        now: i64,
        change: impl FnOnce(&mut ActiveModel),
    ) -> Result<bool, StoreError> {
        let Some(row) = self.find_client_row(client_id).await? else {
            return Ok(false);
        };
        let mut active: ActiveModel = row.into();
        change(&mut active);
        active.updated_at = Set(now);
        active.update(self.conn()).await?;
        Ok(true)
    }
}
