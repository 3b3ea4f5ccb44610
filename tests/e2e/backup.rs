//! Backup and restore: an instance with clients, a user with a password, grants with refresh tokens
//! and rotated keys is backed up while it serves and writes (SQLite: `auth-server backup`, the online
//! `VACUUM INTO`; PostgreSQL: `pg_dump` and `pg_restore` into a new database). A fresh instance on
//! the copy with the same KEK serves the same keys, clients, users and grants; with another KEK it
//! refuses to start.
//!
//! Consistency of the snapshot is shown two ways: a write transaction held open across the backup is
//! not in the copy (only committed data is), and of a grant whose refresh token was rotated over and
//! over around the backup, exactly one refresh token is live in the copy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use auth_core::{Alg, Clock};
use auth_server::app::App;
use auth_server::domain::keys::kek::Kek;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::Value;
use tests::fixture::Sso;
use tests::oauth::{Agent, WebClient};
use tests::sso_support::{OFFLINE, alice_offline, grant, refreshed};
use tests::{Backend, ManualClock, TestServer, decode_segment, kids, verify};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(a_restored_backup_serves_the_same_keys_clients_users_and_grants);

/// The name the open transaction gives the client `partner`, never committed before the backup.
const UNCOMMITTED: &str = "renamed in a transaction open during the backup";

/// A deadline for what the test waits on.
const PATIENCE: Duration = Duration::from_secs(60);

