//! The client repository. Every administrative change is conditional (on the row as it was
//! read, or on the flag it flips) and writes its audit event in its own transaction, so two
//! administrators racing on one client never both apply a change, and the trail has an event
//! exactly for each change made.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::audit::{insert_audit_in, update_one_audited};
use super::entities::client::{self, ActiveModel, Column, Entity};
use super::entities::{authorization_code, consent, pending_consent, refresh_token, token_family};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::records::Client;

impl Store {
    /// Inserts a new client with its `audit` event (if any); [`StoreError::Conflict`] if the id is
    /// taken (and nothing is written).
    pub async fn insert_client(
        &self,
        client: &Client,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        let active: ActiveModel = client::Model::from(client).into();
        let txn = self.conn().begin().await?;
        Entity::insert(active).exec_without_returning(&txn).await?;
        if let Some(audit) = audit {
            insert_audit_in(&txn, audit).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// At most `limit` clients with ids after `after`, by id (keyset paging).
    pub async fn clients_page(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Client>, StoreError> {
        let mut q = Entity::find().order_by_asc(Column::ClientId).limit(limit);
        if let Some(a) = after {
            q = q.filter(Column::ClientId.gt(a));
        }
        q.all(self.conn())
            .await?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    /// Replaces client `old` by `new` (same id) only if its row is still exactly `old`, with the
    /// `audit` event in the same transaction; false (nothing written) if the row changed or is gone.
    pub async fn replace_client_if(
        &self,
        old: &Client,
        new: &Client,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let (o, n) = (client::Model::from(old), client::Model::from(new));
        let update = Entity::update_many()
            .col_expr(Column::Name, Expr::value(n.name))
            .col_expr(Column::SecretSha256, Expr::value(n.secret_sha256))
            .col_expr(Column::Enabled, Expr::value(n.enabled))
            .col_expr(Column::SigningAlg, Expr::value(n.signing_alg))
            .col_expr(Column::AllowedScopes, Expr::value(n.allowed_scopes))
            .col_expr(Column::DefaultScopes, Expr::value(n.default_scopes))
            .col_expr(Column::AllowedResources, Expr::value(n.allowed_resources))
            .col_expr(Column::RedirectUris, Expr::value(n.redirect_uris))
            .col_expr(
                Column::PostLogoutRedirectUris,
                Expr::value(n.post_logout_redirect_uris),
            )
            .col_expr(Column::AllowedOrigins, Expr::value(n.allowed_origins))
            .col_expr(Column::FirstParty, Expr::value(n.first_party))
            .col_expr(Column::AlwaysRefresh, Expr::value(n.always_refresh))
            .col_expr(Column::IntrospectAny, Expr::value(n.introspect_any))
            .col_expr(
                Column::BackchannelLogoutUri,
                Expr::value(n.backchannel_logout_uri),
            )
            .col_expr(
                Column::BackchannelLogoutSessionRequired,
                Expr::value(n.backchannel_logout_session_required),
            )
            .col_expr(Column::RequireMfa, Expr::value(n.require_mfa))
            .col_expr(Column::RateLimit, Expr::value(n.rate_limit))
            .col_expr(
                Column::PreviousSecretSha256,
                Expr::value(n.previous_secret_sha256),
            )
            .col_expr(
                Column::PreviousSecretExpiresAt,
                Expr::value(n.previous_secret_expires_at),
            )
            .col_expr(
                Column::TokenEndpointAuthMethod,
                Expr::value(n.token_endpoint_auth_method),
            )
            .col_expr(Column::Jwks, Expr::value(n.jwks))
            .col_expr(Column::JwksUri, Expr::value(n.jwks_uri))
            .col_expr(Column::Dpop, Expr::value(n.dpop))
            .col_expr(
                Column::RequirePushedAuthorizationRequests,
                Expr::value(n.require_pushed_authorization_requests),
            )
            .col_expr(Column::UpdatedAt, Expr::value(n.updated_at))
            .filter(Column::ClientId.eq(o.client_id))
            .filter(Column::Name.eq(o.name))
            .filter(Column::SecretSha256.eq(o.secret_sha256))
            .filter(Column::Enabled.eq(o.enabled))
            .filter(Column::SigningAlg.eq(o.signing_alg))
            .filter(Column::AllowedScopes.eq(o.allowed_scopes))
            .filter(Column::DefaultScopes.eq(o.default_scopes))
            .filter(Column::AllowedResources.eq(o.allowed_resources))
            .filter(Column::RedirectUris.eq(o.redirect_uris))
            .filter(Column::PostLogoutRedirectUris.eq(o.post_logout_redirect_uris))
            .filter(Column::AllowedOrigins.eq(o.allowed_origins))
            .filter(Column::FirstParty.eq(o.first_party))
            .filter(Column::AlwaysRefresh.eq(o.always_refresh))
            .filter(Column::IntrospectAny.eq(o.introspect_any))
            .filter(match o.backchannel_logout_uri {
                Some(u) => Column::BackchannelLogoutUri.eq(u),
                None => Column::BackchannelLogoutUri.is_null(),
            })
            .filter(
                Column::BackchannelLogoutSessionRequired.eq(o.backchannel_logout_session_required),
            )
            .filter(Column::RequireMfa.eq(o.require_mfa))
            .filter(match o.rate_limit {
                Some(r) => Column::RateLimit.eq(r),
                None => Column::RateLimit.is_null(),
            })
            .filter(match o.previous_secret_sha256 {
                Some(d) => Column::PreviousSecretSha256.eq(d),
                None => Column::PreviousSecretSha256.is_null(),
            })
            .filter(match o.previous_secret_expires_at {
                Some(t) => Column::PreviousSecretExpiresAt.eq(t),
                None => Column::PreviousSecretExpiresAt.is_null(),
            })
            .filter(Column::TokenEndpointAuthMethod.eq(o.token_endpoint_auth_method))
            .filter(match o.jwks {
                Some(j) => Column::Jwks.eq(j),
                None => Column::Jwks.is_null(),
            })
            .filter(match o.jwks_uri {
                Some(u) => Column::JwksUri.eq(u),
                None => Column::JwksUri.is_null(),
            })
            .filter(Column::Dpop.eq(o.dpop))
            .filter(
                Column::RequirePushedAuthorizationRequests
                    .eq(o.require_pushed_authorization_requests),
            )
            .filter(Column::UpdatedAt.eq(o.updated_at));
        update_one_audited(self.conn(), update, audit).await
    }

    /// Sets `enabled` only if it is not already so, with the `audit` event in the same
    /// transaction; false (nothing written) if it already was, or there is no such client.
    pub async fn flip_client_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let update = Entity::update_many()
            .col_expr(Column::Enabled, Expr::value(enabled))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::ClientId.eq(client_id))
            .filter(Column::Enabled.eq(!enabled));
        update_one_audited(self.conn(), update, audit).await
    }

    /// Replaces the secret digest only if it is still `old` (and the client is confidential),
    /// keeping `old` as the previous secret until `previous_until` (none when `previous_until <=
    /// now`: the old one stops at once), with the `audit` event in the same transaction; false
    /// (nothing written) otherwise. Whatever previous secret there was is dropped: at most two
    /// secrets are ever accepted, the current one and the one it replaced.
    pub async fn swap_client_secret(
        &self,
        client_id: &str,
        old: &[u8],
        new: Vec<u8>,
        (now, previous_until): (i64, i64),
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let (previous, until) = if previous_until > now {
            (Some(old.to_vec()), Some(previous_until))
        } else {
            (None, None)
        };
        let update = Entity::update_many()
            .col_expr(Column::SecretSha256, Expr::value(new))
            .col_expr(Column::PreviousSecretSha256, Expr::value(previous))
            .col_expr(Column::PreviousSecretExpiresAt, Expr::value(until))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::ClientId.eq(client_id))
            .filter(Column::SecretSha256.eq(old.to_vec()))
            .filter(Column::Public.eq(false));
        update_one_audited(self.conn(), update, audit).await
    }

    /// Ends the previous secret of client `client_id` now, only if it has one still accepted at
    /// `now`, with the `audit` event in the same transaction; false (nothing written) otherwise.
    pub async fn expire_previous_client_secret(
        &self,
        client_id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let update = Entity::update_many()
            .col_expr(Column::PreviousSecretSha256, Expr::value(None::<Vec<u8>>))
            .col_expr(Column::PreviousSecretExpiresAt, Expr::value(None::<i64>))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::ClientId.eq(client_id))
            .filter(Column::PreviousSecretSha256.is_not_null())
            .filter(Column::PreviousSecretExpiresAt.gt(now));
        update_one_audited(self.conn(), update, audit).await
    }

