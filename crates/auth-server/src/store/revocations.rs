//! Repositories of revocation records: revoked access tokens (by `jti`, with the client whose own
//! token it was) and per-subject cut-offs, and the revocation feed's queries over them.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use super::entities::{revoked_access_token, revoked_subject};
use super::{Store, StoreError};

impl Store {
    /// Records a revoked access token until its expiry. `own_token_of` names the client for a
    /// client's own (client-credentials) token, `None` for a user's token.
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        exp: i64,
        own_token_of: Option<&str>,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        let done = insert_revoked_jti_in(&txn, jti, exp, own_token_of).await;
        let done = match done {
            Ok(()) => txn.commit().await.map_err(StoreError::from),
            Err(e) => Err(e),
        };
        self.revocations_changed();
        done
    }

    /// Users' access tokens revoked before their expiry whose `exp` is after `since` (`jti`,
    /// `exp`), in `jti` order, at most `limit` of them: the revocation feed's main part.
    pub async fn live_revoked_user_tokens(
        &self,
        since: i64,
        limit: u64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_access_token::Entity::find()
            .filter(revoked_access_token::Column::ExpiresAt.gt(since))
            .filter(revoked_access_token::Column::ClientId.is_null())
            .order_by_asc(revoked_access_token::Column::Jti)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.jti, r.expires_at))
            .collect())
    }

    /// Clients' own tokens revoked before their expiry whose `exp` is after `since`: of each
    /// client, the `share` that expire last (`jti`, `exp`). Also whether any client had more.
    pub async fn live_revoked_client_tokens(
        &self,
        since: i64,
        share: u64,
    ) -> Result<(Vec<(String, i64)>, bool), StoreError> {
        let live = || {
            revoked_access_token::Entity::find()
                .filter(revoked_access_token::Column::ExpiresAt.gt(since))
                .filter(revoked_access_token::Column::ClientId.is_not_null())
        };
        let counts: Vec<(Option<String>, i64)> = live()
            .select_only()
            .column(revoked_access_token::Column::ClientId)
            .column_as(revoked_access_token::Column::Jti.count(), "n")
            .group_by(revoked_access_token::Column::ClientId)
            .into_tuple()
            .all(self.conn())
            .await?;
        let over: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| u64::try_from(*n).unwrap_or(0) > share)
            .filter_map(|(c, _)| c)
            .collect();
        let mut rows = live()
            .filter(revoked_access_token::Column::ClientId.is_not_in(over.clone()))
            .all(self.conn())
            .await?;
        for client in &over {
            rows.extend(
                live()
                    .filter(revoked_access_token::Column::ClientId.eq(client.as_str()))
                    .order_by_desc(revoked_access_token::Column::ExpiresAt)
                    .limit(share)
                    .all(self.conn())
                    .await?,
            );
        }
        let mut out: Vec<(String, i64)> = rows.into_iter().map(|r| (r.jti, r.expires_at)).collect();
        out.sort();
        Ok((out, !over.is_empty()))
    }

    /// The per-subject cut-offs still in force after `since` (`sub`, `before`), in `sub` order.
    pub async fn live_revoked_subjects(
        &self,
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(revoked_subject::Entity::find()
            .filter(revoked_subject::Column::ExpiresAt.gt(since))
            .order_by_asc(revoked_subject::Column::Sub)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|r| (r.sub, r.before))
            .collect())
    }

    /// Whether an access token was revoked.
    pub async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(revoked_access_token::Entity::find_by_id(jti.to_owned())
            .one(self.conn())
            .await?
            .is_some())
    }
}

/// Records, on `db`, the revocation of access token `jti` until `exp`, and of every token
/// exchanged from it (RFC 8693; see [`super::token_exchanges`]).
pub(super) async fn insert_revoked_jti_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
    own_token_of: Option<&str>,
) -> Result<(), StoreError> {
    insert_revoked_row_in(db, jti, exp, own_token_of).await?;
    super::token_exchanges::revoke_derived_in(db, jti, exp).await
}

/// Records, on `db`, the revocation of access token `jti` alone.
pub(super) async fn insert_revoked_row_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
    own_token_of: Option<&str>,
) -> Result<(), StoreError> {
    revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
        jti: Set(jti.to_owned()),
        expires_at: Set(exp),
        client_id: Set(own_token_of.map(str::to_owned)),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}
