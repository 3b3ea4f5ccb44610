//! Sign-in under attack: brute force (per-account and per-address throttling), hostile input and
//! disabled users. Every test runs on SQLite and PostgreSQL.

use tests::fixture::Sso;
use tests::oauth::{Agent, Page, Pkce, WebClient, WebClientOptions, first_party};
use tests::sso_support::{
    PW, assert_error_page, assert_error_redirect, assert_locked_page, authorize, authorize_openid,
    consent_page, decide, good_params, has_session, is_login_page, set_cookie, try_login, with,
};
use tests::{Backend, TestServer};

const TOO_MANY: &str = "Too many failed attempts. Wait a few minutes, then try again.";
const REJECTED: &str = "Invalid username or password.";

tests::on_both_backends!(
    lockout_after_repeated_failures_looks_the_same_for_unknown_users,
    per_address_throttling_locks_every_username,
    hostile_input_gets_a_plain_page_never_a_500,
    behind_a_trusted_proxy_each_client_address_is_throttled_alone,
    without_trusted_proxies_x_forwarded_for_is_ignored,
    disabled_users_cannot_sign_in_and_lose_their_session,
);

// 1. Brute force ---------------------------------------------------------------------------------

/// The login page with `username`'s echo replaced, to compare pages for different usernames.
fn without_username(p: &Page, username: &str) -> String {
    p.body
        .replace(&format!("value=\"{username}\""), "value=\"USER\"")
}

/// Fails `n` sign-ins as `user` from `page`, each answered 401; returns the last answer.
async fn fail_n(s: &TestServer, agent: &mut Agent, page: &Page, user: &str, n: usize) -> Page {
    let mut last = None;
    for _ in 0..n {
        let r = try_login(s, agent, page, user, "wrong password").await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains(REJECTED), "{}", r.body);
        assert!(!r.body.contains(TOO_MANY));
        assert!(set_cookie(&r, "auth_session").is_none());
        assert_locked_page(&r);
        last = Some(r);
    }
    last.unwrap()
}

fn assert_locked_out(p: &Page) {
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains(TOO_MANY), "{}", p.body);
    assert!(!p.body.contains(REJECTED), "{}", p.body);
    assert!(is_login_page(p));
    assert!(p.location().is_none());
    assert!(set_cookie(p, "auth_session").is_none());
    assert_locked_page(p);
}

