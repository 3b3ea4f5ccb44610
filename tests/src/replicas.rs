//! Two server instances on one database, and the races the invariant tests run through them
//! (`tests/e2e/invariants*.rs`): many requests at once, spread over both replicas.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::oauth::{Agent, WebClient};
use crate::sso_support::{OFFLINE, assert_error, field, inactive, tokens};
use crate::{Backend, TestServer, decode_segment};

/// Two replicas sharing one database.
pub type Replicas = (Arc<TestServer>, Arc<TestServer>);

/// How many requests each race sends at once.
pub const PARALLEL: usize = 24;

/// Two replicas on one database, with one issuer identifier and one clock, and database pools
/// large enough that their transactions really overlap.
pub async fn replicas(backend: Backend) -> Replicas {
    replicas_with(backend, |_| {}).await
}

/// [`replicas`], both configured by `tweak`.
pub async fn replicas_with(
    backend: Backend,
    tweak: impl Fn(&mut auth_server::config::Config) + Clone + Send + 'static,
) -> Replicas {
    let t = tweak.clone();
    let a = TestServer::start_with(backend, move |c| {
        c.database.max_connections = 16;
        t(c);
    })
    .await;
    let issuer = a.base.clone();
    let b = TestServer::start_on(&a.db_url, &a.db_name, a.clock.clone(), move |c| {
        c.server.issuer = issuer;
        c.database.max_connections = 16;
        tweak(c);
    })
    .await;
    (Arc::new(a), Arc::new(b))
}

/// Replica `i % 2`.
pub fn pick(servers: &Replicas, i: usize) -> Arc<TestServer> {
    if i.is_multiple_of(2) {
        servers.0.clone()
    } else {
        servers.1.clone()
    }
}

/// Refreshes `rt` `PARALLEL` times at once over both replicas; returns every response.
pub async fn refresh_stampede(
    servers: &Replicas,
    app: &WebClient,
    rts: &[String],
) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, app, rt) = (pick(servers, i), app.clone(), rts[i % rts.len()].clone());
        tasks.push(tokio::spawn(
            async move { s.refresh(&app, &rt, None).await },
        ));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// The `jti`s the revocation feeds of both replicas list.
pub async fn feed(servers: &Replicas) -> HashSet<String> {
    let mut jtis = HashSet::new();
    for s in [&servers.0, &servers.1] {
        let body: Value = s.get("/revocations").await.json().await.unwrap();
        for e in body["revoked"].as_array().unwrap() {
            jtis.insert(e["jti"].as_str().unwrap().to_owned());
        }
    }
    jtis
}

/// Every access and refresh token that a successful response gave is dead: refresh tokens inactive
/// and refused, access tokens inactive at introspection and listed in the revocation feed.
pub async fn assert_all_dead(servers: &Replicas, app: &WebClient, issued: &[Value], what: &str) {
    let s = &servers.0;
    let listed = feed(servers).await;
    for t in issued {
        let access = field(t, "access_token");
        let jti = decode_segment(&access, 1)["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            listed.contains(&jti),
            "{what}: an access token issued in the race is missing from the revocation feed"
        );
        assert_eq!(s.introspect(app, &access).await, inactive(), "{what}");
        if let Some(rt) = t["refresh_token"].as_str() {
            assert_eq!(s.introspect(app, rt).await, inactive(), "{what}");
            assert_error(&s.refresh(app, rt, None).await, 400, "invalid_grant");
        }
    }
}

/// `n` grants (refresh-token families) of `user` under one browser session, with `offline_access`.
pub async fn families(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    user: &str,
    n: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(tokens(s, browser, app, OFFLINE, user).await);
    }
    out
}

/// The race of `no_access_token_escapes_a_refresh_token_revocation` (tests/e2e/invariants.rs) and
/// its siblings: while `PARALLEL` refreshes of `rts` run over both replicas, `revoke` runs;
/// afterwards every token the refreshes returned is dead, and the feed lists every access token
/// they returned.
pub async fn race_refreshes_against<F, Fut>(
    servers: &Replicas,
    app: &WebClient,
    rts: Vec<String>,
    what: &str,
    revoke: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let revoking = tokio::spawn(revoke());
    let results = refresh_stampede(servers, app, &rts).await;
    revoking.await.unwrap();
    let mut issued = Vec::new();
    for r in results {
        if r.0 == 200 {
            issued.push(r.1);
        } else {
            assert_error(&r, 400, "invalid_grant");
        }
    }
    assert_all_dead(servers, app, &issued, what).await;
    for rt in &rts {
        assert_eq!(servers.0.introspect(app, rt).await, inactive(), "{what}");
    }
}
