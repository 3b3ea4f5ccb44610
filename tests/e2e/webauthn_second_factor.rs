//! A WebAuthn key as the second factor, over HTTP on SQLite and PostgreSQL: what can be driven
//! without an authenticator (the browser test `browser_webauthn.rs` answers with a virtual one).
//! A user whose only factor is a key gets the second-factor page after the password, with the key
//! form and no session; the start endpoint answers only for the pending sign-in this browser holds;
//! a ceremony not started for this pending sign-in is refused, counted against the second-factor
//! throttle, and never starts a session.

use auth_server::store::webauthn::WebauthnCredentialRecord;
use serde_json::Value;
use tests::oauth::{Agent, Page, Pkce, WebClient, first_party};
use tests::sso_support::PW;
use tests::{Backend, TestServer};

tests::on_both_backends!(
    a_key_only_user_gets_the_second_factor_page_with_the_key_form,
    the_key_start_answers_only_this_browsers_pending_sign_in,
    a_ceremony_not_started_for_the_pending_sign_in_is_refused_and_throttled,
);

/// A server on `localhost` (WebAuthn on) with alice, who has a key, and the client `app`.
async fn server(backend: Backend) -> (TestServer, WebClient) {
    let s = TestServer::start_with(backend, |c| {
        c.server.issuer = c.server.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let alice = s.app.users.find("alice").await.unwrap().unwrap().id;
    let added = s
        .app
        .store
        .insert_webauthn_credential(WebauthnCredentialRecord {
            id: "k1".to_owned(),
            user_id: alice,
            credential_id: "cred-k1".to_owned(),
            name: "Key".to_owned(),
            passkey: "{}".to_owned(),
            counter: 0,
            backup_eligible: false,
            backup_state: false,
            created_at: 1_700_000_000,
            last_used_at: None,
        })
        .await
        .unwrap();
    assert!(added);
    (s, app)
}

/// The part of `page` from the form `id` on (its hidden fields), or up to it.
fn part(page: &Page, id: &str, after: bool) -> Page {
    let marker = format!("id=\"{id}\"");
    let mut parts = page.body.split(marker.as_str());
    let body = match after {
        true => parts.nth(1).expect("the form").to_owned(),
        false => parts.next().unwrap_or_default().to_owned(),
    };
    Page {
        status: page.status,
        headers: page.headers.clone(),
        body,
    }
}

/// Whether the answer sets a session cookie.
fn starts_session(p: &Page) -> bool {
    p.set_cookies()
        .iter()
        .any(|c| c.starts_with("auth_session=") && !c.starts_with("auth_session=;"))
}

/// A new browser that signed alice in with her password: the page that follows.
async fn password_step(s: &TestServer, app: &WebClient) -> (Agent, Page) {
    let mut agent = Agent::new();
    let login = agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let form = part(&login, "passkey-form", false);
    let page = agent
        .submit(
            &form,
            &format!("{}/login", s.base),
            &[("username", "alice"), ("password", PW)],
        )
        .await;
    (agent, page)
}

/// `POST /login/mfa/webauthn/start` with the key form's fields, `ticket` replacing its ticket.
async fn start(s: &TestServer, agent: &mut Agent, page: &Page, ticket: &str) -> (u16, Value) {
    let fields: Vec<(String, String)> = part(page, "key-form", true)
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| !["ceremony", "credential", "mfa_ticket"].contains(&k.as_str()))
        .collect();
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("mfa_ticket", ticket));
    let res = agent
        .post(&format!("{}/login/mfa/webauthn/start", s.base), &pairs)
        .await;
    (
        res.status,
        serde_json::from_str(&res.body).unwrap_or(Value::Null),
    )
}

async fn a_key_only_user_gets_the_second_factor_page_with_the_key_form(backend: Backend) {
    let (s, app) = server(backend).await;
    let (_, page) = password_step(&s, &app).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"mfa-form\""), "{}", page.body);
    assert!(!starts_session(&page), "{:?}", page.set_cookies());
    // No TOTP enrollment: the key is the user's factor.
    assert!(!page.body.contains("enrollment_id"), "{}", page.body);
    let key = part(&page, "key-form", true);
    assert!(key.body.contains(" hidden>"), "{}", key.body);
    assert!(key.hidden("mfa_ticket").is_some(), "{}", key.body);
    assert!(key.body.contains("Use your security key or passkey"));
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.ends_with(&format!(
            "; script-src {0}/assets/webauthn.js; connect-src {0}/login/mfa/webauthn/start",
            s.base.replace("127.0.0.1", "localhost")
        )),
        "{csp}"
    );
}

async fn the_key_start_answers_only_this_browsers_pending_sign_in(backend: Backend) {
    let (s, app) = server(backend).await;
    let (mut browser, page) = password_step(&s, &app).await;
    let ticket = part(&page, "key-form", true).hidden("mfa_ticket").unwrap();
    // A wrong ticket: no ceremony.
    let (status, body) = start(&s, &mut browser, &page, "not-the-ticket").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    // Another browser, with its own CSRF cookie and this page's ticket: no ceremony.
    let (mut other, other_page) = password_step(&s, &app).await;
    let (status, body) = start(&s, &mut other, &other_page, &ticket).await;
    assert_eq!(status, 400, "{body}");
    // Without the CSRF token: refused.
    let res = browser
        .post(
            &format!("{}/login/mfa/webauthn/start", s.base),
            &[("mfa_ticket", ticket.as_str())],
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    // This browser's own ticket finds the pending sign-in (the stored key is no real credential,
    // so no options can be made from it: the answer says so, not that the sign-in expired).
    let (status, body) = start(&s, &mut browser, &page, &ticket).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error_description"], "no passkey or security key is registered",
        "{body}"
    );
}

async fn a_ceremony_not_started_for_the_pending_sign_in_is_refused_and_throttled(backend: Backend) {
    let (s, app) = server(backend).await;
    let (mut browser, page) = password_step(&s, &app).await;
    let key = part(&page, "key-form", true);
    let fields: Vec<(String, String)> = key
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| k != "ceremony" && k != "credential")
        .collect();
    let csrf = key.hidden("csrf").unwrap();
    let limit = usize::try_from(s.app.config.login.max_failures_per_pair).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..=limit {
        // A passwordless ceremony of this very browser: not bound to the pending sign-in.
        let started = browser
            .post(
                &format!("{}/login/passkey/start", s.base),
                &[("csrf", csrf.as_str())],
            )
            .await;
        assert_eq!(started.status, 200, "{}", started.body);
        let started: Value = serde_json::from_str(&started.body).unwrap();
        let ceremony = started["ceremony"].as_str().unwrap().to_owned();
        let mut pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("ceremony", &ceremony));
        pairs.push(("credential", "{\"id\":\"x\"}"));
        let res = browser
            .post(&format!("{}/login/mfa/webauthn", s.base), &pairs)
            .await;
        assert!(!starts_session(&res), "{:?}", res.set_cookies());
        assert!(res.body.contains("id=\"mfa-form\""), "{}", res.body);
        assert!(res.body.contains("id=\"key-form\""), "{}", res.body);
        statuses.push(res.status);
    }
    // Each refusal counted: refused (401) up to the limit, then locked (429).
    assert!(statuses[..limit].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[limit], 429, "{statuses:?}");
}
