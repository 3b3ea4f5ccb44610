//! The account page at `/account` over HTTP, on SQLite and PostgreSQL: its own sign-in, the
//! password change (other sessions and every grant end, this session stays), the session list and
//! ending sessions, with "recent sign-in" before ending another session. Apps and consent are in
//! `account_apps.rs`, the races in `account_races.rs`.

use auth_server::model::audit::AuditQuery;
use tests::oauth::{Agent, Page, first_party};
use tests::sso_support::{PW, assert_refresh_dead, grant, has_session, inactive};
use tests::{Backend, TestServer};

tests::on_both_backends!(
    the_account_page_is_behind_a_sign_in_that_returns_to_it,
    account_forms_need_the_csrf_token,
    a_new_password_ends_other_sessions_and_grants_but_keeps_this_session,
    a_new_password_must_pass_the_policy_and_the_current_one,
    sessions_are_listed_with_their_device_and_can_be_ended,
    ending_another_session_needs_a_recent_sign_in,
    ending_the_current_session_signs_out,
);

/// `{base}{path}`.
pub fn url(s: &TestServer, path: &str) -> String {
    format!("{}{path}", s.base)
}

/// Signs `user` in at `/account/login` from `agent`; asserts the redirect back to `/account`.
pub async fn account_sign_in(s: &TestServer, agent: &mut Agent, user: &str, pw: &str) {
    let page = agent.get(&url(s, "/account/login")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"account-login-form\""),
        "{}",
        page.body
    );
    let done = agent
        .submit(
            &page,
            &url(s, "/account/login"),
            &[("username", user), ("password", pw)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some(url(s, "/account").as_str()));
}

/// `GET /account`, asserting the page.
pub async fn account_page(s: &TestServer, agent: &mut Agent) -> Page {
    let page = agent.get(&url(s, "/account")).await;
    assert_eq!(page.status, 200, "{} {:?}", page.body, page.location());
    page
}

/// POSTs an account form to `path` with the page's CSRF token and `extra`.
pub async fn post_account(
    s: &TestServer,
    agent: &mut Agent,
    page: &Page,
    path: &str,
    extra: &[(&str, &str)],
) -> Page {
    let csrf = page.hidden("csrf").expect("a CSRF field");
    let mut pairs = vec![("csrf", csrf.as_str())];
    pairs.extend_from_slice(extra);
    agent.post(&url(s, path), &pairs).await
}

/// The ids of the sessions listed on the account page, in order, and the current one's.
pub fn listed_sessions(page: &Page) -> (Vec<String>, Option<String>) {
    let mut ids = Vec::new();
    let mut current = None;
    for chunk in page.body.split("data-session=\"").skip(1) {
        let id = chunk[..chunk.find('"').unwrap()].to_owned();
        let li = &chunk[..chunk.find("</li>").unwrap()];
        if li.contains("id=\"current-session\"") {
            current = Some(id.clone());
        }
        ids.push(id);
    }
    (ids, current)
}