    /// Deletes client `client_id` and ends what it holds, in one transaction with its `audit`
    /// event: its own access tokens issued before `now` are cut off (a subject cut-off on its id,
    /// which the revocation feed publishes), every grant (refresh-token family) it holds is revoked
    /// with the access tokens the grant issued, and its refresh tokens, grants, authorization
    /// codes, pending and given consents are deleted. False (nothing written) if there is no such
    /// client. Audit events that name it stay.
    pub async fn delete_client(
        &self,
        client_id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        // The row first: it takes the row's lock, so a concurrent delete waits and then finds none.
        let n = Entity::delete_by_id(client_id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        super::user_sessions::cut_off_subject_in(&txn, client_id, now).await?;
        super::token_exchanges::forget_client_in(&txn, client_id, now).await?;
        // Its grants, with the access tokens they issued: the families' by family, and those of code
        // grants without a refresh token by `jti` (they carry the user as `sub`, so the cut-off on
        // the client id does not reach them).
        super::user_sessions::revoke_grants_in(
            &txn,
            token_family::Column::ClientId,
            authorization_code::Column::ClientId,
            client_id,
            now,
        )
        .await?;
        let families: Vec<String> = token_family::Entity::find()
            .filter(token_family::Column::ClientId.eq(client_id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|f| f.id)
            .collect();
        if !families.is_empty() {
            refresh_token::Entity::delete_many()
                .filter(refresh_token::Column::FamilyId.is_in(families.clone()))
                .exec(&txn)
                .await?;
        }
        authorization_code::Entity::delete_many()
            .filter(authorization_code::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await?;
        token_family::Entity::delete_many()
            .filter(token_family::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await?;
        consent::Entity::delete_many()
            .filter(consent::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await?;
        pending_consent::Entity::delete_many()
            .filter(pending_consent::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await?;
        super::registration::delete_client_registration_in(&txn, client_id).await?;
        insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        self.revocations_changed();
        Ok(true)
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
}