async fn a_restored_backup_serves_the_same_keys_clients_users_and_grants(backend: Backend) {
    let Some(pg) = pg_tools(backend) else {
        return;
    };
    let sso = Sso::start(backend).await;
    let (s, app, mut browser, sub) = (Arc::new(sso.s), sso.app, sso.browser, sso.sub);
    let (partner, partner_secret) = s
        .client("partner", Alg::Rs256, &["p:read"], &["https://partner-api"])
        .await;
    rotate_twice(&s).await;
    let jwks = s.jwks().await;
    assert_eq!(
        kids(&jwks).len(),
        6,
        "retired, signing and pending keys of both algorithms"
    );
    let keys_before = key_rows(&s).await;
    let before = grant(&s, &mut browser, &app, OFFLINE, "alice").await;
    let cc_before = s.cc_access_token(&partner, &partner_secret).await;
    let kid_of = |t: &str| decode_segment(t, 0)["kid"].as_str().unwrap().to_owned();

    // Writes go on while the backup runs: a grant's refresh token rotated again and again, and a
    // transaction held open across the backup.
    let churn = Churn::start(&s, &app, alice_offline(&s, &mut browser, &app).await);
    churn.wait_for(2).await;
    let held = s.app.store.conn().begin().await.unwrap();
    held.execute_unprepared(&format!(
        "UPDATE clients SET name = '{UNCOMMITTED}' WHERE client_id = 'partner'"
    ))
    .await
    .unwrap();
    let dir = scratch_dir();
    let (url, name) = match &pg {
        None => sqlite_backup(&s, &dir).await,
        Some(pg) => postgres_backup(&s, pg, &dir).await,
    };
    held.commit().await.unwrap();
    let at_backup = churn.count();
    churn.wait_for(at_backup + 2).await;
    let churned = churn.stop().await;

    // Another KEK: the copy's signing keys do not open, and the server refuses to start.
    let issuer = s.base.clone();
    let mut config = tests::base_config(&url);
    config.server.issuer = issuer.clone();
    let clock = ManualClock::new(s.clock.now());
    let refused = App::start(config, Arc::new(clock.clone()), Kek::from_bytes([7; 32])).await;
    let error = refused.expect_err("a restore under another KEK must not start");
    assert!(
        error
            .to_string()
            .contains("which this server does not hold"),
        "unclear error: {error}"
    );

    // The same KEK: the same keys, clients, users and grants.
    let r = TestServer::start_on(&url, &name, clock, move |c| c.server.issuer = issuer).await;
    assert_eq!(
        key_rows(&r).await,
        keys_before,
        "the refused start changed no key"
    );
    assert_eq!(kids(&r.jwks().await), kids(&jwks), "the same JWKS");
    assert_eq!(client_name(&r, "partner").await, "test client partner");
    assert_eq!(client_name(&s, "partner").await, UNCOMMITTED);

    let cc = r.cc_access_token(&partner, &partner_secret).await;
    verify(&cc, &jwks);
    assert_eq!(
        kid_of(&cc),
        kid_of(&cc_before),
        "signed with the same RS256 key"
    );

    let after = refreshed(&r, &app, before.refresh()).await;
    assert_ne!(
        after.refresh(),
        before.refresh(),
        "the refresh token rotates"
    );
    let (_, claims) = verify(&after.access_token, &jwks);
    assert_eq!(claims["sub"], sub.as_str());
    assert_eq!(kid_of(&after.access_token), kid_of(&before.access_token));
    if let Some(id) = &after.id_token {
        verify(id, &jwks);
    }

    let signed_in = grant(&r, &mut Agent::new(), &app, "openid", "alice").await;
    let (_, id_claims) = verify(signed_in.id(), &jwks);
    assert_eq!(
        id_claims["sub"],
        sub.as_str(),
        "alice signs in with her password"
    );
    verify(&signed_in.access_token, &jwks);

    // Exactly one refresh token of the churned grant is live in the copy, and it works there.
    let mut live = Vec::new();
    for rt in &churned {
        if r.introspect(&app, rt).await["active"] == true {
            live.push(rt.clone());
        }
    }
    assert_eq!(
        live.len(),
        1,
        "{} of {} churned tokens live",
        live.len(),
        churned.len()
    );
    refreshed(&r, &app, &live[0]).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `auth-server backup` while the server runs; checks what it printed and the copy's integrity.
async fn sqlite_backup(s: &TestServer, dir: &Path) -> (String, String) {
    let config = cli_config(&s.db_url);
    let dest = dir.join("backup.db");
    let out = cli(&config, &s.clock, &["backup", dest.to_str().unwrap()])
        .await
        .unwrap();
    assert!(out.contains("integrity check ok"), "{out}");
    assert!(out.contains("NOT in the backup"), "{out}");
    let kek_file = config.keys.kek_file.display().to_string();
    assert!(
        out.contains(&kek_file),
        "the output names the KEK file: {out}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dest).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the backup is private");
    let ro = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", dest.display()))
        .await
        .unwrap();
    let integrity = pragma(&ro, "PRAGMA integrity_check").await;
    assert_eq!(integrity, ["ok"]);
    assert!(pragma(&ro, "PRAGMA foreign_key_check").await.is_empty());
    ro.close().await.unwrap();
    (
        format!("sqlite://{}?mode=rwc", dest.display()),
        "backup".to_owned(),
    )
}

/// `pg_dump` of the serving database, restored with `pg_restore` into a new database; and
/// `auth-server backup` refusing PostgreSQL with the `pg_dump` command to use.
async fn postgres_backup(s: &TestServer, pg: &PgTools, dir: &Path) -> (String, String) {
    let dest = dir.join("auth.dump");
    let config = cli_config(&s.db_url);
    let refused = cli(&config, &s.clock, &["backup", dest.to_str().unwrap()]).await;
    let advice = refused.expect_err("`backup` copies SQLite only");
    assert!(advice.contains("pg_dump --format=custom"), "{advice}");
    assert!(!dest.exists(), "nothing was written");
    run(
        &pg.dump,
        &["--format=custom", "--file", path(&dest), s.db_url.as_str()],
    )
    .await;
    let (url, name) = tests::fresh_database(Backend::Postgres).await;
    run(
        &pg.restore,
        &[
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &url,
            path(&dest),
        ],
    )
    .await;
    (url, name)
}

/// Rotates both algorithms, lets the new keys sign, and rotates again: a retired, a signing and a
/// pending key of each algorithm.
async fn rotate_twice(s: &TestServer) {
    s.app.keys.rotate(&Alg::ALL).await.unwrap();
    s.clock.advance(s.app.config.keys.publish_lead_secs);
    s.app.keys.rotate(&Alg::ALL).await.unwrap();
}

/// Every key row: kid, algorithm and state, oldest first.
async fn key_rows(s: &TestServer) -> Vec<(String, String, String)> {
    let rows = s.app.keys.list().await.unwrap();
    rows.into_iter()
        .map(|(r, state)| (r.kid, r.alg, state.as_str().to_owned()))
        .collect()
}

/// The stored name of client `id`, read from the database.
async fn client_name(s: &TestServer, id: &str) -> String {
    let conn = s.app.store.conn();
    let sql = format!("SELECT name FROM clients WHERE client_id = '{id}'");
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .expect("the client");
    row.try_get("", "name").unwrap()
}

/// The text rows a SQLite pragma returns.
async fn pragma(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap_or_default())
        .collect()
}

