//! The connection pool's state, for the metrics (read at scrape time, no query).

use sea_orm::DbBackend;

use super::Store;

/// How the connection pool stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections checked out by a query or transaction.
    pub in_use: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The pool's limit (`database.max_connections`).
    pub max: u32,
}

impl Store {
    /// The pool's current state (`None` for a connection that is not a sqlx pool).
    pub fn pool_status(&self) -> Option<PoolStatus> {
        let (size, idle, max) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            DbBackend::Sqlite => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            _ => return None,
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        Some(PoolStatus {
            in_use: size - idle,
            idle,
            max,
        })
    }
}

/// The `kind` label of a database error, for `auth_server_db_errors_total`.
pub(super) fn error_kind(e: &sea_orm::DbErr) -> &'static str {
    use sea_orm::{DbErr, SqlErr};
    match e {
        DbErr::ConnectionAcquire(_) => "acquire",
        DbErr::Conn(_) => "connection",
        _ if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => "conflict",
        _ => "query",
    }
}
