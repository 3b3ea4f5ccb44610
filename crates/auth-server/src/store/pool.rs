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

/// Whether a failed connect may succeed if tried again: the server cannot be reached yet (refused,
/// reset, timed out, its name not resolvable yet: an I/O error, or the pool's acquire timeout after
/// sqlx retried those), a connection closed during the handshake (a protocol error: what a
/// forwarder in front of a server that is not listening yet produces), or it is starting up or
/// shutting down (SQLSTATE class `57P`, "operator intervention"). A wrong password (class `28`), a missing database (`3D000`), a bad URL or
/// option, or a TLS failure fails the same way every time: waiting for it only delays the error.
pub(super) fn connect_retryable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e)) => match &**e {
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("57P")),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{DbErr, RuntimeErr, sqlx};

    use super::connect_retryable;

    fn conn(e: sqlx::Error) -> DbErr {
        DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e)))
    }

    #[test]
    fn only_unreachable_or_starting_servers_are_retried() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(connect_retryable(&conn(sqlx::Error::Io(refused))));
        assert!(connect_retryable(&conn(sqlx::Error::PoolTimedOut)));
        assert!(connect_retryable(&conn(sqlx::Error::Protocol(
            "unexpected response from SSLRequest".into()
        ))));
        assert!(!connect_retryable(&conn(sqlx::Error::Configuration(
            "invalid port".into()
        ))));
        assert!(!connect_retryable(&conn(sqlx::Error::Tls(
            "certificate".into()
        ))));
        assert!(!connect_retryable(&DbErr::Custom("cannot create x".into())));
    }
}
