//! The incremental revocation feed's cursor: every row of `revoked_access_tokens` and
//! `revoked_subjects` carries a `seq` stamped by the database itself, so that no writer of
//! revocations has to know about it, and a reader can tell which rows it may have missed.
//!
//! - PostgreSQL: `seq` is the writing transaction's id (`pg_current_xact_id()`, by a column default
//!   on insert and a trigger when a subject's cut-off is moved). Rows do not become visible in the
//!   order of their transaction ids, but every transaction whose id is below the `xmin` of a
//!   snapshot has ended, so a reader that takes `pg_snapshot_xmin(pg_current_snapshot())` *before*
//!   it reads has seen every committed row with a lower `seq`: that `xmin` is its cursor.
//! - SQLite: `seq` comes from a one-row counter (`revocation_seq`) that triggers move in the
//!   statement that writes the row. Writers are serialised by SQLite's write lock, so counter values
//!   become visible in order: the counter + 1, read before reading, is the cursor.
//!
//! Existing rows get `seq = 0`, below every cursor: they reach verifiers through full snapshots.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COMMON: [&str; 4] = [
    "ALTER TABLE revoked_access_tokens ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE revoked_subjects ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX idx_revoked_access_tokens_seq ON revoked_access_tokens (seq)",
    "CREATE INDEX idx_revoked_subjects_seq ON revoked_subjects (seq)",
];

const POSTGRES: [&str; 5] = [
    "ALTER TABLE revoked_access_tokens ALTER COLUMN seq SET DEFAULT (pg_current_xact_id()::text::bigint)",
    "ALTER TABLE revoked_subjects ALTER COLUMN seq SET DEFAULT (pg_current_xact_id()::text::bigint)",
    "CREATE FUNCTION revocation_seq_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN NEW.seq := pg_current_xact_id()::text::bigint; RETURN NEW; END $$",
    "CREATE TRIGGER revoked_subjects_seq BEFORE UPDATE ON revoked_subjects \
     FOR EACH ROW EXECUTE FUNCTION revocation_seq_stamp()",
    "CREATE TRIGGER revoked_access_tokens_seq BEFORE UPDATE ON revoked_access_tokens \
     FOR EACH ROW EXECUTE FUNCTION revocation_seq_stamp()",
];

const SQLITE: [&str; 5] = [
    "CREATE TABLE revocation_seq (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)",
    "INSERT INTO revocation_seq (id, n) VALUES (1, 0)",
    "CREATE TRIGGER revoked_access_tokens_seq AFTER INSERT ON revoked_access_tokens BEGIN \
     UPDATE revocation_seq SET n = n + 1 WHERE id = 1; \
     UPDATE revoked_access_tokens SET seq = (SELECT n FROM revocation_seq WHERE id = 1) \
     WHERE jti = NEW.jti; END",
    "CREATE TRIGGER revoked_subjects_seq_insert AFTER INSERT ON revoked_subjects BEGIN \
     UPDATE revocation_seq SET n = n + 1 WHERE id = 1; \
     UPDATE revoked_subjects SET seq = (SELECT n FROM revocation_seq WHERE id = 1) \
     WHERE sub = NEW.sub; END",
    "CREATE TRIGGER revoked_subjects_seq_update AFTER UPDATE OF before, expires_at \
     ON revoked_subjects BEGIN \
     UPDATE revocation_seq SET n = n + 1 WHERE id = 1; \
     UPDATE revoked_subjects SET seq = (SELECT n FROM revocation_seq WHERE id = 1) \
     WHERE sub = NEW.sub; END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let specific: &[&str] = match db.get_database_backend() {
            DbBackend::Postgres => &POSTGRES,
            DbBackend::Sqlite => &SQLITE,
            other => {
                return Err(DbErr::Migration(format!(
                    "the revocation cursor needs PostgreSQL or SQLite, not {other:?}"
                )));
            }
        };
        for sql in COMMON.iter().chain(specific) {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};
    use sea_orm_migration::MigratorTrait;

    use crate::store::Migrator;

    async fn seqs(db: &impl ConnectionTrait, sql: &str) -> Vec<i64> {
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<i64>(0).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn existing_rows_get_zero_and_new_writes_a_higher_seq_each() {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        let db = Database::connect(opts).await.unwrap();
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0024_revocation_cursor")
            .unwrap();
        Migrator::up(&db, Some(u32::try_from(before).unwrap()))
            .await
            .unwrap();
        db.execute_unprepared(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ('old', 10); \
             INSERT INTO revoked_subjects (sub, before, expires_at) VALUES ('ann', 1, 10)",
        )
        .await
        .unwrap();
        Migrator::up(&db, None).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ('a', 10); \
             INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ('b', 10); \
             INSERT INTO revoked_subjects (sub, before, expires_at) VALUES ('bob', 1, 10)",
        )
        .await
        .unwrap();
        let tokens = "SELECT seq FROM revoked_access_tokens ORDER BY jti";
        assert_eq!(seqs(&db, tokens).await, [1, 2, 0], "a, b, old");
        let subjects = "SELECT seq FROM revoked_subjects ORDER BY sub";
        assert_eq!(seqs(&db, subjects).await, [0, 3], "ann, bob");
        // Moving a cut-off (the upsert of a new password) stamps the row again.
        db.execute_unprepared(
            "INSERT INTO revoked_subjects (sub, before, expires_at) VALUES ('ann', 5, 20) \
             ON CONFLICT (sub) DO UPDATE SET before = excluded.before, expires_at = excluded.expires_at",
        )
        .await
        .unwrap();
        assert_eq!(seqs(&db, subjects).await, [4, 3]);
        assert_eq!(seqs(&db, "SELECT n FROM revocation_seq").await, [4]);
    }
}
