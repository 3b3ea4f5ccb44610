//! Passkeys in a real browser: Chromium through chromedriver, with WebDriver's virtual
//! authenticator (CTAP2, internal transport, discoverable credentials, user verification) standing
//! in for the hardware. A user signs in with their password, registers a passkey on the account
//! page, signs out, and signs in again with the passkey alone; the ID token says how (`amr`).
//!
//! The issuer is `http://localhost:PORT`: a WebAuthn relying party id must be a domain (an IP
//! address is refused by browsers and by webauthn-rs), and browsers treat http://localhost as a
//! secure context. Skipped when chromedriver is not installed, unless `AUTH_TEST_REQUIRE_BROWSER`
//! is set. SQLite only: the storage paths run on both databases in `webauthn.rs`.

use std::time::Duration;

use auth_core::Alg;
use auth_server::domain::clients::NewClient;
use auth_server::domain::users::NewUser;
use tests::rp::{BoundRp, Rp};
use tests::webdriver::{Driver, VirtualAuthenticator};
use tests::{Backend, TestServer, decode_segment};

/// How long a page or a WebAuthn ceremony may take (a shared 2-core machine, a debug build).
const PAGE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";

/// The app, a first-party client of the IdP at `issuer`.
async fn register(idp: &TestServer, issuer: &str, rp: BoundRp) -> Rp {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (client, secret) = idp
        .app
        .clients
        .create(NewClient {
            id: Some("wiki".to_owned()),
            name: rp.name.clone(),
            alg: Alg::Es256,
            allowed_scopes: own(&["openid", "profile"]),
            default_scopes: own(&["openid"]),
            redirect_uris: vec![format!("{}/callback", rp.base_url)],
            post_logout_redirect_uris: vec![format!("{}/logged-out", rp.base_url)],
            public: false,
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    rp.serve(issuer, &client.id, &secret.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_passkey_registered_then_signs_in_without_a_password() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.issuer = c.server.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    let issuer = idp.base.replace("127.0.0.1", "localhost");
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
    let wiki = register(&idp, &issuer, Rp::bind("Wiki").await).await;
    let authenticator = browser
        .add_virtual_authenticator(VirtualAuthenticator::PASSKEY)
        .await
        .unwrap();
    let pages = [
        "#login-form",
        "#welcome",
        "#app-logged-out",
        "#error-title",
        "#rp-error",
    ];

    // 1. A password sign-in through the app.
    browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#welcome", &pages, PAGE).await;
    let first = decode_segment(&wiki.last_id_token().unwrap(), 1);
    assert_eq!(first["amr"], serde_json::json!(["pwd"]), "{first}");

    // 2. The account page: no key yet; the add form appears once the script has run.
    browser
        .goto(&format!("{issuer}/account/mfa/webauthn"))
        .await
        .unwrap();
    browser.wait_for("#webauthn-none", PAGE).await.unwrap();
    browser
        .wait_for("#webauthn-register:not([hidden])", PAGE)
        .await
        .unwrap();
    browser
        .execute(
            "document.getElementById('webauthn-name').value = 'Laptop passkey';",
            Vec::new(),
        )
        .await
        .unwrap();
    browser
        .find("#webauthn-add")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let outcome = browser
        .wait_for(
            "#webauthn-notice, #webauthn-error, [data-webauthn-error]:not([hidden])",
            PAGE,
        )
        .await
        .unwrap();
    assert_eq!(outcome.text().await.unwrap(), "The passkey was added.");
    let listed = browser.find("#webauthn-credentials").await.unwrap();
    let listed = listed.text().await.unwrap();
    assert!(listed.contains("Laptop passkey"), "{listed}");
    assert!(listed.contains("on one device"), "{listed}");
    // The authenticator holds it as a discoverable credential for this relying party.
    let held = browser.virtual_credentials(&authenticator).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], true, "{held:?}");
    assert_eq!(held[0]["rpId"], "localhost", "{held:?}");

    // 3. Sign out everywhere (the app's logout goes through the IdP's).
    browser
        .goto(&format!("{}/logout", wiki.base_url))
        .await
        .unwrap();
    browser.expect_page("#app-logged-out", &pages, PAGE).await;

    // 4. Back to the app: the sign-in page offers the passkey; no username, no password.
    browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    browser
        .wait_for("#passkey-form:not([hidden])", PAGE)
        .await
        .unwrap();
    browser
        .find("#passkey-sign-in")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let welcome = browser
        .wait_for(
            "#welcome, [data-webauthn-error]:not([hidden]), #login-error",
            PAGE,
        )
        .await
        .unwrap();
    assert_eq!(welcome.text().await.unwrap(), "Signed in to Wiki as alice");
    let second = decode_segment(&wiki.last_id_token().unwrap(), 1);
    assert_eq!(second["sub"], first["sub"], "{second}");
    // RFC 8176: a device-bound key (not backup eligible) is `hwk`; the authenticator verified the
    // user (UV), which with possession of the key is `mfa`.
    assert_eq!(second["amr"], serde_json::json!(["hwk", "mfa"]), "{second}");
    let used = browser.virtual_credentials(&authenticator).await.unwrap();
    assert!(
        used[0]["signCount"].as_u64().unwrap_or_default() >= 1,
        "{used:?}"
    );

    // 5. The account page shows when it was last used.
    browser
        .goto(&format!("{issuer}/account/mfa/webauthn"))
        .await
        .unwrap();
    let listed = browser
        .wait_for("#webauthn-credentials", PAGE)
        .await
        .unwrap();
    let listed = listed.text().await.unwrap();
    assert!(!listed.contains("never"), "{listed}");
    browser
        .remove_virtual_authenticator(&authenticator)
        .await
        .unwrap();
    browser.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_security_key_is_the_second_factor_after_the_password() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.issuer = c.server.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    let issuer = idp.base.replace("127.0.0.1", "localhost");
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
    let wiki = register(&idp, &issuer, Rp::bind("Wiki").await).await;
    let authenticator = browser
        .add_virtual_authenticator(VirtualAuthenticator::PASSKEY)
        .await
        .unwrap();
    let pages = [
        "#login-form",
        "#mfa-form",
        "#welcome",
        "#app-logged-out",
        "#error-title",
        "#rp-error",
    ];
    let password = async || {
        browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
        browser.expect_page("#login-form", &pages, PAGE).await;
        browser.type_into("#username", "alice").await.unwrap();
        browser.type_into("#password", PASSWORD).await.unwrap();
        browser.submit_by("#sign-in", PAGE).await.unwrap();
    };

    // 1. A password sign-in (no factor yet), then a security key added on the account page.
    password().await;
    browser.expect_page("#welcome", &pages, PAGE).await;
    browser
        .goto(&format!("{issuer}/account/mfa/webauthn"))
        .await
        .unwrap();
    browser
        .wait_for("#webauthn-register:not([hidden])", PAGE)
        .await
        .unwrap();
    browser
        .execute(
            "document.getElementById('webauthn-name').value = 'Security key';",
            Vec::new(),
        )
        .await
        .unwrap();
    browser
        .find("#webauthn-add")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let outcome = browser
        .wait_for(
            "#webauthn-notice, #webauthn-error, [data-webauthn-error]:not([hidden])",
            PAGE,
        )
        .await
        .unwrap();
    assert_eq!(outcome.text().await.unwrap(), "The passkey was added.");

    // 2. Signed out, then the password again: the second-factor page offers the key.
    browser
        .goto(&format!("{}/logout", wiki.base_url))
        .await
        .unwrap();
    browser.expect_page("#app-logged-out", &pages, PAGE).await;
    password().await;
    browser.expect_page("#mfa-form", &pages, PAGE).await;
    browser
        .wait_for("#key-form:not([hidden])", PAGE)
        .await
        .unwrap();
    browser
        .find("#use-key")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let welcome = browser
        .wait_for(
            "#welcome, [data-webauthn-error]:not([hidden]), #mfa-error",
            PAGE,
        )
        .await
        .unwrap();
    assert_eq!(welcome.text().await.unwrap(), "Signed in to Wiki as alice");
    let claims = decode_segment(&wiki.last_id_token().unwrap(), 1);
    // RFC 8176: the password, a device-bound key (`hwk`), and two factors (`mfa`).
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "hwk", "mfa"]),
        "{claims}"
    );
    assert_eq!(claims["acr"], auth_server::domain::mfa::ACR_MFA, "{claims}");
    browser
        .remove_virtual_authenticator(&authenticator)
        .await
        .unwrap();
    browser.quit().await.unwrap();
}
