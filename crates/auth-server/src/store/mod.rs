//! Storage: sea-orm entities, migrations and repositories. No HTTP in here.
//!
//! One code path serves SQLite (the embedded default, one file) and PostgreSQL (production).

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, Select, SqlErr, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub mod account;
pub mod audit;
pub mod backchannel;
pub mod backup;
pub mod clients;
pub mod entities;
pub mod grants;
pub mod keys;
pub mod login_throttle;
pub mod mfa;
pub mod mfa_pending;
mod migrations;
pub mod outbox;
mod pool;
pub mod pushed_requests;
pub mod registration;
pub mod revocations;
pub mod seen_ids;
pub mod sso;
pub mod token_exchanges;
pub mod user_admin;
pub mod user_sessions;
pub mod users;
pub mod webauthn;

pub use migrations::Migrator;
pub use pool::PoolStatus;

use crate::config::DatabaseConfig;

/// The PostgreSQL advisory-lock key that serialises migrations across replicas.
const MIGRATION_LOCK_ID: i64 = 0x0061_7574_686d_6967; // "authmig" in ASCII

/// A storage failure, classified for the layers above.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or failed; worth retrying later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// A uniqueness constraint refused the write (another writer got there first).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row holds something this version cannot read.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// The error of a computation shared by several callers (a cache fill), for each of them.
impl From<std::sync::Arc<StoreError>> for StoreError {
    fn from(e: std::sync::Arc<StoreError>) -> Self {
        match &*e {
            StoreError::Unavailable(db) => StoreError::Unavailable(DbErr::Custom(db.to_string())),
            StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
            StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        }
    }
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        crate::telemetry::db_error(pool::error_kind(&e));
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(m)) => StoreError::Conflict(m),
            _ => StoreError::Unavailable(e),
        }
    }
}

