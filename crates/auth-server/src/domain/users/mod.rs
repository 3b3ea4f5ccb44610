//! Users: registration, passwords, and password authentication (the login page calls
//! [`Users::authenticate`]); the administrative changes (the admin API's and the CLI's), each one
//! transaction with its audit event, are in [`admin`].

use std::sync::Arc;

use auth_core::Clock;
use tokio::sync::OnceCell;

pub mod admin;

pub use admin::{Operator, UserEdit, UserPage, UserSearch};

use super::passwords::{Admission, PasswordError, PasswordHasher};
use super::random;
use super::records::UserRecord;
use crate::store::{Store, StoreError};

/// Shortest password accepted (NIST SP 800-63B §5.1.1.2: at least 8 characters).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted: hashing cost is bounded, and nobody types more.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Subject identifier.
    pub id: String,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Whether sign-in is refused.
    pub disabled: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Moves whenever the password changes or the user is disabled or enabled.
    pub security_stamp: i64,
}

impl From<&UserRecord> for User {
    fn from(m: &UserRecord) -> Self {
        Self {
            id: m.id.clone(),
            username: m.username.clone(),
            email: m.email.clone(),
            display_name: m.display_name.clone(),
            disabled: m.disabled,
            has_password: m.password_hash.is_some(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            security_stamp: m.security_stamp,
        }
    }
}

/// What an operator gives to create a user. `Debug` shows no password.
#[derive(Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name (default: the username).
    pub display_name: Option<String>,
    /// Initial password, if any.
    pub password: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An administrative user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Invalid input, with a message for the operator.
    #[error("{0}")]
    Invalid(String),
    /// The username is taken.
    #[error("a user named {0:?} already exists")]
    Exists(String),
    /// No such user.
    #[error("no user named {0:?}")]
    NotFound(String),
    /// No user has this subject id.
    #[error("no user with id {0:?}")]
    UnknownId(String),
    /// Hashing failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for UserError {
    fn from(e: StoreError) -> Self {
        UserError::Store(e)
    }
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password, no password, or disabled: one answer for all.
    #[error("invalid username or password")]
    Rejected,
    /// Too many password checks in progress: retry later.
    #[error("busy")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The user registry.
#[derive(Debug, Clone)]
pub struct Users {
    store: Store,
    hasher: PasswordHasher,
    clock: Arc<dyn Clock>,
    dummy: Arc<OnceCell<String>>,
}

pub(crate) fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::Invalid(format!(
            "a password has at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn check_email(e: &str) -> Result<(), UserError> {
    if !e.contains('@')
        || e.len() > 254
        || e.contains(char::is_whitespace)
        || e.contains(char::is_control)
    {
        return Err(UserError::Invalid(format!(
            "{e:?} is not an e-mail address"
        )));
    }
    Ok(())
}

/// Longest display name accepted, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 200;

fn check_display_name(name: &str) -> Result<(), UserError> {
    if name.trim().is_empty()
        || name.chars().count() > MAX_DISPLAY_NAME_CHARS
        || name.contains(char::is_control)
    {
        return Err(UserError::Invalid(format!(
            "a display name has 1-{MAX_DISPLAY_NAME_CHARS} characters and no control characters"
        )));
    }
    Ok(())
}

fn check_username(username: &str) -> Result<(), UserError> {
    if crate::domain::is_plain_name(username, 64, b"._-@") {
        Ok(())
    } else {
        Err(UserError::Invalid(format!(
            "username {username:?} must be 1-64 characters of A-Z a-z 0-9 . _ - @"
        )))
    }
}

impl Users {
    /// A registry hashing with `hasher`.
    pub fn new(store: Store, hasher: PasswordHasher, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            hasher,
            clock,
            dummy: Arc::new(OnceCell::new()),
        }
    }

    /// Registers a user without an audit event: for set-up code (test fixtures, seeding). An
    /// administrator's creation, from the admin API or the CLI, is [`Users::create_as`], which
    /// records who made it.
    pub async fn create(&self, new: NewUser) -> Result<User, UserError> {
        let row = self.new_row(new).await?;
        match self.store.insert_user(row.clone()).await {
            Ok(()) => Ok(User::from(&row)),
            Err(StoreError::Conflict(_)) => Err(UserError::Exists(row.username)),
            Err(e) => Err(e.into()),
        }
    }

    /// The row of a new user: checked, the password hashed, a fresh subject id.
    async fn new_row(&self, new: NewUser) -> Result<UserRecord, UserError> {
        check_username(&new.username)?;
        if let Some(e) = &new.email {
            check_email(e)?;
        }
        if let Some(d) = &new.display_name {
            check_display_name(d)?;
        }
        let password_hash = match new.password {
            Some(p) => {
                check_password(&p)?;
                Some(self.hasher.hash(p).await?)
            }
            None => None,
        };
        let now = self.clock.now();
        // A user id never equals a client id (client-credentials tokens use the client id as `sub`).
        let mut id = random::token(16);
        while self.store.client_exists(&id).await? {
            id = random::token(16);
        }
        Ok(UserRecord {
            id,
            display_name: new.display_name.unwrap_or_else(|| new.username.clone()),
            username: new.username,
            email: new.email,
            password_hash,
            disabled: false,
            created_at: now,
            updated_at: now,
            security_stamp: 0,
        })
    }

    /// One user by login name.
    pub async fn find(&self, username: &str) -> Result<Option<User>, UserError> {
        Ok(self
            .store
            .find_user_by_username(username)
            .await?
            .as_ref()
            .map(User::from))
    }

    /// One user by subject id.
    pub async fn get(&self, id: &str) -> Result<Option<User>, UserError> {
        Ok(self.store.find_user(id).await?.as_ref().map(User::from))
    }

    /// A place for one sign-in's password check, or `None` if the server is saturated (answer
    /// "busy"); see [`PasswordHasher::admit`]. Taken before anything else a sign-in does.
    pub fn admit(&self) -> Option<Admission> {
        self.hasher.admit()
    }

    /// Checks a username and password. An unknown user costs the same hash as a wrong password, so
    /// the answer and its timing do not tell which usernames exist. A hash made with weaker
    /// parameters than today's is replaced after a successful check.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<User, LoginError> {
        let admission = self.admit().ok_or(LoginError::Busy)?;
        self.authenticate_admitted(&admission, username, password)
            .await
    }

