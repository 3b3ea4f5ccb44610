//! Prometheus metrics on the admin listener: what each flow moves, by exactly how much, the gauges
//! read at scrape time (database pool, keys, queues), route labels that are templates never raw
//! paths, nothing on the public port, and nothing at all when `admin.metrics` is off. Each test runs
//! in its own process (nextest), where the recorder is installed once; assertions are on the
//! difference between two scrapes.

use auth_core::Alg;
use tests::admin_listener::Scrape;
use tests::oauth::{Agent, Pkce, first_party};
use tests::sso_support::{PW, revoke};
use tests::{Backend, TestServer};

tests::on_both_backends!(
    flows_move_their_counters_by_exactly_what_happened,
    gauges_read_the_pool_the_queues_and_the_key_ring,
    metrics_are_only_on_the_admin_listener,
    metrics_off_records_and_serves_nothing,
);

const TOKENS: &str = "auth_server_tokens_issued_total";
const SIGN_INS: &str = "auth_server_sign_ins_total";
const REQUESTS: &str = "auth_server_http_request_duration_seconds_count";
const CACHE: &str = "auth_server_client_cache_lookups_total";

fn requests(after: &Scrape, before: &Scrape, method: &str, route: &str, status: &str) -> f64 {
    let labels = [("method", method), ("route", route), ("status", status)];
    after.delta(before, REQUESTS, &labels)
}

