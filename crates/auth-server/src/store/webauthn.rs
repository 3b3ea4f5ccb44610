//! WebAuthn storage: credentials and ceremonies. Plain records for the domain; every change that
//! could race is one conditional statement (a ceremony is taken by the `DELETE` that removes it; a
//! counter moves only forward, `UPDATE .. WHERE counter < new`).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{webauthn_ceremony as ceremony, webauthn_credential as credential};
use super::{Store, StoreError};

/// A registered credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCredentialRecord {
    /// Our id.
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The authenticator's credential id, base64url.
    pub credential_id: String,
    /// The user's name for it.
    pub name: String,
    /// The credential as webauthn-rs serialises it (JSON).
    pub passkey: String,
    /// The signature counter last accepted.
    pub counter: i64,
    /// Backup eligible (a synced passkey).
    pub backup_eligible: bool,
    /// Backed up.
    pub backup_state: bool,
    /// Registered at.
    pub created_at: i64,
    /// Last used.
    pub last_used_at: Option<i64>,
}

/// A ceremony in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCeremonyRecord {
    /// The id the browser sends back.
    pub id: String,
    /// `register`, `passwordless` or `second_factor`.
    pub kind: String,
    /// SHA-256 of what it is bound to.
    pub binding_sha256: Vec<u8>,
    /// The user, when known.
    pub user_id: Option<String>,
    /// The ceremony state (JSON).
    pub state: String,
    /// Started at.
    pub created_at: i64,
    /// Usable until.
    pub expires_at: i64,
}

/// A counter update after a successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterUpdate<'a> {
    /// Our credential id.
    pub id: &'a str,
    /// The new counter (0 for authenticators that keep none).
    pub counter: i64,
    /// The updated credential JSON.
    pub passkey: &'a str,
    /// The backup state the authenticator reported.
    pub backup_state: bool,
    /// Now.
    pub at: i64,
}

impl From<credential::Model> for WebauthnCredentialRecord {
    fn from(m: credential::Model) -> Self {
        Self {
            id: m.id,
            user_id: m.user_id,
            credential_id: m.credential_id,
            name: m.name,
            passkey: m.passkey,
            counter: m.counter,
            backup_eligible: m.backup_eligible,
            backup_state: m.backup_state,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        }
    }
}

impl From<WebauthnCredentialRecord> for credential::ActiveModel {
    fn from(r: WebauthnCredentialRecord) -> Self {
        use sea_orm::ActiveValue::Set;
        Self {
            id: Set(r.id),
            user_id: Set(r.user_id),
            credential_id: Set(r.credential_id),
            name: Set(r.name),
            passkey: Set(r.passkey),
            counter: Set(r.counter),
            backup_eligible: Set(r.backup_eligible),
            backup_state: Set(r.backup_state),
            created_at: Set(r.created_at),
            last_used_at: Set(r.last_used_at),
        }
    }
}