/// Events of `event_type` about `user_id`, newest first.
pub async fn events(
    s: &TestServer,
    user_id: &str,
    event_type: &str,
) -> Vec<auth_server::model::audit::AuditRecord> {
    s.app
        .store
        .audit_events(&AuditQuery {
            user_id: Some(user_id.to_owned()),
            event_type: Some(event_type.to_owned()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

/// Without a session `/account` sends the browser to `/account/login`, which signs in (throttled
/// like `/login`: a wrong password is 401) and returns to `/account`; the page is private
/// (`no-store`), framed by nobody, under the strict CSP, and links to the sign-in methods.
async fn the_account_page_is_behind_a_sign_in_that_returns_to_it(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let mut browser = Agent::new();
    let away = browser.get(&url(&s, "/account")).await;
    assert_eq!(away.status, 302);
    assert_eq!(away.location(), Some(url(&s, "/account/login").as_str()));
    let login = browser.get(&url(&s, "/account/login")).await;
    let wrong = browser
        .submit(
            &login,
            &url(&s, "/account/login"),
            &[("username", "alice"), ("password", "not it")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"login-error\""));
    assert!(browser.get(&url(&s, "/account")).await.status == 302);
    account_sign_in(&s, &mut browser, "alice", PW).await;
    let page = account_page(&s, &mut browser).await;
    let h = |n: &str| page.headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("x-frame-options"), "DENY");
    let csp = h("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(!page.body.contains("<script"));
    assert!(page.body.contains("User alice"));
    assert!(
        page.body
            .contains(&format!("href=\"{}\"", url(&s, "/account/mfa")))
    );
    for form in [
        "password-form",
        "current_password",
        "new_password",
        "repeat_password",
    ] {
        assert!(page.body.contains(&format!("id=\"{form}\"")), "{form}");
    }
    let (ids, current) = listed_sessions(&page);
    assert_eq!(ids.len(), 1);
    assert_eq!(current.as_ref(), Some(&ids[0]));
    // Signed in already: the sign-in page goes straight to the account.
    let again = browser.get(&url(&s, "/account/login")).await;
    assert_eq!(again.status, 302);
}

/// A form posted without the CSRF token, or with another one, is refused (403) and changes
/// nothing.
async fn account_forms_need_the_csrf_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let mut browser = Agent::new();
    account_sign_in(&s, &mut browser, "alice", PW).await;
    let page = account_page(&s, &mut browser).await;
    let (ids, _) = listed_sessions(&page);
    let new = "another good password";
    for csrf in [None, Some("x".repeat(43))] {
        let mut pairs = vec![
            ("current_password", PW),
            ("new_password", new),
            ("repeat_password", new),
        ];
        if let Some(c) = &csrf {
            pairs.push(("csrf", c.as_str()));
        }
        let r = browser.post(&url(&s, "/account/password"), &pairs).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let end = [("session", ids[0].as_str())];
        let r = browser.post(&url(&s, "/account/sessions/end"), &end).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = browser
            .post(&url(&s, "/account/consents/withdraw"), &[("client", "app")])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    // Nothing changed: the session and the old password still work.
    account_page(&s, &mut browser).await;
    account_sign_in(&s, &mut Agent::new(), "alice", PW).await;
}

/// A new password from the account page ends every other session and every grant of the user
/// (their refresh tokens die, their access tokens are inactive), keeps the session it was made
/// from, and records `password.changed`; the old password no longer signs in, the new one does.
async fn a_new_password_ends_other_sessions_and_grants_but_keeps_this_session(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let app = s.web_client("app", first_party().always_refresh()).await;
    let mut laptop = Agent::new();
    let other = grant(&s, &mut laptop, &app, "openid", "alice").await;
    let mut phone = Agent::new();
    account_sign_in(&s, &mut phone, "alice", PW).await;
    // The phone's own grant (through its account-page session) ends too.
    let own = grant(&s, &mut phone, &app, "openid", "alice").await;
    let page = account_page(&s, &mut phone).await;
    assert_eq!(listed_sessions(&page).0.len(), 2);
    let new = "a much better password";
    let done = post_account(
        &s,
        &mut phone,
        &page,
        "/account/password",
        &[
            ("current_password", PW),
            ("new_password", new),
            ("repeat_password", new),
        ],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        Some(url(&s, "/account?done=password").as_str())
    );
    let after = phone.get(done.location().unwrap()).await;
    assert_eq!(after.status, 200, "this session stays");
    assert!(after.body.contains("id=\"notice\""), "{}", after.body);
    assert!(after.body.contains("Your password was changed."));
    let (ids, current) = listed_sessions(&after);
    assert_eq!(ids.len(), 1, "only this session is left");
    assert!(current.is_some());
    assert!(!has_session(&s, &mut laptop, &app).await);
    for t in [&other, &own] {
        assert_refresh_dead(&s, &app, t.refresh()).await;
        assert_eq!(s.introspect(&app, &t.access_token).await, inactive());
    }
    assert_eq!(events(&s, &sub, "password.changed").await.len(), 1);
    let mut fresh = Agent::new();
    let login = fresh.get(&url(&s, "/account/login")).await;
    let old = fresh
        .submit(
            &login,
            &url(&s, "/account/login"),
            &[("username", "alice"), ("password", PW)],
        )
        .await;
    assert_eq!(old.status, 401);
    account_sign_in(&s, &mut Agent::new(), "alice", new).await;
}

/// A wrong current password (401), two new passwords that differ or one too short (400) change
/// nothing; wrong current passwords are counted like sign-ins, so guessing through the form is
/// locked out like guessing at `/login` (429).
async fn a_new_password_must_pass_the_policy_and_the_current_one(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let mut browser = Agent::new();
    account_sign_in(&s, &mut browser, "alice", PW).await;
    // Without the device cookie the sign-in gave: the guesses come from an untrusted client.
    browser.cookies.remove("auth_device");
    let page = account_page(&s, &mut browser).await;
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        [
            ("current_password", current),
            ("new_password", new),
            ("repeat_password", repeat),
        ]
    };
    let cases = [
        (change(PW, "short", "short"), 400),
        (change(PW, "a long new password", "another one"), 400),
        (
            change("wrong", "a long new password", "a long new password"),
            401,
        ),
    ];
    for (fields, status) in cases {
        let r = post_account(&s, &mut browser, &page, "/account/password", &fields).await;
        assert_eq!(r.status, status, "{}", r.body);
        assert!(r.body.contains("id=\"password-error\""), "{}", r.body);
    }
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let fields = change("wrong", "a long new password", "a long new password");
        let r = post_account(&s, &mut browser, &page, "/account/password", &fields).await;
        statuses.push(r.status);
    }
    assert!(statuses.contains(&429), "never throttled: {statuses:?}");
    assert!(events(&s, &sub, "password.changed").await.is_empty());
    // The password is unchanged, and the session too.
    account_page(&s, &mut browser).await;
    s.app.users.authenticate("alice", PW).await.unwrap();
}

/// A session started with a `User-Agent` is listed with a short device name and its address; the
/// user ends it (and with it the grants issued under it) from another session.
async fn sessions_are_listed_with_their_device_and_can_be_ended(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let app = s.web_client("app", first_party().always_refresh()).await;
    // A browser that says what it is.
    let firefox = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
        .build()
        .unwrap();
    let mut laptop = Agent::new();
    let login = laptop.get(&url(&s, "/account/login")).await;
    let csrf = login.hidden("csrf").unwrap();
    let res = firefox
        .post(url(&s, "/account/login"))
        .header("cookie", format!("auth_csrf={csrf}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|c| c.strip_prefix("auth_session="))
        .unwrap();
    let secret = cookie.split(';').next().unwrap().to_owned();
    laptop.cookies.insert("auth_session".into(), secret);
    let laptop_grant = grant(&s, &mut laptop, &app, "openid", "alice").await;
    let mut phone = Agent::new();
    account_sign_in(&s, &mut phone, "alice", PW).await;
    let page = account_page(&s, &mut phone).await;
    assert!(page.body.contains("Firefox · Linux"), "{}", page.body);
    assert!(page.body.contains("127.0.0.1"), "{}", page.body);
    let (ids, current) = listed_sessions(&page);
    assert_eq!(ids.len(), 2);
    let current = current.unwrap();
    let other = ids.iter().find(|i| **i != current).unwrap().clone();
    let done = post_account(
        &s,
        &mut phone,
        &page,
        "/account/sessions/end",
        &[("session", &other)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        Some(url(&s, "/account?done=session").as_str())
    );
    assert!(!has_session(&s, &mut laptop, &app).await);
    assert_refresh_dead(&s, &app, laptop_grant.refresh()).await;
    assert_eq!(
        listed_sessions(&account_page(&s, &mut phone).await).0,
        vec![current]
    );
    let ended = events(&s, &sub, "user.sessions_ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].actor_kind, "user");
    // Again, or a session that is not alice's: nothing to end (404), nothing changed.
    let bob = s.user("bob", PW).await;
    let mut bobs = Agent::new();
    account_sign_in(&s, &mut bobs, "bob", PW).await;
    let bob_session = listed_sessions(&account_page(&s, &mut bobs).await)
        .1
        .unwrap();
    for id in [other.as_str(), bob_session.as_str(), "nope"] {
        let r = post_account(
            &s,
            &mut phone,
            &page,
            "/account/sessions/end",
            &[("session", id)],
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.body);
    }
    account_page(&s, &mut bobs).await;
    assert!(events(&s, &bob, "user.sessions_ended").await.is_empty());
}

/// More than `account.recent_auth_secs` after sign-in, ending another session sends the browser to
/// `/account/reauth?next=/account`; the password again (a wrong one is 401) returns to `/account`,
/// and the session can then be ended.
async fn ending_another_session_needs_a_recent_sign_in(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let mut laptop = Agent::new();
    account_sign_in(&s, &mut laptop, "alice", PW).await;
    let mut phone = Agent::new();
    account_sign_in(&s, &mut phone, "alice", PW).await;
    s.clock.advance(301);
    let page = account_page(&s, &mut phone).await;
    let (ids, current) = listed_sessions(&page);
    let other = ids
        .iter()
        .find(|i| Some(*i) != current.as_ref())
        .unwrap()
        .clone();
    let away = post_account(
        &s,
        &mut phone,
        &page,
        "/account/sessions/end",
        &[("session", &other)],
    )
    .await;
    assert_eq!(away.status, 303);
    let reauth_url = url(&s, "/account/reauth?next=/account");
    assert_eq!(away.location(), Some(reauth_url.as_str()));
    account_page(&s, &mut laptop).await;
    let form = phone.get(&reauth_url).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("id=\"reauth-form\""));
    assert_eq!(form.hidden("next").as_deref(), Some("/account"));
    let action = url(&s, "/account/reauth");
    let wrong = phone.submit(&form, &action, &[("password", "nope")]).await;
    assert_eq!(wrong.status, 401);
    let back = phone.submit(&form, &action, &[("password", PW)]).await;
    assert_eq!(back.status, 303);
    assert_eq!(back.location(), Some(url(&s, "/account").as_str()));
    let page = account_page(&s, &mut phone).await;
    let done = post_account(
        &s,
        &mut phone,
        &page,
        "/account/sessions/end",
        &[("session", &other)],
    )
    .await;
    assert_eq!(done.status, 303);
    assert_eq!(laptop.get(&url(&s, "/account")).await.status, 302);
}

/// Ending the session of the page itself needs no re-authentication: it is signing out here (the
/// cookie is cleared, and `/account` asks for a sign-in again).
async fn ending_the_current_session_signs_out(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let mut browser = Agent::new();
    account_sign_in(&s, &mut browser, "alice", PW).await;
    let secret = browser.cookies["auth_session"].clone();
    s.clock.advance(301);
    let page = account_page(&s, &mut browser).await;
    let current = listed_sessions(&page).1.unwrap();
    let out = post_account(
        &s,
        &mut browser,
        &page,
        "/account/sessions/end",
        &[("session", &current)],
    )
    .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), Some(url(&s, "/account/login").as_str()));
    assert!(!browser.cookies.contains_key("auth_session"));
    // The old cookie is dead on the server too.
    let mut replay = Agent::with_session(&secret);
    assert_eq!(replay.get(&url(&s, "/account")).await.status, 302);
}
