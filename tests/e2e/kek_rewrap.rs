//! KEK rotation (README "Key-encryption key rotation"): replicas holding the new KEK as current or
//! as previous share one database mid-rollout, `auth-server keys rewrap` re-seals every private
//! key under the new KEK (each row exactly once, even with rewraps running at once on two
//! instances), and afterwards the old KEK can go. A key sealed under a KEK a server does not hold is
//! a clear start-up error naming the key and the KEK.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use auth_core::{Alg, Clock, SystemClock};
use auth_server::app::{App, AppState};
use auth_server::cli::{Command, JsonFlag, KeysCommand, run_admin_with_clock};
use auth_server::domain::keys::binding;
use auth_server::domain::keys::kek::Kek;
use auth_server::domain::keys::kek_set::KekSet;
use auth_server::domain::keys::rewrap::RewrapReport;
use auth_server::model::audit::AuditQuery;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tests::{Backend, ManualClock, base_config, basic, fresh_database, kids, new_client};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

tests::on_both_backends!(
    replicas_mid_rollout_share_keys_and_rewrap_moves_every_key,
    concurrent_rewraps_reseal_each_row_exactly_once,
    a_key_under_an_unknown_kek_is_a_clear_start_up_error,
);

const OLD: [u8; 32] = [11; 32];
const NEW: [u8; 32] = [12; 32];

fn kek(bytes: [u8; 32]) -> Kek {
    Kek::from_bytes(bytes)
}

fn id(bytes: [u8; 32]) -> String {
    kek(bytes).id().to_owned()
}

/// `current`, with `previous` accepted.
fn keks(current: [u8; 32], previous: &[[u8; 32]]) -> KekSet {
    KekSet::new(kek(current), previous.iter().map(|b| kek(*b)).collect())
}

/// One replica: an `App` started with its own KEKs on the shared database, serving HTTP.
struct Replica {
    base: String,
    app: AppState,
    http: reqwest::Client,
    task: JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn try_replica(
    db_url: &str,
    clock: &ManualClock,
    issuer: Option<&str>,
    keks: KekSet,
) -> Result<Replica, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = base_config(db_url);
    config.server.issuer = issuer.unwrap_or(&base).to_owned();
    let app = App::start(config, Arc::new(clock.clone()), keks)
        .await
        .map_err(|e| e.to_string())?;
    let router = auth_server::http::router(app.http_state());
    let limits = app.config.server.limits();
    let task = tokio::spawn(async move {
        auth_server::http::serve(listener, router, limits, std::future::pending()).await;
    });
    Ok(Replica {
        base,
        app,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        task,
    })
}

async fn replica(db_url: &str, clock: &ManualClock, issuer: Option<&str>, keks: KekSet) -> Replica {
    try_replica(db_url, clock, issuer, keks).await.unwrap()
}