/// A grant's refresh token rotated in a loop until stopped; every token it held, in order.
struct Churn {
    stop: Arc<AtomicBool>,
    progress: tokio::sync::watch::Receiver<usize>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Churn {
    fn start(s: &Arc<TestServer>, app: &WebClient, first: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, progress) = tokio::sync::watch::channel(0);
        let (s, app, halt) = (s.clone(), app.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut tokens = vec![first];
            while !halt.load(Ordering::SeqCst) {
                let rt = tokens.last().unwrap().clone();
                let next = refreshed(&s, &app, &rt).await.refresh().to_owned();
                tokens.push(next);
                tx.send_replace(tokens.len() - 1);
            }
            tokens
        });
        Self {
            stop,
            progress,
            task,
        }
    }

    /// Refreshes done so far.
    fn count(&self) -> usize {
        *self.progress.borrow()
    }

    /// Waits until `n` refreshes are done.
    async fn wait_for(&self, n: usize) {
        let mut rx = self.progress.clone();
        tokio::time::timeout(PATIENCE, rx.wait_for(|done| *done >= n))
            .await
            .expect("the writer keeps refreshing")
            .unwrap();
    }

    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// The PostgreSQL client tools, for the PostgreSQL variant.
struct PgTools {
    dump: PathBuf,
    restore: PathBuf,
}

/// `Some(None)` for SQLite; `Some(Some(tools))` for PostgreSQL when `pg_dump` and `pg_restore` are
/// found (the newest `/usr/lib/postgresql/*/bin`, else `PATH`); `None` (skipped, with a message)
/// when they are not, unless `AUTH_TEST_REQUIRE_PG` is set.
fn pg_tools(backend: Backend) -> Option<Option<PgTools>> {
    if backend == Backend::Sqlite {
        return Some(None);
    }
    let tools = tool("pg_dump").zip(tool("pg_restore"));
    let Some((dump, restore)) = tools else {
        assert!(
            std::env::var("AUTH_TEST_REQUIRE_PG").is_err(),
            "AUTH_TEST_REQUIRE_PG is set but pg_dump or pg_restore is missing"
        );
        eprintln!("pg_dump or pg_restore not found: PostgreSQL backup test skipped");
        return None;
    };
    Some(Some(PgTools { dump, restore }))
}

fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    dirs.sort();
    let path = std::env::var_os("PATH").unwrap_or_default();
    dirs.into_iter()
        .rev()
        .map(|(_, d)| d)
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs `program` with `args`, asserting it succeeds.
async fn run(program: &Path, args: &[&str]) {
    let mut command = std::process::Command::new(program);
    command.args(args);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-backup-{}",
        auth_server::domain::random::token(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A backup never overwrites a file, and a missing database is not "backed up" as an empty one.
#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    let (url, _) = tests::fresh_database(Backend::Sqlite).await;
    let config = cli_config(&url);
    let clock = ManualClock::new(auth_core::SystemClock.now());
    let dir = scratch_dir();
    let missing = dir.join("missing.db");
    let mut nowhere = config.clone();
    nowhere.database.url = format!("sqlite://{}?mode=rwc", missing.display());
    let dest = dir.join("b.db");
    let err = cli(&nowhere, &clock, &["backup", path(&dest)])
        .await
        .unwrap_err();
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists() && !dest.exists(), "nothing was created");

    cli(&config, &clock, &["migrate"]).await.unwrap();
    std::fs::write(&dest, b"precious").unwrap();
    let err = cli(&config, &clock, &["backup", path(&dest)])
        .await
        .unwrap_err();
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");

    let fresh = dir.join("c.db");
    let out = cli(&config, &clock, &["backup", path(&fresh), "--json"])
        .await
        .unwrap();
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["integrity"], "ok");
    assert_eq!(report["kek_in_backup"], false);
    assert_eq!(
        report["kek"]["file"],
        config.keys.kek_file.display().to_string()
    );
    assert_eq!(report["bytes"], std::fs::metadata(&fresh).unwrap().len());
    let _ = std::fs::remove_dir_all(&dir);
}
