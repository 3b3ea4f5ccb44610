//! In a real headless browser (Chromium through chromedriver): a user enrolls TOTP at
//! `/account/mfa` (reading the key off the page, computing the code at the IdP's injected time),
//! signs out, and signs in again with the password and a TOTP code; the app's ID token says so
//! (`amr` `pwd otp mfa`, the multi-factor `acr`).
//!
//! Skipped when `chromedriver` is not installed, unless `AUTH_TEST_REQUIRE_BROWSER` is set. SQLite
//! only: storage is covered on both backends by the HTTP-level `mfa*` tests.

use std::time::Duration;

use auth_core::Alg;
use auth_server::domain::clients::NewClient;
use auth_server::domain::mfa::totp;
use auth_server::domain::users::NewUser;
use tests::rp::{BoundRp, Rp};
use tests::webdriver::Driver;
use tests::{Backend, TestServer, decode_segment};

/// How long a page may take to appear.
const PAGE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";

/// Registers `rp` as a confidential first-party client `id` and starts it.
async fn register(idp: &TestServer, id: &str, rp: BoundRp) -> Rp {
    let (client, secret) = idp
        .app
        .clients
        .create(NewClient {
            id: Some(id.to_owned()),
            name: rp.name.clone(),
            alg: Alg::Es256,
            allowed_scopes: vec!["openid".into(), "profile".into()],
            default_scopes: vec!["openid".into()],
            redirect_uris: vec![format!("{}/callback", rp.base_url)],
            post_logout_redirect_uris: vec![format!("{}/logged-out", rp.base_url)],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    rp.serve(&idp.base, &client.id, &secret.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_enrolls_totp_signs_out_and_signs_in_with_it() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start(Backend::Sqlite).await;
    let user = NewUser {
        username: "alice".into(),
        email: None,
        display_name: Some("Alice Liddell".into()),
        password: Some(PASSWORD.into()),
    };
    idp.app.users.create(user).await.unwrap();
    let wiki = register(&idp, "wiki", Rp::bind("Wiki").await).await;
    let pages = [
        "#login-form",
        "#mfa-form",
        "#welcome",
        "#app-logged-out",
        "#totp-start",
        "#totp-confirm",
        "#recovery-codes",
        "#error-title",
        "#rp-error",
    ];

    // 1. Password only.
    browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#welcome", &pages, PAGE).await;
    let id = decode_segment(&wiki.last_id_token().unwrap(), 1);
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));

    // 2. Enrollment: the QR code and the key as text; the first code confirms it.
    browser
        .goto(&format!("{}/account/mfa", idp.base))
        .await
        .unwrap();
    browser.expect_page("#totp-start", &pages, PAGE).await;
    browser.submit_by("#totp-start", PAGE).await.unwrap();
    browser.expect_page("#totp-confirm", &pages, PAGE).await;
    assert!(browser.try_find("#totp-qr svg").await.unwrap().is_some());
    let key = browser
        .find("#totp-secret")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = totp::from_base32(&key).expect("the key as base32");
    let code = totp::code_at(&secret, tests::now(&idp.clock)).unwrap();
    browser.type_into("#code", &code).await.unwrap();
    browser.submit_by("#totp-confirm", PAGE).await.unwrap();
    let codes = browser.expect_page("#recovery-codes", &pages, PAGE).await;
    assert_eq!(codes.text().await.unwrap().lines().count(), 10);

    // 3. Sign out.
    browser
        .goto(&format!("{}/logout", wiki.base_url))
        .await
        .unwrap();
    browser.expect_page("#app-logged-out", &pages, PAGE).await;

    // 4. Sign in again: the password, then the code of the next time step.
    idp.clock.advance(30);
    browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#mfa-form", &pages, PAGE).await;
    let code = totp::code_at(&secret, tests::now(&idp.clock)).unwrap();
    browser.type_into("#code", &code).await.unwrap();
    browser.submit_by("#verify", PAGE).await.unwrap();
    let welcome = browser.expect_page("#welcome", &pages, PAGE).await;
    assert_eq!(welcome.text().await.unwrap(), "Signed in to Wiki as alice");
    let id = decode_segment(&wiki.last_id_token().unwrap(), 1);
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], "urn:auth-server:acr:mfa");
    browser.quit().await.unwrap();
}
