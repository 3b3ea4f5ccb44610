//! `private_key_jwt` under concurrency: one assertion sent many times at once over two replicas on
//! one database authenticates exactly once (the `jti` replay cache is the database's), and
//! concurrent first uses of a `jwks_uri` share one fetch.

use std::sync::Arc;

use tests::Backend;
use tests::pkjwt::{
    ClientKeyPair, JwksAnswer, JwksServer, claims, form, post, register, register_with_jwks,
};
use tests::replicas::{PARALLEL, pick, replicas};

tests::on_both_backends!(
    replayed_assertion_wins_once,
    concurrent_callers_share_one_fetch
);

async fn replayed_assertion_wins_once(backend: Backend) {
    let servers = replicas(backend).await;
    let key = ClientKeyPair::new("ES256", Some("k"));
    register_with_jwks(&servers.0, "racer", &ClientKeyPair::set(&[&key])).await;
    let now = tests::now(&servers.0.clock);
    let assertion = key.sign(&claims("racer", &format!("{}/token", servers.0.base), now));
    let body = form(&assertion, "&grant_type=client_credentials");
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|i| {
            let (s, body) = (pick(&servers, i), body.clone());
            tokio::spawn(async move { post(&s, "/token", body).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            401 => assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains("already used")),
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        ok, 1,
        "exactly one of {PARALLEL} identical assertions authenticates"
    );
}

async fn concurrent_callers_share_one_fetch(backend: Backend) {
    let servers = replicas(backend).await;
    let key = Arc::new(ClientKeyPair::new("ES256", Some("k")));
    let jwks = JwksServer::start(JwksAnswer::Keys(ClientKeyPair::set(&[&key]))).await;
    register(&servers.0, "shared", None, Some(jwks.url.clone())).await;
    let s = servers.0.clone();
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move {
                let c = claims("shared", &format!("{}/token", s.base), tests::now(&s.clock));
                post(
                    &s,
                    "/token",
                    form(&key.sign(&c), "&grant_type=client_credentials"),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        jwks.hits(),
        1,
        "{PARALLEL} concurrent first uses, one fetch"
    );
}
