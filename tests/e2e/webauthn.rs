//! WebAuthn over HTTP, on SQLite and PostgreSQL: what can be driven without an authenticator (the
//! browser test `browser_webauthn.rs` does the ceremonies for real). Ceremonies are single-use,
//! expire, and stay with the session or browser they were started for; the account page lists,
//! renames and removes only the user's own keys, and changes need a recent sign-in.
//!
//! The issuer is `http://localhost:PORT` (a relying party id must be a domain); requests go to
//! the listener's 127.0.0.1 address, which serves the same routes.

use auth_server::domain::users::Operator;
use auth_server::domain::webauthn::CEREMONY_TTL;
use auth_server::store::webauthn::WebauthnCredentialRecord;
use serde_json::Value;
use tests::oauth::{Agent, Page, Pkce, WebClient, first_party};
use tests::replicas::{PARALLEL, pick, replicas_with};
use tests::sso_support::PW;
use tests::{Backend, TestServer};

tests::on_both_backends!(
    the_account_page_lists_renames_and_removes_only_own_keys,
    a_registration_ceremony_is_finished_at_most_once,
    ceremonies_expire_and_stay_with_their_session,
    key_changes_need_a_recent_sign_in,
    passwordless_ceremonies_are_bound_to_the_browser,
);

/// The issuer on `localhost`, where WebAuthn is on.
fn localhost(c: &mut auth_server::config::Config) {
    c.server.issuer = c.server.issuer.replace("127.0.0.1", "localhost");
}

const PAGE: &str = "/account/mfa/webauthn";
const EXPIRED: &str = "the security key request expired or was already used";
const NOT_ACCEPTED: &str = "the security key&#39;s answer was not accepted";

/// A server with alice, bob and the first-party client `app`.
async fn server(backend: Backend) -> (TestServer, WebClient) {
    let s = TestServer::start_with(backend, localhost).await;
    s.user("alice", PW).await;
    s.user("bob", PW).await;
    let app = s.web_client("app", first_party()).await;
    (s, app)
}

