//! The apps on the account page, on SQLite and PostgreSQL: those the user consented to and those
//! holding grants are listed; withdrawing ends the consent and every grant of the user at that app
//! (and needs a recent sign-in). And the re-authentication page: only local account paths as
//! `next`, throttled like a sign-in.

use tests::oauth::{Agent, Pkce, WebClientOptions};
use tests::responses::TokenResponse;
use tests::sso_support::{PW, assert_refresh_dead, decide, inactive};
use tests::{Backend, TestServer, decode_segment};

use crate::account::{account_page, events, post_account, url};

tests::on_both_backends!(
    consented_apps_are_listed_and_withdrawing_ends_their_grants,
    withdrawing_needs_a_recent_sign_in,
    reauth_returns_only_to_account_paths,
    reauth_is_throttled_like_a_sign_in,
);

/// Erin allows `partner` (`openid email offline_access`) and redeems the code: her browser (signed
/// in, at the IdP), the client and the tokens.
pub(crate) async fn erin_at_partner(
    s: &TestServer,
) -> (Agent, tests::oauth::WebClient, TokenResponse) {
    s.user("erin", PW).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&partner, &pkce, "openid email offline_access", &[]))
        .await;
    let consent = s.sign_in(&mut browser, &page, "erin", PW).await;
    assert!(consent.body.contains("id=\"allow\""), "{}", consent.body);
    let back = decide(s, &mut browser, &consent, "allow").await;
    let code = back.location_param("code").expect("a code");
    let (status, body) = s.redeem(&partner, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    (browser, partner, TokenResponse::parse(&body))
}

/// The consented app is listed with its name and the scopes in words; withdrawing it revokes its
/// refresh token and access token (listed in the revocation feed), deletes the consent (the next
/// authorization asks again) and records `consent.withdrawn`; withdrawing again finds nothing.
async fn consented_apps_are_listed_and_withdrawing_ends_their_grants(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (mut browser, partner, t) = erin_at_partner(&s).await;
    let sub = s.app.users.find("erin").await.unwrap().unwrap().id;
    let page = account_page(&s, &mut browser).await;
    assert!(page.body.contains("App partner"), "{}", page.body);
    assert!(page.body.contains("Your e-mail address"), "{}", page.body);
    assert!(page.body.contains("data-client=\"partner\""));
    let done = post_account(
        &s,
        &mut browser,
        &page,
        "/account/consents/withdraw",
        &[("client", "partner")],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        Some(url(&s, "/account?done=withdrawn").as_str())
    );
    assert_refresh_dead(&s, &partner, t.refresh()).await;
    assert_eq!(s.introspect(&partner, &t.access_token).await, inactive());
    let jti = decode_segment(&t.access_token, 1)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed: serde_json::Value = s.get("/revocations").await.json().await.unwrap();
    assert!(
        feed["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["jti"] == jti.as_str())
    );
    let after = account_page(&s, &mut browser).await;
    assert!(after.body.contains("id=\"no-apps\""), "{}", after.body);
    assert_eq!(events(&s, &sub, "consent.withdrawn").await.len(), 1);
    let again = post_account(
        &s,
        &mut browser,
        &after,
        "/account/consents/withdraw",
        &[("client", "partner")],
    )
    .await;
    assert_eq!(again.status, 404);
    assert_eq!(events(&s, &sub, "consent.withdrawn").await.len(), 1);
    // The next authorization (still signed in) asks for consent again.
    let next = browser
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid", &[]))
        .await;
    assert!(next.body.contains("id=\"allow\""), "{}", next.body);
}

/// Withdrawing more than `account.recent_auth_secs` after sign-in goes through the
/// re-authentication page first; nothing is withdrawn before.
async fn withdrawing_needs_a_recent_sign_in(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (mut browser, partner, t) = erin_at_partner(&s).await;
    s.clock.advance(301);
    let page = account_page(&s, &mut browser).await;
    let away = post_account(
        &s,
        &mut browser,
        &page,
        "/account/consents/withdraw",
        &[("client", "partner")],
    )
    .await;
    assert_eq!(away.status, 303);
    assert_eq!(
        away.location(),
        Some(url(&s, "/account/reauth?next=/account").as_str())
    );
    let (status, _) = s.refresh(&partner, t.refresh(), None).await;
    assert_eq!(
        status, 200,
        "nothing was withdrawn before the password was entered again"
    );
    let form = browser.get(away.location().unwrap()).await;
    let back = browser
        .submit(&form, &url(&s, "/account/reauth"), &[("password", PW)])
        .await;
    assert_eq!(back.status, 303);
    let page = account_page(&s, &mut browser).await;
    let done = post_account(
        &s,
        &mut browser,
        &page,
        "/account/consents/withdraw",
        &[("client", "partner")],
    )
    .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location(),
        Some(url(&s, "/account?done=withdrawn").as_str())
    );
}

/// `next` is only ever a local `/account...` path: an absolute URL, a scheme-relative one or
/// another path becomes `/account`, in the form and after it; without a session the page sends
/// the browser to sign in.
async fn reauth_returns_only_to_account_paths(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let mut anonymous = Agent::new();
    let r = anonymous
        .get(&url(&s, "/account/reauth?next=/account"))
        .await;
    assert_eq!(r.location(), Some(url(&s, "/account/login").as_str()));
    let mut browser = Agent::new();
    crate::account::account_sign_in(&s, &mut browser, "alice", PW).await;
    let evil = [
        "https://evil.example/account",
        "//evil.example/account",
        "/%5Cevil.example",
        "/token",
        "/account/../token",
    ];
    for next in evil {
        let q = tests::oauth::encode_form(&[("next", next)]);
        let form = browser.get(&url(&s, &format!("/account/reauth?{q}"))).await;
        assert_eq!(form.status, 200);
        assert_eq!(form.hidden("next").as_deref(), Some("/account"), "{next}");
        let csrf = form.hidden("csrf").unwrap();
        let back = browser
            .post(
                &url(&s, "/account/reauth"),
                &[("csrf", &csrf), ("next", next), ("password", PW)],
            )
            .await;
        assert_eq!(back.status, 303);
        assert_eq!(
            back.location(),
            Some(url(&s, "/account").as_str()),
            "{next}"
        );
    }
    let form = browser
        .get(&url(&s, "/account/reauth?next=/account/mfa"))
        .await;
    assert_eq!(form.hidden("next").as_deref(), Some("/account/mfa"));
    let back = browser
        .submit(&form, &url(&s, "/account/reauth"), &[("password", PW)])
        .await;
    assert_eq!(back.location(), Some(url(&s, "/account/mfa").as_str()));
}

/// Wrong passwords at `/account/reauth` are counted like sign-ins: after the pair limit the page
/// answers 429 without checking, and the right password no longer helps from this address.
async fn reauth_is_throttled_like_a_sign_in(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let mut browser = Agent::new();
    crate::account::account_sign_in(&s, &mut browser, "alice", PW).await;
    // Without the device cookie the sign-in gave: the guesses come from an untrusted client.
    browser.cookies.remove("auth_device");
    let form = browser.get(&url(&s, "/account/reauth?next=/account")).await;
    let action = url(&s, "/account/reauth");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            browser
                .submit(&form, &action, &[("password", "guess")])
                .await
                .status,
        );
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let right = browser.submit(&form, &action, &[("password", PW)]).await;
    assert_eq!(right.status, 429);
    assert!(events(&s, &sub, "sign_in.failure").await.len() >= 5);
}
