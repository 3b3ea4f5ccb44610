//! Unit tests of the client registry: public and confidential clients, and redirect URIs at
//! registration.

use super::*;

async fn registry() -> ClientRegistry {
    let store = Store::connect(&crate::config::DatabaseConfig {
        url: "sqlite::memory:".into(),
        max_connections: 1,
        connect_wait_secs: 0,
        acquire_timeout_secs: 5,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    ClientRegistry::new(
        store,
        Arc::new(auth_core::SystemClock),
        Duration::from_secs(60),
    )
}

fn new_client(id: &str, public: bool) -> NewClient {
    NewClient {
        id: Some(id.into()),
        name: id.into(),
        alg: Alg::Es256,
        allowed_scopes: vec!["openid".into()],
        default_scopes: vec![],
        allowed_resources: vec![],
        redirect_uris: vec![
            "https://app.example.com/cb".into(),
            "http://127.0.0.1:9000/cb".into(),
            "https://app.example.com/cb".into(),
        ],
        post_logout_redirect_uris: vec!["https://app.example.com/".into()],
        public,
        first_party: true,
        always_refresh: public,
        ..NewClient::default()
    }
}

#[tokio::test]
async fn public_clients_have_no_secret_and_never_authenticate() {
    let reg = registry().await;
    let (c, secret) = reg.create(new_client("spa", true)).await.unwrap();
    assert_eq!(secret, None);
    assert!(c.public && c.first_party && c.always_refresh);
    assert!(c.secret_sha256.is_empty());
    assert_eq!(
        c.redirect_uris,
        ["https://app.example.com/cb", "http://127.0.0.1:9000/cb"],
        "stored in order, duplicates dropped"
    );
    let stored = reg.get("spa").await.unwrap().unwrap();
    assert_eq!(*stored, c);
    // No secret works: not the empty one, not the digest of anything.
    for s in ["", "x", random::token(SECRET_BYTES).as_str()] {
        assert!(matches!(
            reg.authenticate("spa", s).await,
            Err(ClientError::Rejected)
        ));
    }
    // An empty stored digest never matches, even without the explicit public check.
    assert!(!random::secret_matches("", &[]));
    assert!(matches!(
        reg.rotate_secret("spa").await,
        Err(ClientError::PublicClient(id)) if id == "spa"
    ));
    assert!(reg.rotate_secret("nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn confidential_clients_keep_their_secret() {
    let reg = registry().await;
    let (c, secret) = reg.create(new_client("web", false)).await.unwrap();
    let secret = secret.unwrap();
    assert!(!c.public && c.secret_sha256.len() == 32);
    assert!(reg.authenticate("web", &secret).await.is_ok());
    let new_secret = reg.rotate_secret("web").await.unwrap().unwrap();
    assert!(reg.authenticate("web", &secret).await.is_err());
    assert!(reg.authenticate("web", &new_secret).await.is_ok());
}

#[tokio::test]
async fn invalid_redirect_uris_are_refused_at_registration() {
    let reg = registry().await;
    let mut bad = new_client("bad", false);
    bad.redirect_uris.push("http://example.com/cb".into());
    let err = reg.create(bad).await.unwrap_err().to_string();
    assert!(
        err.contains("redirect URI \"http://example.com/cb\" must use https"),
        "{err}"
    );
    let mut bad = new_client("bad", true);
    bad.post_logout_redirect_uris = vec!["https://app.example.com/#x".into()];
    let err = reg.create(bad).await.unwrap_err().to_string();
    assert!(err.contains("post-logout redirect URI"), "{err}");
    assert!(reg.get("bad").await.unwrap().is_none());
}
