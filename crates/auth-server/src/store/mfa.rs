//! Second factors: the TOTP factor of each user and their recovery codes, changed only by
//! conditional updates (a step is accepted once, a code used once), and the users an
//! administrator requires MFA of.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::{mfa_recovery_code as code, mfa_required_user as required, mfa_totp as totp};
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;

/// A user's TOTP factor as stored (the secret still sealed).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// The user.
    pub user_id: String,
    /// Random id of this enrollment.
    pub enrollment_id: String,
    /// The sealed secret.
    pub secret_sealed: Vec<u8>,
    /// The KEK that sealed it.
    pub kek_id: String,
    /// When the enrollment started.
    pub created_at: i64,
    /// When it was confirmed (active from then on).
    pub confirmed_at: Option<i64>,
    /// The last accepted time step.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRecord")
            .field("user_id", &self.user_id)
            .field("kek_id", &self.kek_id)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

impl From<totp::Model> for TotpRecord {
    fn from(m: totp::Model) -> Self {
        Self {
            user_id: m.user_id,
            enrollment_id: m.enrollment_id,
            secret_sealed: m.secret_sealed,
            kek_id: m.kek_id,
            created_at: m.created_at,
            confirmed_at: m.confirmed_at,
            last_step: m.last_step,
        }
    }
}