/// The connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Moves whenever this process revokes access tokens (see [`Store::revocation_epoch`]).
    revocation_epoch: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Connects (creating the SQLite file and its directory if needed, private to this user: the
    /// file holds password hashes and sealed keys). Does not migrate.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Self, StoreError> {
        if let Some(path) = sqlite_path(&cfg.url) {
            create_private_sqlite_file(std::path::Path::new(path)).map_err(|e| {
                StoreError::Unavailable(DbErr::Custom(format!("cannot create {path}: {e}")))
            })?;
        }
        let mut opts = ConnectOptions::new(cfg.url.clone());
        opts.max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_secs(cfg.acquire_timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.acquire_timeout_secs))
            .sqlx_logging(false)
            // WAL and synchronous=NORMAL: durable across process crashes, no fsync per commit.
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
            });
        // Two processes opening a new SQLite file at once race to switch it to WAL, and the loser gets
        // "database is locked" at connect time, without the busy timeout applying: retry briefly.
        let is_sqlite = sqlite_path(&cfg.url).is_some();
        let mut attempt = 0u64;
        let db = loop {
            match Database::connect(opts.clone()).await {
                Ok(db) => break db,
                Err(e) if is_sqlite && attempt < 10 && e.to_string().contains("locked") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Self {
            db,
            revocation_epoch: Default::default(),
        })
    }

    /// [`Store::connect`], retried while the database cannot be reached or is starting, for up to
    /// `wait` in all (a wrong password, a missing database or a bad URL fails at once):
    /// a replica that starts before its PostgreSQL accepts connections waits for it instead of
    /// exiting. Backoff from 0.5 s doubling to 5 s; each failure is logged with its cause.
    pub async fn connect_waiting(cfg: &DatabaseConfig, wait: Duration) -> Result<Self, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut delay = Duration::from_millis(500);
        loop {
            match Self::connect(cfg).await {
                Ok(store) => return Ok(store),
                Err(StoreError::Unavailable(e))
                    if pool::connect_retryable(&e)
                        && tokio::time::Instant::now() + delay < deadline =>
                {
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "the database cannot be reached yet; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A number that changes whenever this process has recorded a revoked access token, so a
    /// rendered revocation feed can be reused until it does. Other replicas' revocations do not
    /// move it; they are seen when the cached feed ages out.
    pub fn revocation_epoch(&self) -> u64 {
        self.revocation_epoch
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks that access tokens were (or may have been) revoked.
    pub(crate) fn revocations_changed(&self) {
        self.revocation_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Applies every pending migration. Safe when several replicas start at once: on PostgreSQL the
    /// migrations run in one transaction under an advisory lock, so the second replica waits and then
    /// finds nothing to do; on SQLite (one file, normally one process) a lost race is retried.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.db.get_database_backend() == DbBackend::Postgres {
            let txn = self.db.begin().await?;
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"
            ))
            .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await?;
            return Ok(());
        }
        let mut attempt = 0u64;
        loop {
            match Migrator::up(&self.db, None).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "migration raced another process; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    /// The underlying connection, for repositories.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The first row `select` finds, as its domain record.
    async fn one_as<E, R>(&self, select: Select<E>) -> Result<Option<R>, StoreError>
    where
        E: EntityTrait,
        R: From<E::Model>,
    {
        Ok(select.one(self.conn()).await?.map(R::from))
    }

    /// Every row `select` finds, as domain records.
    async fn all_as<E, R>(&self, select: Select<E>) -> Result<Vec<R>, StoreError>
    where
        E: EntityTrait,
        R: From<E::Model>,
    {
        Ok(select
            .all(self.conn())
            .await?
            .into_iter()
            .map(R::from)
            .collect())
    }
}

/// Creates a SQLite database file that does not exist yet with mode 0600, and the folders leading to
/// it with mode 0700 (SQLite gives its `-wal` and `-shm` files the database file's mode). What exists
/// already is left as it is: an operator's choice.
fn create_private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The file path of a `sqlite:` URL, if it names a file.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// `UPDATE <its table> SET <column> = value WHERE <key> = id AND <column> IS NULL` (the caller may
/// add conditions): sets the column once, so of concurrent calls at most one changes the row.
fn set_where_null<C>(
    key: C,
    id: impl Into<sea_orm::Value>,
    column: C,
    value: sea_orm::sea_query::SimpleExpr,
) -> sea_orm::UpdateMany<C::EntityName>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    <C::EntityName as EntityTrait>::update_many()
        .col_expr(column, value)
        .filter(key.eq(id))
        .filter(column.is_null())
}

/// A write that changes nothing but takes a row's lock in a transaction (PostgreSQL's row lock,
/// SQLite's write lock): [`set_where_null`] with the column's own value, so it touches the row only
/// while `column` is null.
fn lock_where_null<C>(
    key: C,
    id: impl Into<sea_orm::Value>,
    column: C,
) -> sea_orm::UpdateMany<C::EntityName>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    set_where_null(key, id, column, sea_orm::sea_query::Expr::col(column))
}

/// `SELECT .. FROM <its table> WHERE <key> = id AND <column> IS NULL`: the rows of `id` whose
/// `column` (an end or a revocation) is not set yet.
fn find_where_null<C>(key: C, id: impl Into<sea_orm::Value>, column: C) -> Select<C::EntityName>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    <C::EntityName as EntityTrait>::find()
        .filter(key.eq(id))
        .filter(column.is_null())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::sqlite_path;

    #[tokio::test]
    async fn a_new_sqlite_file_and_its_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mut unique = [0u8; 8];
        getrandom::fill(&mut unique).unwrap();
        let base = std::env::temp_dir().join(format!("auth-perm-{}", u64::from_ne_bytes(unique)));
        let dir = base.join("nested");
        let file = dir.join("auth.db");
        let cfg = crate::config::DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            max_connections: 1,
            connect_wait_secs: 0,
            acquire_timeout_secs: 2,
        };
        let store = super::Store::connect(&cfg).await.unwrap();
        store.migrate().await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&base), 0o700);
        for side in ["auth.db-wal", "auth.db-shm"] {
            let p = dir.join(side);
            if p.exists() {
                assert_eq!(mode(&p) & 0o077, 0, "{side} is readable by others");
            }
        }
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/a.db?mode=rwc"),
            Some("data/a.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
