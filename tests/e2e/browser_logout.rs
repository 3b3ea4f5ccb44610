//! In a real headless browser (Chromium through chromedriver): logout that reaches every app. The
//! user signs in to two apps through the IdP; each app keeps its own session (its own cookie);
//! logging out at one app ends the IdP session, the IdP sends the other app a back-channel logout
//! token (OpenID Connect Back-Channel Logout 1.0) from its outbox in the background, and that
//! app's own session is gone: its `/me` says so, not only the IdP's login page.
//!
//! Skipped when `chromedriver` is not installed, unless `AUTH_TEST_REQUIRE_BROWSER` is set. SQLite
//! only: delivery is covered on both backends by `backchannel_logout*.rs`.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Alg;
use auth_server::domain::clients::NewClient;
use auth_server::domain::users::NewUser;
use tests::rp::{BoundRp, Rp};
use tests::webdriver::Driver;
use tests::{Backend, TestServer, decode_segment};

const PAGE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";

/// Registers `rp` as a confidential first-party client `id` with its back-channel logout URI, and
/// starts it on the IdP's clock.
async fn register(idp: &TestServer, id: &str, rp: BoundRp) -> Rp {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (client, secret) = idp
        .app
        .clients
        .create(NewClient {
            id: Some(id.to_owned()),
            name: rp.name.clone(),
            alg: Alg::Es256,
            allowed_scopes: own(&["openid", "profile"]),
            default_scopes: own(&["openid"]),
            redirect_uris: vec![format!("{}/callback", rp.base_url)],
            post_logout_redirect_uris: vec![format!("{}/logged-out", rp.base_url)],
            backchannel_logout_uri: Some(format!("{}/backchannel-logout", rp.base_url)),
            backchannel_logout_session_required: true,
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    rp.clock(Arc::new(idp.clock.clone()))
        .serve(&idp.base, &client.id, &secret.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_logout_at_one_app_ends_the_other_apps_own_session() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start_with(Backend::Sqlite, |c| {
        c.backchannel_logout.poll_interval_ms = 50;
    })
    .await;
    // The background delivery, as `App::serve` runs it.
    let drainer = idp.app.backchannel.spawn();
    idp.app
        .users
        .create(NewUser {
            username: "alice".into(),
            email: None,
            display_name: Some("Alice Liddell".into()),
            password: Some(PASSWORD.into()),
        })
        .await
        .unwrap();
    let wiki = register(&idp, "wiki", Rp::bind("Wiki").await).await;
    let dash = register(&idp, "dashboard", Rp::bind("Dashboard").await).await;
    assert_ne!(wiki.cookie_name(), dash.cookie_name());
    let pages = [
        "#login-form",
        "#welcome",
        "#app-logged-out",
        "#logout-form",
        "#error-title",
        "#rp-error",
        "#me",
        "#me-signed-out",
    ];

    // Signed in to the wiki (password) and the dashboard (single sign-on).
    browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#welcome", &pages, PAGE).await;
    browser.goto(&format!("{}/", dash.base_url)).await.unwrap();
    browser.expect_page("#welcome", &pages, PAGE).await;
    // Each app has its own session.
    for app in [&wiki, &dash] {
        browser.goto(&format!("{}/me", app.base_url)).await.unwrap();
        let me = browser.expect_page("#me", &pages, PAGE).await;
        assert_eq!(
            me.text().await.unwrap(),
            format!("Signed in to {} as alice", app.name)
        );
        assert!(browser.cookie(app.cookie_name()).await.unwrap().is_some());
    }
    let dash_sid = decode_segment(&dash.last_id_token().unwrap(), 1)["sid"].clone();

    // Logout at the wiki: its own session, then the IdP's (with its id_token_hint, no question).
    browser
        .goto(&format!("{}/logout", wiki.base_url))
        .await
        .unwrap();
    browser.expect_page("#app-logged-out", &pages, PAGE).await;

    // The dashboard's own session ends when its logout token arrives: its /me says so (the
    // browser still holds the dashboard's cookie; the app no longer knows it).
    let deadline = tokio::time::Instant::now() + PAGE;
    loop {
        browser
            .goto(&format!("{}/me", dash.base_url))
            .await
            .unwrap();
        let (found, _) = browser
            .wait_for_any(&["#me", "#me-signed-out"], PAGE)
            .await
            .unwrap();
        if found == "#me-signed-out" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dashboard's own session outlived the logout"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(browser.cookie(dash.cookie_name()).await.unwrap().is_some());
    assert_eq!(dash.live_sessions(), 0);
    let told = dash.logouts();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].sid.as_deref(), dash_sid.as_str());
    // The wiki ended its own session when it sent the browser to logout, and was told as well.
    browser
        .goto(&format!("{}/me", wiki.base_url))
        .await
        .unwrap();
    browser.expect_page("#me-signed-out", &pages, PAGE).await;
    assert_eq!(wiki.live_sessions(), 0);
    // And the IdP's session is gone: the dashboard asks for a password again.
    browser.goto(&format!("{}/", dash.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    drainer.abort();
    browser.quit().await.unwrap();
}
