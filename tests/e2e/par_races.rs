//! The invariant of pushed authorization requests (RFC 9126), raced: a `request_uri` yields at
//! most one authorization code, however many requests bring it at once over two replicas sharing
//! one database, on SQLite and PostgreSQL.

use tests::Backend;
use tests::fixture::alice_at_app;
use tests::oauth::Pkce;
use tests::par::{par_authorize, pushed};
use tests::replicas::{PARALLEL, pick, replicas};
use tests::sso_support::{PW, good_params};

tests::on_both_backends!(a_request_uri_yields_at_most_one_code_under_a_stampede);

/// `PARALLEL` requests at once bring one `request_uri` to `/authorize` from a signed-in browser
/// (so each would get a code at once), spread over both replicas: exactly one gets a code, the
/// others `invalid_request_uri`; the code is redeemed once.
async fn a_request_uri_yields_at_most_one_code_under_a_stampede(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
    // Sign alice in (a code she does not need).
    a.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    for round in 0..3 {
        let pkce = Pkce::new();
        let uri = pushed(&a, &app, &good_params(&app, &pkce)).await;
        let mut tasks = Vec::new();
        for i in 0..PARALLEL {
            let s = pick(&servers, i);
            let url = par_authorize(&s, &app.id, &uri, &[]);
            let mut tab = browser.clone();
            tasks.push(tokio::spawn(async move { tab.get(&url).await }));
        }
        let mut codes = Vec::new();
        for t in tasks {
            let page = t.await.unwrap();
            assert_eq!(page.status, 302, "round {round}: {}", page.body);
            match page.location_param("code") {
                Some(code) => codes.push(code),
                None => assert_eq!(
                    page.location_param("error").as_deref(),
                    Some("invalid_request_uri"),
                    "round {round}: {:?}",
                    page.location()
                ),
            }
        }
        assert_eq!(codes.len(), 1, "round {round}: {} codes", codes.len());
        let (status, body) = servers.1.redeem(&app, &codes[0], &pkce.verifier).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
}