impl Replica {
    async fn jwks(&self) -> Value {
        let url = format!("{}/jwks", self.base);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A client-credentials access token for `(id, secret)`.
    async fn token(&self, id: &str, secret: &str) -> String {
        let res = self
            .http
            .post(format!("{}/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic(id, secret))
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Tokens of `client` signed here verify against the JWKS of every replica in `others`.
    async fn signs_for(&self, client: &(String, String), others: &[&Replica]) {
        let token = self.token(&client.0, &client.1).await;
        for other in others {
            tests::verify(&token, &other.jwks().await);
        }
    }

    async fn kek_ids(&self) -> Vec<(String, String)> {
        let rows = self.app.store.list_keys().await.unwrap();
        rows.into_iter().map(|r| (r.kid, r.kek_id)).collect()
    }

    async fn rewrap_events(&self) -> Vec<String> {
        let q = AuditQuery {
            event_type: Some("key.rewrapped".into()),
            limit: 10_000,
            ..AuditQuery::default()
        };
        let events = self.app.store.audit_events(&q).await.unwrap();
        events.into_iter().filter_map(|e| e.subject).collect()
    }
}

async fn client(r: &Replica) -> (String, String) {
    let new = new_client("svc", Alg::Es256, &["a"], &["https://api"]);
    let (c, secret) = r.app.clients.create(new).await.unwrap();
    (c.id, secret.unwrap())
}

/// `auth-server keys rewrap --json` with the new KEK in `keys.kek_file` and `previous` in
/// `keys.kek_previous_file`, as an operator runs it: its outcome and what it printed.
async fn rewrap_cli_with(
    db_url: &str,
    clock: &ManualClock,
    previous: [u8; 32],
) -> (Result<(), String>, Value) {
    let token = auth_server::domain::random::token(8);
    let dir = std::env::temp_dir().join(format!("kek-rewrap-{token}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (current, old) = (dir.join("kek"), dir.join("kek_previous"));
    std::fs::write(&current, format!("{}\n", STANDARD.encode(NEW))).unwrap();
    std::fs::write(
        &old,
        format!("# the old one\n{}\n", STANDARD.encode(previous)),
    )
    .unwrap();
    let mut config = base_config(db_url);
    config.keys.kek_file = current;
    config.keys.kek_previous_file = old;
    let mut out = Vec::new();
    let cmd = Command::Keys(KeysCommand::Rewrap(JsonFlag { json: true }));
    let result = run_admin_with_clock(config, cmd, Arc::new(clock.clone()), &mut out).await;
    let _ = std::fs::remove_dir_all(&dir);
    (
        result.map_err(|e| e.to_string()),
        serde_json::from_slice(&out).unwrap(),
    )
}

/// [`rewrap_cli_with`] the old KEK, which must succeed.
async fn rewrap_cli(db_url: &str, clock: &ManualClock) -> Value {
    let (result, report) = rewrap_cli_with(db_url, clock, OLD).await;
    result.unwrap();
    report
}

async fn replicas_mid_rollout_share_keys_and_rewrap_moves_every_key(backend: Backend) {
    let (db, _) = fresh_database(backend).await;
    let clock = ManualClock::new(SystemClock.now());
    // Before: every replica holds only the old KEK; the first keys are sealed under it.
    let before = replica(&db, &clock, None, keks(OLD, &[])).await;
    let issuer = before.base.clone();
    let svc = client(&before).await;
    assert!(before.kek_ids().await.iter().all(|(_, k)| *k == id(OLD)));

    // Step 1 done everywhere, step 2 half-way: one replica still seals under the old KEK (and
    // accepts the new one), the other already seals under the new KEK (and accepts the old one).
    let old_cur = replica(&db, &clock, Some(&issuer), keks(OLD, &[NEW])).await;
    let new_cur = replica(&db, &clock, Some(&issuer), keks(NEW, &[OLD])).await;
    assert_eq!(kids(&old_cur.jwks().await), kids(&new_cur.jwks().await));
    old_cur.signs_for(&svc, &[&old_cur, &new_cur]).await;
    new_cur.signs_for(&svc, &[&old_cur, &new_cur]).await;

    // A key rotated through the new-current replica is sealed under the new KEK; the old-current
    // replica opens it through its previous KEK and, once it activates, signs with it.
    let rotated = new_cur.app.keys.rotate(&[Alg::Es256]).await.unwrap();
    let auth_server::domain::keys::RotationOutcome::Created { kid: fresh, .. } = &rotated[0].1
    else {
        panic!("{rotated:?}")
    };
    let row = new_cur.app.store.key(fresh).await.unwrap().unwrap();
    assert_eq!(row.kek_id, id(NEW));
    old_cur.app.keys.reload().await.unwrap();
    assert!(kids(&old_cur.jwks().await).contains(fresh));
    // A replica that skipped step 1 cannot open it, and says which key and which KEK.
    let err = before.app.keys.reload().await.err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.contains(fresh.as_str()) && err.contains(&id(NEW)),
        "{err}"
    );
    clock.advance(new_cur.app.config.keys.publish_lead_secs + 1);
    for r in [&old_cur, &new_cur] {
        r.app.keys.maintain().await.unwrap();
    }
    let token = old_cur.token(&svc.0, &svc.1).await;
    assert_eq!(tests::decode_segment(&token, 0)["kid"], fresh.as_str());
    tests::verify(&token, &new_cur.jwks().await);

    // Step 3: the rewrap moves every other row to the new KEK, once, with one audit event each.
    let under_old: BTreeSet<String> = before
        .kek_ids()
        .await
        .into_iter()
        .filter(|(_, k)| *k == id(OLD))
        .map(|(kid, _)| kid)
        .collect();
    let report = rewrap_cli(&db, &clock).await;
    assert_eq!(report["kek_id"], id(NEW));
    assert_eq!(report["complete"], true);
    assert_eq!(report["already_current"], 1, "{report}");
    let rewrapped: BTreeSet<String> = serde_json::from_value(report["rewrapped"].clone()).unwrap();
    assert_eq!(rewrapped, under_old);
    assert!(new_cur.kek_ids().await.iter().all(|(_, k)| *k == id(NEW)));
    let mut listed = Vec::new();
    let list = Command::Keys(KeysCommand::List(JsonFlag { json: true }));
    let config = base_config(&db);
    run_admin_with_clock(config, list, Arc::new(clock.clone()), &mut listed)
        .await
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed).unwrap();
    let listed_keks: BTreeSet<&str> = tests::field_of(&listed, "kek_id").into_iter().collect();
    assert_eq!(
        listed_keks,
        BTreeSet::from([id(NEW).as_str()]),
        "keys list names the KEK"
    );
    let events: BTreeSet<String> = new_cur.rewrap_events().await.into_iter().collect();
    assert_eq!(events, under_old);
    // Run again: nothing left to do.
    let again = rewrap_cli(&db, &clock).await;
    assert_eq!(again["rewrapped"], serde_json::json!([]));
    assert_eq!(new_cur.rewrap_events().await.len(), under_old.len());

    // Both replicas reload the re-sealed rows and keep serving the same keys.
    for r in [&old_cur, &new_cur] {
        r.app.keys.reload().await.unwrap();
    }
    let served = kids(&new_cur.jwks().await);
    assert_eq!(kids(&old_cur.jwks().await), served);
    old_cur.signs_for(&svc, &[&new_cur]).await;

    // Step 4: a replica with only the new KEK starts and serves the same kids; one with only the
    // old KEK no longer can, and says why.
    let after = replica(&db, &clock, Some(&issuer), keks(NEW, &[])).await;
    assert_eq!(kids(&after.jwks().await), served);
    after.signs_for(&svc, &[&new_cur]).await;
    let stale = try_replica(&db, &clock, Some(&issuer), keks(OLD, &[])).await;
    let err = stale.err().unwrap_or_default();
    assert!(
        err.contains(&id(NEW)) && err.contains("AUTH_SERVER_KEYS_KEK"),
        "{err}"
    );
}

async fn concurrent_rewraps_reseal_each_row_exactly_once(backend: Backend) {
    let (db, _) = fresh_database(backend).await;
    let clock = ManualClock::new(SystemClock.now());
    let first = replica(&db, &clock, None, keks(OLD, &[])).await;
    // Several generations per algorithm, and a revoked key (no private key left to re-seal).
    for _ in 0..2 {
        first.app.keys.rotate(&Alg::ALL).await.unwrap();
        clock.advance(first.app.config.keys.publish_lead_secs + 1);
    }
    let es = first.kek_ids().await[0].0.clone();
    first.app.keys.revoke(&es).await.unwrap();
    let rows = first.app.store.list_keys().await.unwrap();
    let live: HashSet<String> = rows
        .iter()
        .filter(|r| r.revoked_at.is_none())
        .map(|r| r.kid.clone())
        .collect();
    assert_eq!(
        live.len(),
        5,
        "three generations of two algorithms, one revoked"
    );

    let x = replica(&db, &clock, None, keks(NEW, &[OLD])).await;
    let y = replica(&db, &clock, None, keks(NEW, &[OLD])).await;
    let mut runs = Vec::new();
    for i in 0..8 {
        let app = if i % 2 == 0 {
            x.app.clone()
        } else {
            y.app.clone()
        };
        runs.push(tokio::spawn(async move { app.keys.rewrap().await }));
    }
    let mut reports: Vec<RewrapReport> = Vec::new();
    for r in runs {
        reports.push(r.await.unwrap().unwrap());
    }
    let mut rewrapped: Vec<String> = reports.iter().flat_map(|r| r.rewrapped.clone()).collect();
    rewrapped.sort();
    let once: Vec<String> = {
        let mut v: Vec<String> = live.iter().cloned().collect();
        v.sort();
        v
    };
    assert_eq!(
        rewrapped, once,
        "every live row re-sealed by exactly one run"
    );
    for r in &reports {
        assert!(r.complete(), "{r:?}");
        assert_eq!(r.revoked, 1);
        assert_eq!(
            r.rewrapped.len() + r.already_current + r.rewrapped_elsewhere,
            live.len()
        );
    }
    let mut events = x.rewrap_events().await;
    events.sort();
    assert_eq!(events, once, "one key.rewrapped event per row");

    // Every row now opens under the new KEK alone and passes every binding check.
    let new = kek(NEW);
    for row in x.app.store.list_keys().await.unwrap() {
        if row.revoked_at.is_none() {
            assert_eq!(row.kek_id, id(NEW));
            binding::verify(&row, &new).unwrap_or_else(|e| panic!("{}: {e}", row.kid));
        }
    }
    x.app.keys.reload().await.unwrap();
    let fresh = replica(&db, &clock, None, keks(NEW, &[])).await;
    assert_eq!(kids(&fresh.jwks().await), kids(&x.jwks().await));
}

async fn a_key_under_an_unknown_kek_is_a_clear_start_up_error(backend: Backend) {
    let (db, _) = fresh_database(backend).await;
    let clock = ManualClock::new(SystemClock.now());
    let first = replica(&db, &clock, None, keks(OLD, &[])).await;
    let some_kid = first.kek_ids().await[0].0.clone();
    let err = try_replica(&db, &clock, None, keks(NEW, &[[13; 32]])).await;
    let err = err.err().unwrap_or_default();
    assert!(err.contains(&id(OLD)), "names the KEK the key needs: {err}");
    assert!(err.contains("sealed under key-encryption key"), "{err}");
    assert!(err.contains(&id(NEW)), "names the KEKs it holds: {err}");
    let kid_named = first
        .kek_ids()
        .await
        .iter()
        .any(|(kid, _)| err.contains(kid.as_str()));
    assert!(kid_named, "names the key: {err} (e.g. {some_kid})");
    // A rewrap given the wrong previous KEK re-seals nothing, says which keys it could not, and
    // fails (the old KEK must stay).
    let (result, report) = rewrap_cli_with(&db, &clock, [13; 32]).await;
    let err = result.err().unwrap_or_default();
    assert!(err.contains("keep the previous KEK"), "{err}");
    assert_eq!(report["complete"], false);
    assert_eq!(report["rewrapped"], serde_json::json!([]));
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), first.kek_ids().await.len());
    for f in failed {
        let why = f["error"].as_str().unwrap();
        assert!(
            why.contains(&id(OLD)) && why.contains(f["kid"].as_str().unwrap()),
            "{why}"
        );
    }
    assert!(first.kek_ids().await.iter().all(|(_, k)| *k == id(OLD)));
    // The first replica, holding the right KEK, is untouched.
    first.app.keys.reload().await.unwrap();
    assert_eq!(first.app.keys.algorithms_without_signer(), vec![]);
}

/// The KEKs come from the environment or files; a variable and its `_FILE` form both set is refused.
#[test]
fn keks_load_from_the_environment_and_files() {
    let config = base_config("sqlite::memory:");
    let env = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    let both = App::load_kek_from(
        &config,
        env(&[
            ("AUTH_SERVER_KEYS_KEK", STANDARD.encode(NEW)),
            ("AUTH_SERVER_KEYS_KEK_FILE", "/run/secrets/kek".into()),
        ]),
    );
    let msg = both.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("AUTH_SERVER_KEYS_KEK_FILE"), "{msg}");
    let set = App::load_kek_from(
        &config,
        env(&[
            ("AUTH_SERVER_KEYS_KEK", STANDARD.encode(NEW)),
            (
                "AUTH_SERVER_KEYS_KEK_PREVIOUS",
                format!("{},{}", STANDARD.encode(OLD), STANDARD.encode(NEW)),
            ),
        ]),
    )
    .unwrap();
    assert_eq!(set.current().id(), id(NEW));
    assert_eq!(set.ids(), format!("{},{}", id(NEW), id(OLD)));
}
