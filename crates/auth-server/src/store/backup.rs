//! Online backup of the SQLite database (`auth-server backup`): `VACUUM INTO`
//! (<https://sqlite.org/lang_vacuum.html#vacuuminto>) writes a consistent snapshot of the database
//! into a new file. It reads inside one read transaction, so in WAL mode the server keeps reading and
//! writing meanwhile, and the copy holds exactly the transactions committed before it began.
//!
//! PostgreSQL has its own tools for this (`pg_dump`); nothing here touches it.

use std::path::Path;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{Connection, SqliteConnection};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::{Store, StoreError};

/// The SQLite file a database URL names (`None` for PostgreSQL or an in-memory database).
pub fn sqlite_file(url: &str) -> Option<&Path> {
    super::sqlite_path(url).map(Path::new)
}

impl Store {
    /// Writes a consistent snapshot of this SQLite database into `dest`, which must not exist or be
    /// an empty file (SQLite refuses anything else), then flushes it to disk. Concurrent writers are
    /// not blocked (WAL mode); what they commit after the snapshot began is not in the copy.
    pub async fn vacuum_into(&self, dest: &Path) -> Result<(), StoreError> {
        if self.db.get_database_backend() != DbBackend::Sqlite {
            return Err(unavailable("VACUUM INTO is for SQLite databases only"));
        }
        let path = dest
            .to_str()
            .ok_or_else(|| unavailable("the backup's path is not valid UTF-8"))?;
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [path.into()],
            ))
            .await?;
        sync(dest).map_err(|e| unavailable(&format!("cannot flush {path} to disk: {e}")))
    }
}

/// `PRAGMA integrity_check` on the SQLite file `path`, opened read-only and immutable (nothing
/// else may write it meanwhile; no `-wal` or `-shm` file is made beside it): `["ok"]` for a sound
/// database, else the problems SQLite found.
pub async fn sqlite_integrity(path: &Path) -> Result<Vec<String>, StoreError> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&opts)
        .await
        .map_err(|e| StoreError::Unavailable(DbErr::Custom(e.to_string())))?;
    let found = sea_orm::sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await;
    let _ = conn.close().await;
    found.map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Flushes the file `path` and the directory entry that names it.
fn sync(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => std::fs::File::open(".")?.sync_all(),
    }
}

fn unavailable(message: &str) -> StoreError {
    StoreError::Unavailable(DbErr::Custom(message.to_owned()))
}