impl Store {
    /// Starts (or restarts) a TOTP enrollment: false, changing nothing, if the user already has a
    /// confirmed factor (remove it first). An unconfirmed one is replaced.
    pub async fn start_totp_enrollment(&self, row: TotpRecord) -> Result<bool, StoreError> {
        let db = self.conn();
        totp::Entity::delete_many()
            .filter(totp::Column::UserId.eq(&row.user_id))
            .filter(totp::Column::ConfirmedAt.is_null())
            .exec(db)
            .await?;
        let insert = totp::Entity::insert(totp::ActiveModel {
            user_id: Set(row.user_id),
            enrollment_id: Set(row.enrollment_id),
            secret_sealed: Set(row.secret_sealed),
            kek_id: Set(row.kek_id),
            created_at: Set(row.created_at),
            confirmed_at: Set(None),
            last_step: Set(None),
        })
        .exec_without_returning(db)
        .await;
        match insert.map_err(StoreError::from) {
            Ok(_) => Ok(true),
            // A confirmed factor (or a parallel enrollment) holds the row.
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The user's TOTP factor, confirmed or not.
    pub async fn find_totp(&self, user_id: &str) -> Result<Option<TotpRecord>, StoreError> {
        Ok(totp::Entity::find_by_id(user_id.to_owned())
            .one(self.conn())
            .await?
            .map(Into::into))
    }

    /// Confirms enrollment `enrollment_id` with the code of time step `step`, which counts as
    /// used. True for the one confirmation that changed it.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        enrollment_id: &str,
        (step, now): (i64, i64),
        event: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let tx = self.conn().begin().await?;
        let n = totp::Entity::update_many()
            .col_expr(totp::Column::ConfirmedAt, Expr::value(now))
            .col_expr(totp::Column::LastStep, Expr::value(step))
            .filter(totp::Column::UserId.eq(user_id))
            .filter(totp::Column::EnrollmentId.eq(enrollment_id))
            .filter(totp::Column::ConfirmedAt.is_null())
            .exec(&tx)
            .await?
            .rows_affected;
        if n == 1 {
            insert_audit_in(&tx, event).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// RFC 6238 §5.2: accepts time step `step` of the user's confirmed factor if it is later than
    /// every step accepted before. One guarded statement, so of parallel submissions of one code
    /// (on any number of replicas) exactly one passes, and an older code never passes again.
    pub async fn accept_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        let n = totp::Entity::update_many()
            .col_expr(totp::Column::LastStep, Expr::value(step))
            .filter(totp::Column::UserId.eq(user_id))
            .filter(totp::Column::ConfirmedAt.is_not_null())
            .filter(
                Condition::any()
                    .add(totp::Column::LastStep.is_null())
                    .add(totp::Column::LastStep.lt(step)),
            )
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Every TOTP row sealed under a KEK other than `kek_id` (for a KEK rotation).
    pub async fn totp_sealed_elsewhere(&self, kek_id: &str) -> Result<Vec<TotpRecord>, StoreError> {
        Ok(totp::Entity::find()
            .filter(totp::Column::KekId.ne(kek_id))
            .all(self.conn())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Replaces the sealed secret of `old` (re-sealed under KEK `kek_id`), only if the row still
    /// holds exactly `old`'s enrollment and blob: true if it did.
    pub async fn reseal_totp(
        &self,
        old: &TotpRecord,
        sealed: Vec<u8>,
        kek_id: &str,
    ) -> Result<bool, StoreError> {
        let n = totp::Entity::update_many()
            .col_expr(totp::Column::SecretSealed, Expr::value(sealed))
            .col_expr(totp::Column::KekId, Expr::value(kek_id))
            .filter(totp::Column::UserId.eq(&old.user_id))
            .filter(totp::Column::EnrollmentId.eq(&old.enrollment_id))
            .filter(totp::Column::SecretSealed.eq(old.secret_sealed.clone()))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Removes the user's TOTP factor; true if there was one.
    pub async fn delete_totp(&self, user_id: &str) -> Result<bool, StoreError> {
        let n = totp::Entity::delete_many()
            .filter(totp::Column::UserId.eq(user_id))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n > 0)
    }

    /// Deletes the user's TOTP factor and recovery codes, and stores `event` if there was a factor,
    /// in one transaction; true if there was a factor.
    pub async fn remove_totp_recorded(
        &self,
        user_id: &str,
        event: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let tx = self.conn().begin().await?;
        let n = totp::Entity::delete_many()
            .filter(totp::Column::UserId.eq(user_id))
            .exec(&tx)
            .await?
            .rows_affected;
        code::Entity::delete_many()
            .filter(code::Column::UserId.eq(user_id))
            .exec(&tx)
            .await?;
        if n > 0 {
            insert_audit_in(&tx, event).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Replaces the user's recovery codes with `digests` and stores `event`, in one transaction.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &str,
        (digests, now): (Vec<Vec<u8>>, i64),
        event: &AuditRecord,
    ) -> Result<(), StoreError> {
        let tx = self.conn().begin().await?;
        insert_audit_in(&tx, event).await?;
        code::Entity::delete_many()
            .filter(code::Column::UserId.eq(user_id))
            .exec(&tx)
            .await?;
        let rows = digests.into_iter().map(|d| code::ActiveModel {
            code_sha256: Set(d),
            user_id: Set(user_id.to_owned()),
            created_at: Set(now),
            used_at: Set(None),
        });
        code::Entity::insert_many(rows)
            .exec_without_returning(&tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses the recovery code with digest `digest`: true for the one use that marked it. One
    /// conditional update, so parallel uses of one code pass once.
    pub async fn use_recovery_code(
        &self,
        user_id: &str,
        digest: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = code::Entity::update_many()
            .col_expr(code::Column::UsedAt, Expr::value(now))
            .filter(code::Column::CodeSha256.eq(digest.to_vec()))
            .filter(code::Column::UserId.eq(user_id))
            .filter(code::Column::UsedAt.is_null())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// How many unused recovery codes the user has.
    pub async fn unused_recovery_codes(&self, user_id: &str) -> Result<u64, StoreError> {
        Ok(code::Entity::find()
            .filter(code::Column::UserId.eq(user_id))
            .filter(code::Column::UsedAt.is_null())
            .count(self.conn())
            .await?)
    }

    /// Removes every recovery code of the user.
    pub async fn delete_recovery_codes(&self, user_id: &str) -> Result<(), StoreError> {
        code::Entity::delete_many()
            .filter(code::Column::UserId.eq(user_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Whether an administrator requires MFA of the user.
    pub async fn mfa_required_for(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(required::Entity::find_by_id(user_id.to_owned())
            .one(self.conn())
            .await?
            .is_some())
    }

    /// Requires MFA of the user (`on`) or stops requiring it; true if that changed anything.
    pub async fn set_mfa_required(
        &self,
        user_id: &str,
        (on, now): (bool, i64),
        event: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let tx = self.conn().begin().await?;
        let changed = if on {
            // Inserted only if absent: a repeated or concurrent `require` changes nothing (and
            // records nothing).
            let n = required::Entity::insert(required::ActiveModel {
                user_id: Set(user_id.to_owned()),
                created_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(required::Column::UserId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&tx)
            .await?;
            n == 1
        } else {
            let n = required::Entity::delete_many()
                .filter(required::Column::UserId.eq(user_id))
                .exec(&tx)
                .await?
                .rows_affected;
            n > 0
        };
        if changed {
            insert_audit_in(&tx, event).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
