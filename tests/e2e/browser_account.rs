//! The account page in a real headless browser (Chromium through chromedriver): signing in to it,
//! the session list naming this browser, a password change, re-authentication after the recent
//! sign-in has passed, and signing out from the session list, all without JavaScript.
//!
//! Skipped when `chromedriver` is not installed, unless `AUTH_TEST_REQUIRE_BROWSER` is set. SQLite
//! only: storage is covered on both backends by `account*.rs`.

use std::time::Duration;

use tests::webdriver::Driver;
use tests::{Backend, TestServer};

/// How long a page may take to appear (a shared 2-core machine, a debug build, a cold browser).
const PAGE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a new and better password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_account_page_password_reauth_and_sign_out() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start(Backend::Sqlite).await;
    idp.user("alice", PASSWORD).await;
    let pages = [
        "#account-login-form",
        "#password-form",
        "#reauth-form",
        "#error-title",
    ];
    let account = format!("{}/account", idp.base);

    // 1. Not signed in: the account page sends the browser to its sign-in form.
    browser.goto(&account).await.unwrap();
    browser
        .expect_page("#account-login-form", &pages, PAGE)
        .await;
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#password-form", &pages, PAGE).await;
    assert_eq!(browser.current_url().await.unwrap(), account);

    // 2. The session list names this browser and marks it as this device.
    let source = browser.page_source().await.unwrap();
    assert!(source.contains("id=\"current-session\""), "{source}");
    assert!(source.contains("Chrome · Linux"), "{source}");

    // 3. A new password: the page says so and stays signed in.
    browser
        .type_into("#current_password", PASSWORD)
        .await
        .unwrap();
    browser
        .type_into("#new_password", NEW_PASSWORD)
        .await
        .unwrap();
    browser
        .type_into("#repeat_password", NEW_PASSWORD)
        .await
        .unwrap();
    browser.submit_by("#change-password", PAGE).await.unwrap();
    browser.expect_page("#password-form", &pages, PAGE).await;
    let notice = browser.find("#notice").await.unwrap().text().await.unwrap();
    assert!(notice.contains("Your password was changed"), "{notice}");

    // 4. After the recent sign-in has passed, a sensitive page asks for the password again and
    //    returns to where it was asked for.
    idp.clock.advance(301);
    browser
        .goto(&format!("{}/account/reauth?next=/account", idp.base))
        .await
        .unwrap();
    browser.expect_page("#reauth-form", &pages, PAGE).await;
    browser.type_into("#password", NEW_PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#password-form", &pages, PAGE).await;

    // 5. Ending this session from the list signs out here.
    browser.submit_by("#end-1", PAGE).await.unwrap();
    browser
        .expect_page("#account-login-form", &pages, PAGE)
        .await;
    browser.goto(&account).await.unwrap();
    browser
        .expect_page("#account-login-form", &pages, PAGE)
        .await;
    browser.quit().await.unwrap();
}