async fn lockout_after_repeated_failures_looks_the_same_for_unknown_users(backend: Backend) {
    let s = TestServer::start(backend).await;
    let lockout = s.app.config.login.lockout_secs;
    assert_eq!(s.app.config.login.max_failures_per_account, 5);
    s.user("known-user", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let page = authorize_openid(&s, &mut browser, &app).await;

    let known_401 = fail_n(&s, &mut browser, &page, "known-user", 5).await;
    let ghost_401 = fail_n(&s, &mut browser, &page, "ghost-user", 5).await;
    assert_eq!(
        without_username(&known_401, "known-user"),
        without_username(&ghost_401, "ghost-user"),
        "a wrong password reads the same for known and unknown usernames"
    );
    // The 6th attempt, even with the right password: locked, no session.
    let known_429 = try_login(&s, &mut browser, &page, "known-user", PW).await;
    assert_locked_out(&known_429);
    let ghost_429 = try_login(&s, &mut browser, &page, "ghost-user", PW).await;
    assert_locked_out(&ghost_429);
    assert_eq!(
        without_username(&known_429, "known-user"),
        without_username(&ghost_429, "ghost-user"),
        "a lockout does not tell which usernames exist"
    );
    // Usernames are case-sensitive: another case is another (unknown) account, which signs nobody in.
    let other_case = try_login(&s, &mut browser, &page, "KNOWN-USER", PW).await;
    assert_eq!(other_case.status, 401, "{}", other_case.body);
    assert!(!browser.cookies.contains_key("auth_session"));
    // Other accounts are not affected.
    s.user("bystander", PW).await;
    let mut other = Agent::new();
    let page2 = authorize_openid(&s, &mut other, &app).await;
    let ok = try_login(&s, &mut other, &page2, "bystander", PW).await;
    assert_eq!(ok.status, 303, "{}", ok.body);

    // Still locked one second before the lockout ends...
    s.clock.advance(lockout - 1);
    assert_locked_out(&try_login(&s, &mut browser, &page, "known-user", PW).await);
    // ...and not after.
    s.clock.advance(2);
    let done = try_login(&s, &mut browser, &page, "known-user", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location_param("code").is_some());
    assert!(set_cookie(&done, "auth_session").is_some());
}

async fn per_address_throttling_locks_every_username(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.login.max_failures_per_address = 3).await;
    let lockout = s.app.config.login.lockout_secs;
    s.user("real-user", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let page = authorize_openid(&s, &mut browser, &app).await;
    for user in ["spray-1", "spray-2", "real-user"] {
        fail_n(&s, &mut browser, &page, user, 1).await;
    }
    // A 4th username, known or not, right password or not: locked out at this address.
    assert_locked_out(&try_login(&s, &mut browser, &page, "spray-4", "guess").await);
    assert_locked_out(&try_login(&s, &mut browser, &page, "real-user", PW).await);
    // A second browser on the same address gets no fresh allowance.
    let mut second = Agent::new();
    let page2 = authorize_openid(&s, &mut second, &app).await;
    assert_locked_out(&try_login(&s, &mut second, &page2, "real-user", PW).await);
    s.clock.advance(lockout + 1);
    let done = try_login(&s, &mut browser, &page, "real-user", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
}

/// Fails one sign-in for each of three usernames from `agent`, then checks it is locked out.
async fn spray_until_locked(s: &TestServer, agent: &mut Agent, app: &WebClient) {
    let page = agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await;
    for user in ["spray-1", "spray-2", "spray-3"] {
        fail_n(s, agent, &page, user, 1).await;
    }
    assert_locked_out(&try_login(s, agent, &page, "real-user", PW).await);
}

async fn signs_in(s: &TestServer, agent: &mut Agent, app: &WebClient) -> bool {
    let page = agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await;
    let done = try_login(s, agent, &page, "real-user", PW).await;
    match done.status {
        303 => true,
        429 => false,
        other => panic!("unexpected {other}: {}", done.body),
    }
}

async fn behind_a_trusted_proxy_each_client_address_is_throttled_alone(backend: Backend) {
    // The tests connect from 127.0.0.1: here, that is the load balancer.
    let s = TestServer::start_with(backend, |c| {
        c.login.max_failures_per_address = 3;
        c.server.trusted_proxies = "127.0.0.0/8, 10.0.0.0/8".parse().unwrap();
    })
    .await;
    s.user("real-user", PW).await;
    let app = s.web_client("app", first_party()).await;
    spray_until_locked(&s, &mut Agent::forwarded_for("203.0.113.1"), &app).await;
    // Another client behind the same proxy keeps its own allowance.
    assert!(signs_in(&s, &mut Agent::forwarded_for("203.0.113.2"), &app).await);
    // Through a second trusted proxy, the same client is still the same client...
    let mut via_two = Agent::forwarded_for("203.0.113.1, 10.1.1.1");
    assert!(!signs_in(&s, &mut via_two, &app).await);
    // ...and an address it writes itself, left of what our proxy appended, changes nothing.
    let mut forger = Agent::forwarded_for("198.51.100.99, 203.0.113.1");
    assert!(!signs_in(&s, &mut forger, &app).await);
}

async fn without_trusted_proxies_x_forwarded_for_is_ignored(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.login.max_failures_per_address = 3).await;
    s.user("real-user", PW).await;
    let app = s.web_client("app", first_party()).await;
    spray_until_locked(&s, &mut Agent::forwarded_for("203.0.113.1"), &app).await;
    // Claiming another address does not escape the lockout of the real (TCP) address.
    assert!(!signs_in(&s, &mut Agent::forwarded_for("203.0.113.2"), &app).await);
}

// 2. Hostile input -------------------------------------------------------------------------------

async fn hostile_input_gets_a_plain_page_never_a_500(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let page = authorize_openid(&s, &mut browser, &app).await;
    assert_eq!(page.status, 200);
    let csrf = page.hidden("csrf").unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let cookie = format!("auth_csrf={csrf}");
    let raw = |path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut req = http
            .post(format!("{}{path}", s.base))
            .header("cookie", cookie.as_str())
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        async move {
            let res = req.send().await.unwrap();
            Page {
                status: res.status().as_u16(),
                headers: res.headers().clone(),
                body: res.text().await.unwrap(),
            }
        }
    };
    let form = "application/x-www-form-urlencoded";

    // A 100 KB form body.
    let mut big = format!("csrf={csrf}&username=alice&password=");
    big.push_str(&"p".repeat(100 * 1024));
    let r = raw("/login", Some(form), big.clone().into_bytes()).await;
    assert_error_page(&r, 400);
    // Bodies that are not forms.
    let creds = format!("csrf={csrf}&username=alice&password=x");
    for path in ["/login", "/consent", "/authorize", "/logout"] {
        for ct in [
            Some("application/json"),
            Some("text/plain"),
            Some("multipart/form-data; boundary=x"),
            Some("application/x-www-form-urlencoded-evil"),
            None,
        ] {
            let r = raw(path, ct, creds.clone().into_bytes()).await;
            assert_error_page(&r, 400);
        }
        let r = raw(
            path,
            Some("application/json"),
            br#"{"username":"alice"}"#.to_vec(),
        )
        .await;
        assert_error_page(&r, 400);
        // Invalid percent-encoding / not UTF-8.
        for body in [
            &b"csrf=%ff%fe&username=alice"[..],
            b"username=\xff\xfe",
            b"a=%c3%28",
        ] {
            let r = raw(path, Some(form), body.to_vec()).await;
            assert_error_page(&r, 400);
        }
        // Too many parameters.
        let r = raw(path, Some(form), "a=1&".repeat(100).into_bytes()).await;
        assert_error_page(&r, 400);
    }
    // The form content type with a charset is still a form (the wrong CSRF token still fails).
    let r = raw(
        "/login",
        Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        b"csrf=nope&username=alice&password=x".to_vec(),
    )
    .await;
    assert_error_page(&r, 403);

    // Garbage queries to /authorize and /logout.
    let authorize_queries = [
        "%%%&&==&=&a",
        "client_id=%ff%fe",
        "client_id=app&redirect_uri=%E0%A4",
        "client_id=%00",
        "client_id=%00app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        "client_id=app%0d%0aSet-Cookie:%20x=1&redirect_uri=x",
        "client_id=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "client_id=' OR '1'='1",
        "=&=&=",
        "client_id",
    ];
    let long_id = format!("client_id={}", "a".repeat(5000));
    let many = "a=1&".repeat(100);
    let logout_queries = [
        "id_token_hint=garbage",
        "id_token_hint=%ff",
        "id_token_hint=a.b.c",
        "id_token_hint=%00",
    ];
    let urls = authorize_queries
        .into_iter()
        .chain([long_id.as_str(), many.as_str()])
        .map(|query| format!("{}/authorize?{query}", s.base))
        .chain(logout_queries.map(|query| format!("{}/logout?{query}", s.base)));
    for url in urls {
        let p = browser.get(&url).await;
        assert_error_page(&p, 400);
        assert!(!p.body.contains("<script>"), "{}", p.body);
        assert!(set_cookie(&p, "x").is_none());
    }

    // Control characters in free-text parameters (a NUL cannot even be stored by PostgreSQL):
    // invalid_request, back to the client.
    let good = good_params(&app, &Pkce::new());
    for (name, value) in [
        ("nonce", "n\0nce"),
        ("nonce", "n\r\nonce"),
        ("login_hint", "a\0b"),
        ("state", "st\0"),
    ] {
        let p = browser
            .get(&authorize(&s, &with(&good, name, Some(value))))
            .await;
        let state = if name == "state" {
            Some(value)
        } else {
            Some("st")
        };
        assert_error_redirect(&p, &s, &app, "invalid_request", state);
    }
    // Sign-in with hostile usernames and passwords: the same 401 as any wrong password.
    let page = authorize_openid(&s, &mut browser, &app).await;
    for (user, pw) in [
        ("a\0b", "x"),
        ("alice\0", PW),
        (&*"u".repeat(5000), "x"),
        ("alice", &*"p".repeat(10_000)),
        ("' OR '1'='1", "' OR '1'='1"),
        ("alice\r\nx", PW),
        ("ålice", PW),
        ("", PW),
        ("alice", ""),
    ] {
        let r = try_login(&s, &mut browser, &page, user, pw).await;
        assert_eq!(r.status, 401, "{user:?}: {}", r.body);
        assert!(r.body.contains(REJECTED));
        assert_locked_page(&r);
        assert!(!browser.cookies.contains_key("auth_session"));
    }
    // A hostile cookie header is ignored.
    let mut odd = Agent::new();
    odd.cookies.insert("auth_session".into(), "%%%\"".into());
    odd.cookies.insert("auth_csrf".into(), "=;=".into());
    let p = authorize_openid(&s, &mut odd, &app).await;
    assert_eq!(p.status, 200);
    assert!(is_login_page(&p));
    assert_locked_page(&p);
    let long = "s".repeat(4000);
    odd.cookies.insert("auth_session".into(), long);
    let p = authorize_openid(&s, &mut odd, &app).await;
    assert_eq!(p.status, 200);
    // After all this, the real user can still sign in (the hostile attempts stayed under the
    // per-account limit for "alice": one with a long password, one empty).
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
}

