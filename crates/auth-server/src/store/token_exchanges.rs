//! Token exchange (RFC 8693) in storage: the clients' exchange policies, the tokens exchanges
//! issued (each with the subject token it came from), and the ordering of an exchange against a
//! revocation of its subject token.
//!
//! The race between an exchange and a revocation of the same subject token is closed by one row,
//! `token_exchange_subjects(subject_jti)`, that both write first in their transaction: the
//! exchange inserts it unless it is marked revoked ([`Store::record_exchange`]), the revocation
//! inserts it or marks it revoked (`revoke_derived_in`, called for every revoked `jti`). Whoever
//! comes second waits for the first to commit (the row's lock on PostgreSQL, the write lock on
//! SQLite): an exchange after the revocation finds the mark and refuses; a revocation after the
//! exchange finds the exchanged token's row and revokes it too. So no exchanged token outlives the
//! revocation of its subject token, at any depth of a chain of exchanges.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::Words;
use super::entities::{
    client, exchanged_token, revoked_access_token, revoked_subject,
    token_exchange_policy as policy, token_exchange_subject as subject,
};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::token_exchange::TokenExchangePolicy;
use crate::model::values::{Resources, Scopes};

/// An exchanged token to record: its `jti`, its `exp` and the client it is issued to, and the
/// `jti` and `exp` of its subject token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged<'a> {
    /// The issued token's `jti`.
    pub jti: &'a str,
    /// The issued token's `exp`.
    pub exp: i64,
    /// The exchanging client.
    pub client_id: &'a str,
    /// The subject token's `jti`.
    pub subject_jti: &'a str,
    /// The subject token's `exp`.
    pub subject_exp: i64,
    /// The client's policy as the exchange was checked against it.
    pub policy: &'a TokenExchangePolicy,
}

impl From<policy::Model> for TokenExchangePolicy {
    fn from(m: policy::Model) -> Self {
        Self {
            client_id: m.client_id,
            subject_audiences: Resources::decode(&m.subject_audiences),
            audiences: Resources::decode(&m.audiences),
            scopes: Scopes::decode(&m.scopes),
            impersonation: m.impersonation,
            updated_at: m.updated_at,
        }
    }
}

/// What [`Store::record_exchange`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The exchanged token is recorded: it may be signed.
    Done,
    /// The subject token is revoked: nothing recorded.
    SubjectRevoked,
    /// The client no longer has a policy (deleted, or its policy removed): nothing recorded.
    PolicyGone,
    /// The client's policy changed since the exchange read it: nothing recorded (checked again,
    /// the request might pass or fail under the new one).
    PolicyChanged,
}

impl Store {
    /// Client `client_id`'s exchange policy, if it has one.
    pub async fn token_exchange_policy(
        &self,
        client_id: &str,
    ) -> Result<Option<TokenExchangePolicy>, StoreError> {
        Ok(policy::Entity::find_by_id(client_id.to_owned())
            .one(self.conn())
            .await?
            .map(TokenExchangePolicy::from))
    }