async fn flows_move_their_counters_by_exactly_what_happened(backend: Backend) {
    let s = TestServer::start(backend).await;
    let admin = s.admin_listener().await;
    s.user("alice", PW).await;
    let app = s.web_client("app1", first_party()).await;
    let (id, secret) = s
        .client("svc", Alg::Es256, &["read"], &["https://api.example"])
        .await;

    // Client credentials, three times: one cache miss (the first lookup), then hits.
    let before = admin.scrape().await;
    for _ in 0..3 {
        s.cc_token(&id, &secret, "").await;
    }
    let after = admin.scrape().await;
    let cc = [("grant", "client_credentials"), ("alg", "ES256")];
    assert_eq!(after.delta(&before, TOKENS, &cc), 3.0);
    assert_eq!(requests(&after, &before, "POST", "/token", "200"), 3.0);
    assert_eq!(after.delta(&before, CACHE, &[("result", "miss")]), 1.0);
    assert_eq!(after.delta(&before, CACHE, &[("result", "hit")]), 2.0);
    assert_eq!(after.delta(&before, SIGN_INS, &[]), 0.0);

    // A wrong password, then the right one, then the code redeemed.
    let before = after;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    let failed = s
        .sign_in(&mut browser, &page, "alice", "not the password")
        .await;
    assert_eq!(failed.status, 401, "{}", failed.body);
    let done = tests::sso_support::try_login(&s, &mut browser, &failed, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let code = done.location_param("code").unwrap();
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    let after = admin.scrape().await;
    assert_eq!(
        after.delta(&before, SIGN_INS, &[("outcome", "rejected")]),
        1.0
    );
    assert_eq!(
        after.delta(&before, SIGN_INS, &[("outcome", "success")]),
        1.0
    );
    assert_eq!(after.delta(&before, SIGN_INS, &[]), 2.0, "no other outcome");
    assert_eq!(requests(&after, &before, "POST", "/login", "401"), 1.0);
    assert_eq!(requests(&after, &before, "POST", "/login", "303"), 1.0);
    assert_eq!(requests(&after, &before, "GET", "/authorize", "200"), 1.0);
    let code_grant = [("grant", "authorization_code"), ("alg", "ES256")];
    assert_eq!(after.delta(&before, TOKENS, &code_grant), 1.0);
    assert_eq!(after.delta(&before, TOKENS, &cc), 0.0);
    // Each password check waited for an argon2 thread once (the histogram's count).
    let argon2 = [("pool", "argon2")];
    let waits = "auth_server_pool_wait_seconds_count";
    assert_eq!(after.delta(&before, waits, &argon2), 2.0);

    // The revocation feed's size as last rendered: one revoked access token.
    let access = body["access_token"].as_str().unwrap();
    let (status, _) = revoke(&s, &app, access, None).await;
    assert_eq!(status, 200);
    assert_eq!(s.get("/revocations").await.status(), 200);
    let feed = admin.scrape().await;
    let entries = "auth_server_revocation_feed_entries";
    assert_eq!(feed.one(entries, &[("kind", "tokens")]), 1.0);
    assert_eq!(feed.one(entries, &[("kind", "keys")]), 0.0);
    assert!(feed.one("auth_server_revocation_feed_bytes", &[]) > 0.0);

    // A unique constraint refusing a write is a database error of kind "conflict".
    let before = feed;
    let dup = s
        .app
        .clients
        .create(tests::new_client("svc", Alg::Es256, &["read"], &[]))
        .await;
    assert!(dup.is_err());
    let after = admin.scrape().await;
    let errors = "auth_server_db_errors_total";
    assert_eq!(after.delta(&before, errors, &[("kind", "conflict")]), 1.0);
    assert_eq!(after.delta(&before, errors, &[]), 1.0);
}

async fn gauges_read_the_pool_the_queues_and_the_key_ring(backend: Backend) {
    let s = TestServer::start(backend).await;
    let admin = s.admin_listener().await;
    let m = admin.scrape().await;
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(m.one("auth_server_build_info", &version), 1.0);

    // The pool: its limit as configured, and every open connection either in use or idle.
    let pool = "auth_server_db_pool_connections";
    let (in_use, idle) = (
        m.one(pool, &[("state", "in_use")]),
        m.one(pool, &[("state", "idle")]),
    );
    let max = m.one("auth_server_db_pool_max_connections", &[]);
    assert_eq!(max, f64::from(s.app.config.database.max_connections));
    assert!(in_use >= 0.0 && idle >= 0.0 && in_use + idle >= 1.0 && in_use + idle <= max);

    // Queues at rest, and the password checks' capacity as configured.
    let depth = "auth_server_pool_queue_depth";
    assert_eq!(m.one(depth, &[("pool", "argon2")]), 0.0);
    assert_eq!(m.one(depth, &[("pool", "rsa-sign")]), 0.0);
    assert_eq!(m.one("auth_server_password_hash_in_flight", &[]), 0.0);
    let p = &s.app.config.passwords;
    let threads = if p.max_concurrent == 0 {
        std::thread::available_parallelism().unwrap().get()
    } else {
        p.max_concurrent
    };
    let capacity = m.one("auth_server_password_hash_capacity", &[]);
    assert_eq!(capacity, (threads + p.max_waiting) as f64);

    // Keys: created at start (activating at once, the clock has not moved); 100 s later each
    // algorithm's signing key is 100 s old, and the schedule's next times are 100 s nearer.
    s.clock.advance(100);
    let m = admin.scrape().await;
    let k = &s.app.config.keys;
    let (period, lead) = (k.rotation_period_secs as f64, k.publish_lead_secs as f64);
    for alg in ["ES256", "RS256"] {
        let age = m.one(
            "auth_server_signing_key_age_seconds",
            &[("alg", alg), ("state", "signing")],
        );
        assert_eq!(age, 100.0, "{alg}");
        let next = [("alg", alg)];
        let activation = m.one("auth_server_signing_key_next_activation_seconds", &next);
        assert_eq!(activation, period - 100.0, "{alg}");
        let rotation = m.one("auth_server_signing_key_next_rotation_seconds", &next);
        assert_eq!(rotation, period - lead - 100.0, "{alg}");
    }
    // Every key in the JWKS has its age, labelled with its kid.
    let jwks = s.jwks().await;
    for kid in tests::kids(&jwks) {
        let labels = [("kid", kid.as_str())];
        let found = m.matching("auth_server_signing_key_age_seconds", &labels);
        assert_eq!(found.count(), 1, "{kid}");
    }
}

async fn metrics_are_only_on_the_admin_listener(backend: Backend) {
    let s = TestServer::start(backend).await;
    let admin = s.admin_listener().await;
    let res = s.get("/metrics").await;
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("auth_server_"));

    // A path no route has is counted as "unmatched", never under its raw path.
    let before = admin.scrape().await;
    assert_eq!(s.get("/no-such-route-4711").await.status(), 404);
    assert_eq!(s.get("/metrics").await.status(), 404);
    let after = admin.scrape().await;
    assert_eq!(requests(&after, &before, "GET", "unmatched", "404"), 2.0);
    assert!(!after.text.contains("4711"));
    assert!(
        after
            .samples
            .iter()
            .filter_map(|x| x.labels.get("route"))
            .all(|r| r == "unmatched" || r.starts_with('/')),
        "{}",
        after.text
    );
}

async fn metrics_off_records_and_serves_nothing(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.admin.metrics = false).await;
    let admin = s.admin_listener().await;
    let (id, secret) = s
        .client("svc", Alg::Es256, &["read"], &["https://api.example"])
        .await;
    s.cc_token(&id, &secret, "").await;
    let res = admin.get("/metrics").await;
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("auth_server_"));
    assert!(
        auth_server::telemetry::handle().is_none(),
        "no recorder was installed in this process"
    );
}