// 3. Disabled users ------------------------------------------------------------------------------

async fn disabled_users_cannot_sign_in_and_lose_their_session(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("bob", PW).await;
    s.user("carol", PW).await;
    s.user("dave", PW).await;
    let app = s.web_client("app", first_party()).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;

    // Disabled before signing in: the same 401 as a wrong password.
    let mut browser = Agent::new();
    let page = authorize_openid(&s, &mut browser, &app).await;
    let wrong = try_login(&s, &mut browser, &page, "bob", "wrong").await;
    s.app.users.set_disabled("bob", true).await.unwrap();
    let disabled = try_login(&s, &mut browser, &page, "bob", PW).await;
    assert_eq!(disabled.status, 401, "{}", disabled.body);
    assert!(disabled.body.contains(REJECTED));
    assert_eq!(
        disabled.body, wrong.body,
        "indistinguishable from a wrong password"
    );
    assert!(set_cookie(&disabled, "auth_session").is_none());
    assert!(!browser.cookies.contains_key("auth_session"));

    // Signed in, then disabled: the next /authorize asks for the password again.
    let mut carol = Agent::new();
    s.code_for(&mut carol, &app, &Pkce::new(), "openid", "carol", PW)
        .await;
    assert!(has_session(&s, &mut carol, &app).await);
    s.app.users.set_disabled("carol", true).await.unwrap();
    let page = authorize_openid(&s, &mut carol, &app).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(is_login_page(&page));
    assert!(!has_session(&s, &mut carol, &app).await);
    let again = try_login(&s, &mut carol, &page, "carol", PW).await;
    assert_eq!(again.status, 401);

    // Disabled while the consent page is open: allowing gives no code.
    let mut dave = Agent::new();
    let consent = consent_page(&s, &mut dave, &partner, "openid", "dave").await;
    s.app.users.set_disabled("dave", true).await.unwrap();
    let r = decide(&s, &mut dave, &consent, "allow").await;
    assert!(r.location_param("code").is_none(), "{:?}", r.location());
    assert!(is_login_page(&r), "{} {}", r.status, r.body);
    assert_locked_page(&r);
}