/// Deletes every credential and ceremony of `user_id`, inside the caller's transaction (deleting
/// the user).
pub(crate) async fn delete_user_credentials_in(
    txn: &impl sea_orm::ConnectionTrait,
    user_id: &str,
) -> Result<(), StoreError> {
    credential::Entity::delete_many()
        .filter(credential::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    ceremony::Entity::delete_many()
        .filter(ceremony::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

impl Store {
    /// Stores a new ceremony, first deleting the ones expired at `now` (so the table holds only
    /// what can still be finished).
    pub async fn insert_webauthn_ceremony(
        &self,
        row: WebauthnCeremonyRecord,
    ) -> Result<(), StoreError> {
        use sea_orm::ActiveValue::Set;
        ceremony::Entity::delete_many()
            .filter(ceremony::Column::ExpiresAt.lte(row.created_at))
            .exec(self.conn())
            .await?;
        ceremony::Entity::insert(ceremony::ActiveModel {
            id: Set(row.id),
            kind: Set(row.kind),
            binding_sha256: Set(row.binding_sha256),
            user_id: Set(row.user_id),
            state: Set(row.state),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }

    /// Takes a ceremony: its state and user if `id` is a `kind` ceremony bound to `binding` and not
    /// expired at `now`. Taking deletes it, and only the request whose `DELETE` removed the row gets
    /// it, so of two finishes at once at most one proceeds (single use). A wrong binding leaves the
    /// ceremony where it is (another browser cannot burn it).
    pub async fn take_webauthn_ceremony(
        &self,
        id: &str,
        kind: &str,
        binding: &[u8],
        now: i64,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        let scope = || {
            sea_orm::Condition::all()
                .add(ceremony::Column::Id.eq(id))
                .add(ceremony::Column::Kind.eq(kind))
                .add(ceremony::Column::BindingSha256.eq(binding.to_vec()))
                .add(ceremony::Column::ExpiresAt.gt(now))
        };
        let Some(row) = ceremony::Entity::find()
            .filter(scope())
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let taken = ceremony::Entity::delete_many()
            .filter(scope())
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok((taken == 1).then_some((row.state, row.user_id)))
    }

    /// Stores a new credential; false if its credential id is registered already (to anyone).
    pub async fn insert_webauthn_credential(
        &self,
        row: WebauthnCredentialRecord,
    ) -> Result<bool, StoreError> {
        if self
            .webauthn_credential_by_cred_id(&row.credential_id)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        match credential::Entity::insert(credential::ActiveModel::from(row))
            .exec_without_returning(self.conn())
            .await
        {
            Ok(_) => Ok(true),
            // Registered by a parallel request between the look-up and the insert: the unique
            // constraint decided.
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A user's credentials, oldest first.
    pub async fn webauthn_credentials(
        &self,
        user_id: &str,
    ) -> Result<Vec<WebauthnCredentialRecord>, StoreError> {
        self.all_as(
            credential::Entity::find()
                .filter(credential::Column::UserId.eq(user_id))
                .order_by_asc(credential::Column::CreatedAt)
                .order_by_asc(credential::Column::Id),
        )
        .await
    }

    /// The credential with this authenticator credential id.
    pub async fn webauthn_credential_by_cred_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<WebauthnCredentialRecord>, StoreError> {
        self.one_as(
            credential::Entity::find().filter(credential::Column::CredentialId.eq(credential_id)),
        )
        .await
    }

    /// Renames one of `user_id`'s credentials; false if they have none with that id.
    pub async fn rename_webauthn_credential(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let n = credential::Entity::update_many()
            .col_expr(credential::Column::Name, Expr::value(name))
            .filter(credential::Column::Id.eq(id))
            .filter(credential::Column::UserId.eq(user_id))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Removes one of `user_id`'s credentials; false if they have none with that id.
    pub async fn delete_webauthn_credential(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let n = credential::Entity::delete_many()
            .filter(credential::Column::Id.eq(id))
            .filter(credential::Column::UserId.eq(user_id))
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }

    /// Records a use: the new counter, credential and backup state, only if the stored counter is
    /// below the new one (or both are 0: an authenticator that keeps no counter). One conditional
    /// update, so the counter never moves back, even with parallel sign-ins: false means another
    /// sign-in got there first with this or a higher counter (a possible clone; refuse).
    pub async fn advance_webauthn_counter(&self, u: CounterUpdate<'_>) -> Result<bool, StoreError> {
        let moves_forward = if u.counter == 0 {
            credential::Column::Counter.eq(0)
        } else {
            credential::Column::Counter.lt(u.counter)
        };
        let n = credential::Entity::update_many()
            .col_expr(credential::Column::Counter, Expr::value(u.counter))
            .col_expr(credential::Column::Passkey, Expr::value(u.passkey))
            .col_expr(credential::Column::BackupState, Expr::value(u.backup_state))
            .col_expr(credential::Column::LastUsedAt, Expr::value(u.at))
            .filter(credential::Column::Id.eq(u.id))
            .filter(moves_forward)
            .exec(self.conn())
            .await?
            .rows_affected;
        Ok(n == 1)
    }
}
