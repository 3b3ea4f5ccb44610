//! The incremental feed loses nothing committed, although rows do not become visible in the order
//! of their sequence numbers: revocations (single `jti`s and per-subject cut-offs, each in its own
//! transaction) are written in parallel through two server instances sharing one database while a
//! client polls both replicas incrementally in a loop, taking every cursor it is given. At the end,
//! everything the whole list holds is known to the incremental poller.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auth_core::Clock;
use serde_json::Value;
use tests::Backend;
use tests::replicas::{PARALLEL, Replicas, pick, replicas};

use crate::feed_incremental::{jtis, poll, settled};

tests::on_both_backends!(
    no_revocation_is_skipped_by_an_incremental_poller,
    a_cursor_from_a_fresher_replica_gets_only_the_changes,
);

/// What the poller has learnt: `jti`s and subjects.
#[derive(Default)]
struct Known {
    jtis: HashSet<String>,
    subjects: HashSet<String>,
    cursor: String,
    etag: Option<String>,
    /// Answers that carried only changes (`"full": false`): the cursor was honoured.
    incremental: usize,
}

impl Known {
    /// One incremental poll of replica `i % 2`.
    async fn poll(&mut self, servers: &Replicas, i: usize) {
        let s = pick(servers, i);
        let a = poll(&s, &self.cursor, self.etag.as_deref()).await;
        if a.status == 304 {
            return;
        }
        assert_eq!(a.status, 200);
        if a.body["full"] == false {
            self.incremental += 1;
        }
        self.jtis.extend(jtis(&a.body));
        for e in a.body["revoked_subjects"].as_array().unwrap() {
            self.subjects.insert(e["sub"].as_str().unwrap().to_owned());
        }
        self.cursor = a.body["cursor"].as_str().unwrap().to_owned();
        self.etag = Some(a.etag);
    }
}

/// The whole list, as both replicas render it now.
async fn whole(servers: &Replicas) -> (HashSet<String>, HashSet<String>) {
    let (mut jtis_all, mut subjects) = (HashSet::new(), HashSet::new());
    for s in [&servers.0, &servers.1] {
        let body: Value = s.get("/revocations").await.json().await.unwrap();
        jtis_all.extend(jtis(&body));
        for e in body["revoked_subjects"].as_array().unwrap() {
            subjects.insert(e["sub"].as_str().unwrap().to_owned());
        }
    }
    (jtis_all, subjects)
}

async fn no_revocation_is_skipped_by_an_incremental_poller(backend: Backend) {
    const TOKENS: usize = 480;
    const SUBJECTS: usize = 120;
    let servers = replicas(backend).await;
    let exp = servers.0.clock.now() + 3600;
    let before = servers.0.clock.now();

    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (servers, stop) = (servers.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut known = Known::default();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                known.poll(&servers, i).await;
                i += 1;
            }
            (known, i)
        })
    };

    // PARALLEL writers, spread over both replicas' stores (their own connection pools).
    let mut writers = Vec::new();
    for w in 0..PARALLEL {
        let s = pick(&servers, w);
        writers.push(tokio::spawn(async move {
            let mut n = w;
            while n < TOKENS + SUBJECTS {
                if n < TOKENS {
                    s.app
                        .store
                        .revoke_access_token(&format!("race-{n}"), exp, None)
                        .await
                        .unwrap();
                } else {
                    // A transaction: grants ended, then the cut-off upserted.
                    s.app
                        .store
                        .end_user_grants(&format!("user-{n}"), before)
                        .await
                        .unwrap();
                }
                n += PARALLEL;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let (mut known, polls) = poller.await.unwrap();
    let incremental_during_writes = known.incremental;
    assert!(
        polls > 2,
        "the poller polled while the writers wrote ({polls})"
    );

    let (all_jtis, all_subjects) = whole(&servers).await;
    let written: HashSet<String> = (0..TOKENS).map(|n| format!("race-{n}")).collect();
    assert!(
        written.is_subset(&all_jtis),
        "the whole list has every revocation"
    );
    assert_eq!(all_subjects.len(), SUBJECTS);
    // Renderings are reused for a second: a few more polls bring what the last ones could not see
    // yet. A row skipped by a cursor would never come.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut i = 0;
    while !(all_jtis.is_subset(&known.jtis) && all_subjects.is_subset(&known.subjects)) {
        assert!(
            Instant::now() < deadline,
            "the incremental poller missed {} jtis and {} subjects",
            all_jtis.difference(&known.jtis).count(),
            all_subjects.difference(&known.subjects).count()
        );
        known.poll(&servers, i).await;
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The cursor was honoured at least once while rows were being written: what was checked is
    // the incremental path, not only whole lists.
    eprintln!("{incremental_during_writes} incremental answers in {polls} polls during the writes");
    assert!(
        incremental_during_writes > 0,
        "no answer was incremental while rows were written"
    );
}

/// Behind one load balancer a verifier's polls alternate between replicas, and a replica reuses its
/// rendering for up to a second: a cursor made by the other replica just now is above that
/// rendering's horizon. The replica renders again instead of taking the cursor for another
/// database's and sending the whole list.
async fn a_cursor_from_a_fresher_replica_gets_only_the_changes(backend: Backend) {
    let (a, b) = replicas(backend).await;
    let exp = a.clock.now() + 3600;
    a.app
        .store
        .revoke_access_token("old", exp, None)
        .await
        .unwrap();
    let cursor = poll(&a, "", None).await.body["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Replica a renders its recent rows now (and keeps them for a second).
    let cursor = settled(&a, &cursor).await;
    b.app
        .store
        .revoke_access_token("new", exp, None)
        .await
        .unwrap();
    let from_b = settled_past(&b, &cursor, "new").await;
    let at_a = poll(&a, &from_b, None).await;
    assert_eq!(at_a.status, 200);
    assert_eq!(at_a.body["full"], false, "{}", at_a.body);
    // Nothing new since b's cursor ("new" again at most: on PostgreSQL rows may come twice).
    assert!(jtis(&at_a.body).iter().all(|j| j == "new"), "{}", at_a.body);
    // A cursor this database never made still gets the whole list.
    let far = poll(&a, "v1-4000000000000", None).await;
    assert_eq!(far.body["full"], true);
}

/// Polls `s` from `cursor` until an answer lists `jti`, then returns that answer's cursor.
async fn settled_past(s: &tests::TestServer, cursor: &str, jti: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = poll(s, cursor, None).await;
        if jtis(&a.body).iter().any(|j| j == jti) {
            return a.body["cursor"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "{jti} never came: {}", a.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