    /// Sets (`Some`) or removes (`None`) client `client_id`'s exchange policy, with the `audit`
    /// event, in one transaction. The client's row is locked first (written unchanged), so a
    /// concurrent deletion of the client either comes first (false: nothing written) or after
    /// (and then deletes the policy). False also when there is no such client.
    pub async fn set_token_exchange_policy(
        &self,
        client_id: &str,
        new: Option<&TokenExchangePolicy>,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let txn = self.conn().begin().await?;
        let locked = client::Entity::update_many()
            .col_expr(
                client::Column::UpdatedAt,
                Expr::col(client::Column::UpdatedAt),
            )
            .filter(client::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await?
            .rows_affected;
        if locked != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        // Rewritten in place (an upsert, not a delete and an insert): an exchange holding the row
        // waits, then finds the row it re-checks still there, with what it says now.
        match new {
            Some(p) => {
                policy::Entity::insert(policy::ActiveModel {
                    client_id: Set(client_id.to_owned()),
                    subject_audiences: Set(p.subject_audiences.encode()),
                    audiences: Set(p.audiences.encode()),
                    scopes: Set(p.scopes.encode()),
                    impersonation: Set(p.impersonation),
                    updated_at: Set(p.updated_at),
                })
                .on_conflict(
                    OnConflict::column(policy::Column::ClientId)
                        .update_columns([
                            policy::Column::SubjectAudiences,
                            policy::Column::Audiences,
                            policy::Column::Scopes,
                            policy::Column::Impersonation,
                            policy::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            }
            None => {
                policy::Entity::delete_by_id(client_id.to_owned())
                    .exec(&txn)
                    .await?;
            }
        }
        insert_audit_in(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Whether a token of `sub` issued at `iat` falls under the subject's cut-off (a new password,
    /// a disabled user, sessions ended: tokens with an `iat` before it are revoked), as the
    /// revocation feed tells verifiers.
    pub async fn cut_off_applies(&self, sub: &str, iat: i64) -> Result<bool, StoreError> {
        let cut_off = revoked_subject::Entity::find_by_id(sub.to_owned())
            .one(self.conn())
            .await?;
        Ok(cut_off.is_some_and(|r| iat < r.before))
    }

    /// Records an exchanged token before it is signed, unless the client's policy is gone or
    /// changed, or its subject token is revoked: in one transaction, the client's policy row is
    /// written first, on the condition that it still says what the exchange was checked against
    /// (a no-op update that holds it: a concurrent client deletion, which deletes that row before
    /// it lists the client's exchanged tokens, either comes after and finds this token, or came
    /// before and this exchange is refused; a policy change or removal, which rewrites or deletes
    /// the row, likewise waits for this exchange or refuses it), then the subject's row
    /// (see the module's documentation), then the revocation list is read and the exchanged
    /// token recorded.
    pub async fn record_exchange(&self, e: &Exchanged<'_>) -> Result<Recorded, StoreError> {
        let txn = self.conn().begin().await?;
        let p = e.policy;
        let held = policy::Entity::update_many()
            .col_expr(
                policy::Column::UpdatedAt,
                Expr::col(policy::Column::UpdatedAt),
            )
            .filter(policy::Column::ClientId.eq(e.client_id))
            .filter(policy::Column::SubjectAudiences.eq(p.subject_audiences.encode()))
            .filter(policy::Column::Audiences.eq(p.audiences.encode()))
            .filter(policy::Column::Scopes.eq(p.scopes.encode()))
            .filter(policy::Column::Impersonation.eq(p.impersonation))
            .exec(&txn)
            .await?
            .rows_affected;
        if held != 1 {
            let now = policy::Entity::find_by_id(e.client_id.to_owned())
                .one(&txn)
                .await?;
            txn.rollback().await?;
            return Ok(match now {
                Some(_) => Recorded::PolicyChanged,
                None => Recorded::PolicyGone,
            });
        }
        let claimed = subject::Entity::insert(subject::ActiveModel {
            subject_jti: Set(e.subject_jti.to_owned()),
            revoked: Set(false),
            expires_at: Set(e.subject_exp),
        })
        .on_conflict(
            OnConflict::column(subject::Column::SubjectJti)
                .update_column(subject::Column::ExpiresAt)
                .action_and_where(subject::Column::Revoked.eq(false))
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let revoked = claimed == 0
            || revoked_access_token::Entity::find_by_id(e.subject_jti.to_owned())
                .one(&txn)
                .await?
                .is_some();
        if revoked {
            txn.rollback().await?;
            return Ok(Recorded::SubjectRevoked);
        }
        exchanged_token::Entity::insert(exchanged_token::ActiveModel {
            jti: Set(e.jti.to_owned()),
            subject_jti: Set(e.subject_jti.to_owned()),
            client_id: Set(e.client_id.to_owned()),
            expires_at: Set(e.exp),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(Recorded::Done)
    }
}

/// How long past their expiry the rows are kept: the largest clock leeway a verifier may allow
/// (auth-verifier accepts at most 300 s), during which a revocation of the subject token must
/// still reach the tokens exchanged from it (the revocation feed keeps entries as long).
const KEPT_PAST_EXPIRY_SECS: i64 = 300;

/// Deletes, on `db`, the rows of subject and exchanged tokens that expired more than
/// [`KEPT_PAST_EXPIRY_SECS`] before `now` (an expired subject token cannot be exchanged; an
/// exchanged token no verifier accepts any more needs no revoking).
pub(super) async fn purge_in(db: &impl ConnectionTrait, now: i64) -> Result<(), StoreError> {
    let now = now.saturating_sub(KEPT_PAST_EXPIRY_SECS);
    subject::Entity::delete_many()
        .filter(subject::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    exchanged_token::Entity::delete_many()
        .filter(exchanged_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(())
}

/// Called on `db` for every access token revoked by `jti` (after its own revocation row is
/// written): marks the subject row of `jti` revoked (so no exchange uses it from now on, and an
/// exchange in progress is waited for), then revokes the tokens exchanged from it, and from those,
/// down the whole chain (siblings in `jti` order, so that two revocations reaching the same tokens
/// lock them in one order).
pub(super) async fn revoke_derived_in(
    db: &impl ConnectionTrait,
    jti: &str,
    exp: i64,
) -> Result<(), StoreError> {
    let mut pending = vec![(jti.to_owned(), exp)];
    while let Some((jti, exp)) = pending.pop() {
        subject::Entity::insert(subject::ActiveModel {
            subject_jti: Set(jti.clone()),
            revoked: Set(true),
            expires_at: Set(exp),
        })
        .on_conflict(
            OnConflict::column(subject::Column::SubjectJti)
                .update_column(subject::Column::Revoked)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        let derived = exchanged_token::Entity::find()
            .filter(exchanged_token::Column::SubjectJti.eq(jti.as_str()))
            .order_by_asc(exchanged_token::Column::Jti)
            .all(db)
            .await?;
        for d in derived {
            super::revocations::insert_revoked_row_in(db, &d.jti, d.expires_at, None).await?;
            pending.push((d.jti, d.expires_at));
        }
    }
    Ok(())
}

/// When client `client_id` is deleted (in its transaction `db`): its policy goes, and the
/// unexpired tokens it obtained by exchange are revoked (they carry the user as `sub`, so the
/// client's cut-off does not reach them).
pub(super) async fn forget_client_in(
    db: &impl ConnectionTrait,
    client_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    policy::Entity::delete_by_id(client_id.to_owned())
        .exec(db)
        .await?;
    let issued = exchanged_token::Entity::find()
        .filter(exchanged_token::Column::ClientId.eq(client_id))
        .filter(exchanged_token::Column::ExpiresAt.gt(now))
        .order_by_asc(exchanged_token::Column::Jti)
        .all(db)
        .await?;
    for t in issued {
        super::revocations::insert_revoked_jti_in(db, &t.jti, t.expires_at, None).await?;
    }
    Ok(())
}
