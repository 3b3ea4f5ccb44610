//! CORS across replicas: an origin withdrawn through one replica (a client disabled, an origin
//! removed) stops being allowed there at once and on the other replica within
//! `clients.cache_ttl_secs`, the lifetime of its cached origin set. Runs on SQLite and PostgreSQL,
//! two server instances on one database.

use std::time::{Duration, Instant};

use auth_server::domain::audit::{Actor, RequestMeta};
use auth_server::domain::clients::{ClientUpdate, NewClient};
use tests::replicas::replicas_with;
use tests::{Backend, TestServer};

tests::on_both_backends!(a_withdrawn_origin_stops_being_allowed_on_every_replica);

/// The status of a preflight for `POST /token` from `origin` at `s`.
async fn preflight(s: &TestServer, origin: &str) -> u16 {
    s.http
        .request(reqwest::Method::OPTIONS, format!("{}/token", s.base))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls `s` until the preflight from `origin` answers `status`; false if it never did within
/// `within` (the deadline is generous: a shared machine, not the bound under test).
async fn becomes(s: &TestServer, origin: &str, status: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if preflight(s, origin).await == status {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_withdrawn_origin_stops_being_allowed_on_every_replica(backend: Backend) {
    let (a, b) = replicas_with(backend, |c| c.clients.cache_ttl_secs = 1).await;
    let new = NewClient {
        redirect_uris: vec!["https://spa.example/cb".into()],
        allowed_origins: vec!["https://extra.example".into()],
        public: true,
        ..tests::new_client("spa", auth_core::Alg::Es256, &["openid"], &[])
    };
    a.app.clients.create(new).await.unwrap();
    for s in [&a, &b] {
        for origin in ["https://spa.example", "https://extra.example"] {
            assert!(
                becomes(s, origin, 204, Duration::from_secs(15)).await,
                "{origin} at {}",
                s.base
            );
        }
    }

    // One origin removed through replica a: refused there at once, and on b once its set expires.
    let update = ClientUpdate {
        allowed_origins: Some(vec![]),
        ..ClientUpdate::default()
    };
    let (admin, meta) = (Actor::Admin("test".into()), RequestMeta::default());
    let updated = a.app.clients.update_by("spa", update, &admin, &meta).await;
    assert!(updated.unwrap().is_some());
    assert_eq!(preflight(&a, "https://extra.example").await, 403);
    assert_eq!(preflight(&a, "https://spa.example").await, 204);
    assert!(becomes(&b, "https://extra.example", 403, Duration::from_secs(15)).await);
    assert_eq!(preflight(&b, "https://spa.example").await, 204);

    // The client disabled through replica b: its redirect URI's origin goes too, everywhere.
    assert!(b.app.clients.set_enabled("spa", false).await.unwrap());
    assert_eq!(preflight(&b, "https://spa.example").await, 403);
    assert!(becomes(&a, "https://spa.example", 403, Duration::from_secs(15)).await);
}