/// A browser in which `user` signed in to `app` with their password (the sign-in form only, not
/// the passkey form on the same page).
async fn signed_in(s: &TestServer, app: &WebClient, user: &str) -> Agent {
    let mut agent = Agent::new();
    let page = agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"passkey-form\""), "{}", page.body);
    let login_form = Page {
        status: page.status,
        headers: page.headers.clone(),
        body: page
            .body
            .split("id=\"passkey-form\"")
            .next()
            .unwrap()
            .to_owned(),
    };
    let done = agent
        .submit(
            &login_form,
            &format!("{}/login", s.base),
            &[("username", user), ("password", PW)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    agent
}

/// The account page, and its CSRF token.
async fn account(s: &TestServer, agent: &mut Agent) -> (Page, String) {
    let page = agent.get(&format!("{}{PAGE}", s.base)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf").expect("a CSRF field");
    (page, csrf)
}

/// `POST .../start` with the CSRF token: status and JSON.
async fn start(s: &TestServer, agent: &mut Agent, path: &str, csrf: &str) -> (u16, Value) {
    let res = agent
        .post(&format!("{}{path}", s.base), &[("csrf", csrf)])
        .await;
    (
        res.status,
        serde_json::from_str(&res.body).unwrap_or(Value::Null),
    )
}

/// Finishes a registration with `ceremony` and a credential no authenticator made.
async fn finish(s: &TestServer, agent: &mut Agent, csrf: &str, ceremony: &str) -> Page {
    agent
        .post(
            &format!("{}{PAGE}", s.base),
            &[
                ("csrf", csrf),
                ("ceremony", ceremony),
                ("credential", "{\"id\":\"x\"}"),
                ("name", "Key"),
            ],
        )
        .await
}

/// Stores a credential for `user_id` directly (registering one needs an authenticator).
async fn stored_key(s: &TestServer, user_id: &str, id: &str, name: &str) {
    let added = s
        .app
        .store
        .insert_webauthn_credential(WebauthnCredentialRecord {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            credential_id: format!("cred-{id}"),
            name: name.to_owned(),
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
}

async fn the_account_page_lists_renames_and_removes_only_own_keys(backend: Backend) {
    let (s, app) = server(backend).await;
    // Not signed in: the account sign-in page.
    let anonymous = Agent::new().get(&format!("{}{PAGE}", s.base)).await;
    assert_eq!(anonymous.status, 302, "{}", anonymous.body);
    assert!(anonymous.location().unwrap().ends_with("/account/login"));
    let mut alice = signed_in(&s, &app, "alice").await;
    let mut bob = signed_in(&s, &app, "bob").await;
    let alice_id = s.app.users.find("alice").await.unwrap().unwrap().id;
    let bob_id = s.app.users.find("bob").await.unwrap().unwrap().id;
    stored_key(&s, &alice_id, "k1", "Laptop").await;
    stored_key(&s, &bob_id, "k2", "Bob's key").await;

    let (page, csrf) = account(&s, &mut alice).await;
    assert!(page.body.contains("Laptop"), "{}", page.body);
    assert!(!page.body.contains("Bob"), "{}", page.body);
    assert!(page.body.contains("2023-11-14 22:13 UTC"), "{}", page.body);
    // The page loads the one script, allowed by its own CSP and nothing more.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src http://localhost:"), "{csp}");
    assert!(csp.contains("/assets/webauthn.js;"), "{csp}");
    let script = Agent::new()
        .get(&format!("{}/assets/webauthn.js", s.base))
        .await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.body.contains("navigator.credentials"));

    // Renaming: the user's own key only; a bad name is refused with the page.
    let rename = |id: &'static str, name: &'static str, csrf: String| {
        let url = format!("{}{PAGE}/rename", s.base);
        move |agent: &mut Agent| {
            let (url, csrf) = (url.clone(), csrf.clone());
            let mut agent = agent.clone();
            async move {
                let p = agent
                    .post(&url, &[("csrf", &csrf), ("id", id), ("name", name)])
                    .await;
                (p.status, p.body)
            }
        }
    };
    let (status, _) = rename("k1", "Work laptop", csrf.clone())(&mut alice).await;
    assert_eq!(status, 303);
    let (status, body) = rename("k1", "   ", csrf.clone())(&mut alice).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("the name must be 1 to 64 characters"),
        "{body}"
    );
    let (_, bob_csrf) = account(&s, &mut bob).await;
    let (status, body) = rename("k1", "Mine now", bob_csrf.clone())(&mut bob).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no such security key"), "{body}");
    let (page, _) = account(&s, &mut alice).await;
    assert!(page.body.contains("Work laptop"), "{}", page.body);

    // Removing: bob cannot remove alice's key; alice can, once.
    let remove = |agent: &mut Agent, csrf: &str| {
        let mut agent = agent.clone();
        let (url, csrf) = (format!("{}{PAGE}/remove", s.base), csrf.to_owned());
        async move { agent.post(&url, &[("csrf", &csrf), ("id", "k1")]).await }
    };
    assert_eq!(remove(&mut bob, &bob_csrf).await.status, 400);
    assert_eq!(
        s.app
            .store
            .webauthn_credentials(&alice_id)
            .await
            .unwrap()
            .len(),
        1
    );
    let gone = remove(&mut alice, &csrf).await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert!(gone.location().unwrap().ends_with("?done=removed"));
    assert_eq!(remove(&mut alice, &csrf).await.status, 400);
    assert!(
        s.app
            .store
            .webauthn_credentials(&alice_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.app
            .store
            .webauthn_credentials(&bob_id)
            .await
            .unwrap()
            .len(),
        1
    );
    // A form without the CSRF token changes nothing.
    let forged = bob
        .post(&format!("{}{PAGE}/remove", s.base), &[("id", "k2")])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        s.app
            .store
            .webauthn_credentials(&bob_id)
            .await
            .unwrap()
            .len(),
        1
    );
    // Deleting a user deletes their keys with them.
    s.app
        .users
        .delete_as(&bob_id, &Operator::cli())
        .await
        .unwrap();
    assert!(
        s.app
            .store
            .webauthn_credentials(&bob_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.app
            .store
            .webauthn_credential_by_cred_id("cred-k2")
            .await
            .unwrap()
            .is_none()
    );
}

/// `PARALLEL` finishes of one registration ceremony at once, over two replicas: exactly one takes
/// it (its made-up credential is then refused), every other finds it used.
async fn a_registration_ceremony_is_finished_at_most_once(backend: Backend) {
    let servers = replicas_with(backend, localhost).await;
    servers.0.user("alice", PW).await;
    let app = servers.0.web_client("app", first_party()).await;
    let mut alice = signed_in(&servers.0, &app, "alice").await;
    let (_, csrf) = account(&servers.0, &mut alice).await;
    let (status, started) = start(&servers.0, &mut alice, &format!("{PAGE}/start"), &csrf).await;
    assert_eq!(status, 200, "{started}");
    let options: Value = serde_json::from_str(started["options"].as_str().unwrap()).unwrap();
    let pk = &options["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost", "{options}");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let ceremony = started["ceremony"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, mut agent) = (pick(&servers, i), alice.clone());
        let (csrf, ceremony) = (csrf.clone(), ceremony.clone());
        tasks.push(tokio::spawn(async move {
            finish(&s, &mut agent, &csrf, &ceremony).await.body
        }));
    }
    let (mut taken, mut used) = (0, 0);
    for t in tasks {
        let body = t.await.unwrap();
        match (body.contains(NOT_ACCEPTED), body.contains(EXPIRED)) {
            (true, false) => taken += 1,
            (false, true) => used += 1,
            _ => panic!("unexpected answer: {body}"),
        }
    }
    assert_eq!((taken, used), (1, PARALLEL - 1));
}

async fn ceremonies_expire_and_stay_with_their_session(backend: Backend) {
    let (s, app) = server(backend).await;
    let mut alice = signed_in(&s, &app, "alice").await;
    let mut other_tab = signed_in(&s, &app, "alice").await;
    let (_, csrf) = account(&s, &mut alice).await;
    let (_, other_csrf) = account(&s, &mut other_tab).await;
    let start_path = format!("{PAGE}/start");

    // Another session of the same user cannot finish it, nor burn it.
    let (_, started) = start(&s, &mut alice, &start_path, &csrf).await;
    let ceremony = started["ceremony"].as_str().unwrap().to_owned();
    let elsewhere = finish(&s, &mut other_tab, &other_csrf, &ceremony).await;
    assert_eq!(elsewhere.status, 400);
    assert!(elsewhere.body.contains(EXPIRED), "{}", elsewhere.body);
    let own = finish(&s, &mut alice, &csrf, &ceremony).await;
    assert!(own.body.contains(NOT_ACCEPTED), "{}", own.body);

    // A ceremony past its lifetime is gone (the clock moves; the session stays recent enough).
    let (_, started) = start(&s, &mut alice, &start_path, &csrf).await;
    let ceremony = started["ceremony"].as_str().unwrap().to_owned();
    s.clock.advance(CEREMONY_TTL + 1);
    let mut alice = signed_in(&s, &app, "alice").await;
    let (_, csrf) = account(&s, &mut alice).await;
    let late = finish(&s, &mut alice, &csrf, &ceremony).await;
    assert!(late.body.contains(EXPIRED), "{}", late.body);
    // Made-up and oversized ceremony ids are just unknown.
    for id in ["", "nope", &"x".repeat(5000)] {
        let p = finish(&s, &mut alice, &csrf, id).await;
        assert!(
            p.status == 400 || p.status == 413,
            "{}: {}",
            p.status,
            p.body
        );
    }
}

async fn key_changes_need_a_recent_sign_in(backend: Backend) {
    let (s, app) = server(backend).await;
    let mut alice = signed_in(&s, &app, "alice").await;
    let alice_id = s.app.users.find("alice").await.unwrap().unwrap().id;
    stored_key(&s, &alice_id, "k1", "Laptop").await;
    let (_, csrf) = account(&s, &mut alice).await;
    s.clock.advance(s.app.config.account.recent_auth_secs + 1);
    // The list is still shown; changes send the browser to sign in again, then back.
    account(&s, &mut alice).await;
    let (status, answer) = start(&s, &mut alice, &format!("{PAGE}/start"), &csrf).await;
    assert_eq!(status, 401, "{answer}");
    let location = answer["location"].as_str().unwrap();
    assert!(
        location.ends_with("/account/reauth?next=/account/mfa/webauthn"),
        "{location}"
    );
    let removed = alice
        .post(
            &format!("{}{PAGE}/remove", s.base),
            &[("csrf", &csrf), ("id", "k1")],
        )
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(removed.location(), Some(location));
    assert_eq!(
        s.app
            .store
            .webauthn_credentials(&alice_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn passwordless_ceremonies_are_bound_to_the_browser(backend: Backend) {
    let (s, app) = server(backend).await;
    let start_path = "/login/passkey/start";
    // A login page gives the browser its CSRF cookie; without the token there is no ceremony.
    let mut browser = Agent::new();
    let login = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let csrf = login.hidden("csrf").unwrap();
    let (status, _) = start(&s, &mut browser, start_path, "wrong").await;
    assert_eq!(status, 403);
    let (status, started) = start(&s, &mut browser, start_path, &csrf).await;
    assert_eq!(status, 200, "{started}");
    let options: Value = serde_json::from_str(started["options"].as_str().unwrap()).unwrap();
    assert_eq!(
        options["publicKey"]["userVerification"], "required",
        "{options}"
    );
    assert_eq!(options["publicKey"]["rpId"], "localhost", "{options}");
    assert!(
        options.get("mediation").is_none_or(Value::is_null),
        "{options}"
    );
    let ceremony = started["ceremony"].as_str().unwrap().to_owned();

    // The passkey form of the login page, with the ceremony and an assertion no key made.
    let passkey_form = |body: &str| {
        let part = body.split("id=\"passkey-form\"").nth(1).unwrap().to_owned();
        Page {
            status: 200,
            headers: Default::default(),
            body: part,
        }
    };
    let post = |agent: &mut Agent, page: &Page| {
        let mut agent = agent.clone();
        let hidden: Vec<(String, String)> = page
            .hidden_fields()
            .into_iter()
            .filter(|(k, _)| k != "ceremony" && k != "credential")
            .collect();
        let (url, ceremony) = (format!("{}/login/passkey", s.base), ceremony.clone());
        async move {
            let mut pairs: Vec<(&str, &str)> = hidden
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            pairs.push(("ceremony", &ceremony));
            pairs.push(("credential", "{\"id\":\"x\"}"));
            agent.post(&url, &pairs).await
        }
    };
    // Another browser (its own CSRF cookie) cannot use it, nor burn it.
    let mut thief = Agent::new();
    let thief_login = thief
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let stolen = post(&mut thief, &passkey_form(&thief_login.body)).await;
    assert_eq!(stolen.status, 401, "{}", stolen.body);
    assert!(stolen.body.contains(EXPIRED), "{}", stolen.body);
    assert!(!starts_session(&stolen));
    let own = post(&mut browser, &passkey_form(&login.body)).await;
    assert_eq!(own.status, 401, "{}", own.body);
    assert!(own.body.contains(NOT_ACCEPTED), "{}", own.body);
    assert!(!starts_session(&own));
    // Used up.
    let again = post(&mut browser, &passkey_form(&login.body)).await;
    assert!(again.body.contains(EXPIRED), "{}", again.body);
    assert!(!starts_session(&again));
}

/// Whether the answer sets a session cookie.
fn starts_session(p: &Page) -> bool {
    p.set_cookies()
        .iter()
        .any(|c| c.starts_with("auth_session=") && !c.starts_with("auth_session=;"))
}