    /// [`Users::authenticate`] under a place already taken with [`Users::admit`].
    pub async fn authenticate_admitted(
        &self,
        admission: &Admission,
        username: &str,
        password: &str,
    ) -> Result<User, LoginError> {
        let pw = password.to_owned();
        let row = if check_username(username).is_ok() && password.len() <= MAX_PASSWORD_BYTES {
            self.store.find_user_by_username(username).await?
        } else {
            None
        };
        let Some((row, phc)) = row.and_then(|r| r.password_hash.clone().map(|h| (r, h))) else {
            let dummy = self
                .dummy
                .get_or_try_init(|| self.hasher.hash_admitted(admission, random::token(16)))
                .await
                .map_err(|_| LoginError::Busy)?;
            // Busy must look the same for unknown and known users, or a saturated server would tell
            // which usernames exist.
            self.hasher
                .verify_admitted(admission, pw, dummy.clone())
                .await
                .map_err(|_| LoginError::Busy)?;
            return Err(LoginError::Rejected);
        };
        let verified = self
            .hasher
            .verify_admitted(admission, pw, phc.clone())
            .await
            .map_err(|e| match e {
                PasswordError::Busy => LoginError::Busy,
                PasswordError::Hash(_) => LoginError::Rejected,
            })?;
        if !verified.ok || row.disabled {
            return Err(LoginError::Rejected);
        }
        if verified.needs_rehash
            // Under the place this sign-in already holds: taking a second one could find the queue
            // full and quietly skip the upgrade under load.
            && let Ok(new_phc) = self
                .hasher
                .hash_admitted(admission, password.to_owned())
                .await
            && let Err(e) = self
                .store
                .upgrade_password_hash(&row.id, &phc, new_phc)
                .await
        {
            tracing::warn!(error = %e, "could not store the upgraded password hash");
        }
        Ok(User::from(&row))
    }
}
