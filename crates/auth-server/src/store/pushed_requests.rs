//! Pushed authorization requests (RFC 9126): stored at `/par`, opened by the first `/authorize`
//! that brings their `request_uri`, and used once, by the code they yield (one conditional update).

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::pushed_request::{ActiveModel, Column, Entity};
use super::{Store, StoreError};

/// A pushed request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRecord {
    /// SHA-256 of the `request_uri`.
    pub uri_sha256: Vec<u8>,
    /// The client that pushed it.
    pub client_id: String,
    /// The parameters (JSON, encoded and decoded by the domain).
    pub params: String,
    /// Pushed at.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// First brought to `/authorize` at.
    pub opened_at: Option<i64>,
    /// Yielded its code at.
    pub used_at: Option<i64>,
}

impl Store {
    /// Stores a pushed request.
    pub async fn insert_pushed_request(&self, r: PushedRecord) -> Result<(), StoreError> {
        Entity::insert(ActiveModel {
            uri_sha256: Set(r.uri_sha256),
            client_id: Set(r.client_id),
            params: Set(r.params),
            created_at: Set(r.created_at),
            expires_at: Set(r.expires_at),
            opened_at: Set(r.opened_at),
            used_at: Set(r.used_at),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }

    /// The pushed request `uri_sha256` names, if it is stored. Opened first if it was not yet and
    /// has not expired: its expiry becomes `window_end` (one conditional update, so only the first
    /// opening counts; a later one never extends it).
    pub async fn open_pushed_request(
        &self,
        uri_sha256: &[u8],
        now: i64,
        window_end: i64,
    ) -> Result<Option<PushedRecord>, StoreError> {
        Entity::update_many()
            .col_expr(Column::OpenedAt, Expr::value(now))
            .col_expr(Column::ExpiresAt, Expr::value(window_end))
            .filter(Column::UriSha256.eq(uri_sha256.to_vec()))
            .filter(Column::OpenedAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .exec(self.conn())
            .await?;
        let row = Entity::find_by_id(uri_sha256.to_vec())
            .one(self.conn())
            .await?;
        Ok(row.map(|m| PushedRecord {
            uri_sha256: m.uri_sha256,
            client_id: m.client_id,
            params: m.params,
            created_at: m.created_at,
            expires_at: m.expires_at,
            opened_at: m.opened_at,
            used_at: m.used_at,
        }))
    }

    /// Marks the pushed request used by `client_id`: true for the one caller that did (it
    /// was unused and unexpired), so a `request_uri` yields at most one code.
    pub async fn use_pushed_request(
        &self,
        uri_sha256: &[u8],
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = Entity::update_many()
            .col_expr(Column::UsedAt, Expr::value(now))
            .filter(Column::UriSha256.eq(uri_sha256.to_vec()))
            .filter(Column::ClientId.eq(client_id))
            .filter(Column::UsedAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Deletes pushed requests that expired before `before`.
    pub async fn purge_pushed_requests(&self, before: i64) -> Result<u64, StoreError> {
        let n = Entity::delete_many()
            .filter(Column::ExpiresAt.lt(before))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n)
    }
}
