//! Sign-in throttling that cannot be used as a weapon (issue 8): failures lock out the attacker's own
//! (account, address) pair; across addresses the account is slowed down, never locked; a browser
//! that signed in before carries a device cookie and is counted on its own. Every test runs on
//! SQLite and PostgreSQL; the races use two replicas sharing one database.

use std::sync::Arc;

use tests::oauth::{Agent, Page, Pkce, WebClient, first_party};
use tests::sso_support::{PW, assert_locked_page, is_login_page, set_cookie, try_login};
use tests::{Backend, TestServer};

tests::on_both_backends!(
    failures_lock_the_address_not_the_user_who_has_a_device_cookie,
    a_fresh_address_is_slowed_down_and_gets_through_once_the_delay_passes,
    a_device_cookie_is_counted_on_its_own_and_invalidated_by_its_failures,
    forged_tampered_and_foreign_device_cookies_are_ignored,
    parallel_guesses_from_one_address_cannot_outrun_the_pair_limit,
    parallel_guesses_from_many_addresses_cannot_outrun_the_slow_down,
    an_attempt_given_back_leaves_no_lock_behind,
    a_locked_pair_does_not_use_up_its_address,
);

const LOCKED: &str = "Too many failed attempts. Wait a few minutes, then try again.";
const SLOWED: &str = "This account has had many failed sign-ins. Please try again in a moment.";
const REJECTED: &str = "Invalid username or password.";
/// The tests connect from 127.0.0.1: here, that is the load balancer.
const PROXIES: &str = "127.0.0.0/8";

async fn server(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |c| {
        c.server.trusted_proxies = PROXIES.parse().unwrap()
    })
    .await
}

async fn login_page(s: &TestServer, agent: &mut Agent, app: &WebClient) -> Page {
    let page = agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(is_login_page(&page));
    page
}

/// One sign-in attempt from `agent`, on a fresh login page.
async fn attempt(s: &TestServer, agent: &mut Agent, app: &WebClient, user: &str, pw: &str) -> Page {
    let page = login_page(s, agent, app).await;
    try_login(s, agent, &page, user, pw).await
}

fn assert_rejected(p: &Page) {
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains(REJECTED), "{}", p.body);
}

fn assert_locked(p: &Page) {
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains(LOCKED), "{}", p.body);
    assert!(set_cookie(p, "auth_session").is_none());
    assert_locked_page(p);
}

/// Slowed down: 429 with the "in a moment" text and a `Retry-After`; returns its seconds.
fn assert_slowed(p: &Page) -> i64 {
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains(SLOWED), "{}", p.body);
    assert!(!p.body.contains(LOCKED));
    assert!(is_login_page(p));
    assert!(set_cookie(p, "auth_session").is_none());
    assert_locked_page(p);
    let secs: i64 = p
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", p.headers));
    assert!(secs >= 1);
    secs
}

fn assert_signed_in(p: &Page) {
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location_param("code").is_some());
    assert!(set_cookie(p, "auth_session").is_some());
}

/// Signs `user` in from `addr` and returns the browser, which now holds a device cookie.
async fn trusted_browser(s: &TestServer, app: &WebClient, user: &str, addr: &str) -> Agent {
    let mut b = Agent::forwarded_for(addr);
    let done = attempt(s, &mut b, app, user, PW).await;
    assert_signed_in(&done);
    let cookie = set_cookie(&done, "auth_device").expect("a device cookie after signing in");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Max-Age="), "{cookie}");
    assert!(b.cookies.contains_key("auth_device"));
    // Signed out again, so the next visit shows the login page (the device cookie stays).
    b.cookies.remove("auth_session");
    b
}

/// The attacker: `n` wrong passwords for `user` from `addr`, returning the answers.
async fn guesses(s: &TestServer, app: &WebClient, user: &str, addr: &str, n: usize) -> Vec<Page> {
    let mut attacker = Agent::forwarded_for(addr);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(attempt(s, &mut attacker, app, user, "wrong password").await);
    }
    out
}

/// 20 wrong passwords from one address lock that address out of the account after 5; the real user,
/// with the device cookie of an earlier sign-in, signs in from another address and from the
/// attacker's own address (a shared NAT) alike.
async fn failures_lock_the_address_not_the_user_who_has_a_device_cookie(backend: Backend) {
    let s = server(backend).await;
    assert_eq!(s.app.config.login.max_failures_per_pair, 5);
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut home = trusted_browser(&s, &app, "alice", "198.51.100.7").await;

    let answers = guesses(&s, &app, "alice", "203.0.113.66", 20).await;
    for a in &answers[..5] {
        assert_rejected(a);
    }
    for a in &answers[5..] {
        assert_locked(a);
    }
    // The attacker's address is locked out of the account even with the right password...
    let mut attacker = Agent::forwarded_for("203.0.113.66");
    assert_locked(&attempt(&s, &mut attacker, &app, "alice", PW).await);
    // ...but the real user gets in from home, with the device cookie.
    assert_signed_in(&attempt(&s, &mut home, &app, "alice", PW).await);
    // And from the attacker's address too, with the same cookie.
    let mut shared = Agent::forwarded_for("203.0.113.66");
    shared.cookies.insert(
        "auth_device".into(),
        home.cookies.get("auth_device").cloned().unwrap_or_default(),
    );
    assert_signed_in(&attempt(&s, &mut shared, &app, "alice", PW).await);
    // The lockout is the pair's: after it ends the address may try again.
    s.clock.advance(s.app.config.login.lockout_secs + 1);
    assert_rejected(&attempt(&s, &mut attacker, &app, "alice", "still wrong").await);
}

/// Guesses spread over many addresses slow the account down instead of locking it: a user without
/// a device cookie is asked to wait, and gets through once the delay has passed.
async fn a_fresh_address_is_slowed_down_and_gets_through_once_the_delay_passes(backend: Backend) {
    let s = server(backend).await;
    let initial = s.app.config.login.slowdown_initial_secs;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    // Five addresses, four guesses each: 5 free failures on the account, then one per delay.
    let mut checked = 0;
    let mut slowed = 0;
    for i in 1..=5 {
        for a in guesses(&s, &app, "alice", &format!("203.0.113.{i}"), 4).await {
            match a.status {
                401 => checked += 1,
                _ => {
                    assert_slowed(&a);
                    slowed += 1;
                }
            }
        }
    }
    assert_eq!(checked, 6, "5 free failures and the first delayed slot");
    assert_eq!(slowed, 14);
    // A fresh address, no cookie: slowed, not locked; the wait is the delay that is running.
    let mut fresh = Agent::forwarded_for("192.0.2.9");
    let wait = assert_slowed(&attempt(&s, &mut fresh, &app, "alice", PW).await);
    assert!(wait <= initial, "{wait} > {initial}");
    // Waiting (and asking again meanwhile) does not lock it out.
    s.clock.advance(wait - 1);
    assert_slowed(&attempt(&s, &mut fresh, &app, "alice", PW).await);
    s.clock.advance(1);
    let done = attempt(&s, &mut fresh, &app, "alice", PW).await;
    assert_signed_in(&done);
    assert!(set_cookie(&done, "auth_device").is_some());
    fresh.cookies.remove("auth_session");
    // The next slot opens after a longer delay (it doubles).
    let mut other = Agent::forwarded_for("192.0.2.10");
    let next = assert_slowed(&attempt(&s, &mut other, &app, "alice", "wrong").await);
    assert!(next > 1, "{next}");
    // Unknown usernames are slowed exactly the same way.
    for i in 1..=6 {
        guesses(&s, &app, "ghost", &format!("203.0.113.{i}"), 1).await;
    }
    assert_slowed(&attempt(&s, &mut fresh, &app, "ghost", PW).await);
}

/// A device gets its own few attempts, unaffected by the account's slow-down; too many failures
/// invalidate its cookie, and it is an untrusted client again (slowed down with everyone else).
async fn a_device_cookie_is_counted_on_its_own_and_invalidated_by_its_failures(backend: Backend) {
    let s = server(backend).await;
    let per_device = s.app.config.login.max_failures_per_device;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut device = trusted_browser(&s, &app, "alice", "198.51.100.7").await;
    // Slow the account down from elsewhere.
    for i in 1..=8 {
        guesses(&s, &app, "alice", &format!("203.0.113.{i}"), 1).await;
    }
    assert_slowed(
        &attempt(
            &s,
            &mut Agent::forwarded_for("192.0.2.1"),
            &app,
            "alice",
            PW,
        )
        .await,
    );
    // The device's own failures are checked (not slowed), up to its limit.
    for _ in 0..per_device {
        assert_rejected(&attempt(&s, &mut device, &app, "alice", "typo").await);
    }
    // Now its cookie is invalid: the right password meets the account's slow-down.
    assert_slowed(&attempt(&s, &mut device, &app, "alice", PW).await);
    // A successful sign-in through the slow-down gives it a new, valid cookie.
    s.clock.advance(s.app.config.login.slowdown_max_secs);
    let done = attempt(&s, &mut device, &app, "alice", PW).await;
    assert_signed_in(&done);
    assert!(set_cookie(&done, "auth_device").is_some());
    device.cookies.remove("auth_session");
    for i in 10..=20 {
        guesses(&s, &app, "alice", &format!("203.0.113.{i}"), 1).await;
    }
    assert_signed_in(&attempt(&s, &mut device, &app, "alice", PW).await);
}

/// A device cookie only counts if this server issued it, for this account, and it has not expired.
async fn forged_tampered_and_foreign_device_cookies_are_ignored(backend: Backend) {
    let s = server(backend).await;
    s.user("alice", PW).await;
    s.user("bob", PW).await;
    let app = s.web_client("app", first_party()).await;
    let alice = trusted_browser(&s, &app, "alice", "198.51.100.7").await;
    let bob = trusted_browser(&s, &app, "bob", "198.51.100.8").await;
    let real = alice
        .cookies
        .get("auth_device")
        .cloned()
        .unwrap_or_default();
    let bobs = bob.cookies.get("auth_device").cloned().unwrap_or_default();
    for i in 1..=8 {
        guesses(&s, &app, "alice", &format!("203.0.113.{i}"), 1).await;
    }
    let (body, mac) = real.rsplit_once('.').unwrap();
    let mut flipped = mac.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let bob_user = bobs.split('.').nth(1).unwrap();
    let alice_user = real.split('.').nth(1).unwrap();
    let hostile = [
        format!("{body}.{}", String::from_utf8(flipped).unwrap()),
        bobs.replace(bob_user, alice_user),
        bobs.clone(),
        format!("{body}.{}", &mac[..10]),
        real.replacen(".", ".x", 2),
        "v1.YWxpY2U.nonce.99999999999.AAAA".into(),
        "%%%\"".into(),
        "x".repeat(3000),
    ];
    for (i, forged) in hostile.iter().enumerate() {
        let mut b = Agent::forwarded_for(&format!("192.0.2.{}", i + 1));
        b.cookies.insert("auth_device".into(), forged.clone());
        let p = attempt(&s, &mut b, &app, "alice", PW).await;
        assert_slowed(&p);
    }
    // Expired: the real cookie after its lifetime is ignored too.
    let mut late = Agent::forwarded_for("192.0.2.50");
    late.cookies.insert("auth_device".into(), real.clone());
    s.clock
        .advance(s.app.config.login.device_cookie_ttl_secs + 1);
    for i in 30..=40 {
        guesses(&s, &app, "alice", &format!("203.0.113.{i}"), 1).await;
    }
    assert_slowed(&attempt(&s, &mut late, &app, "alice", PW).await);
}

/// How many sign-ins each race sends at once.
const PARALLEL: usize = 24;

/// Two replicas on one database (one issuer, one clock), behind the trusted proxy, with database
/// pools large enough that their transactions really overlap.
async fn replicas(backend: Backend, per_account: i32) -> (Arc<TestServer>, Arc<TestServer>) {
    let a = TestServer::start_with(backend, |c| {
        c.server.trusted_proxies = PROXIES.parse().unwrap();
        c.database.max_connections = 16;
        c.login.max_failures_per_account = per_account;
    })
    .await;
    let issuer = a.base.clone();
    let b = TestServer::start_on(&a.db_url, &a.db_name, a.clock.clone(), move |c| {
        c.server.issuer = issuer;
        c.server.trusted_proxies = PROXIES.parse().unwrap();
        c.database.max_connections = 16;
        c.login.max_failures_per_account = per_account;
    })
    .await;
    (Arc::new(a), Arc::new(b))
}

/// `PARALLEL` wrong passwords for `user` at once, alternating replicas, the i-th from `addr(i)`:
/// how many were checked (401); every other answer must be a refusal (429).
async fn race(
    servers: &(Arc<TestServer>, Arc<TestServer>),
    app: &WebClient,
    user: &'static str,
    addr: fn(usize) -> String,
) -> usize {
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let s = if i % 2 == 0 {
            servers.0.clone()
        } else {
            servers.1.clone()
        };
        let url = s.authorize_url(app, &Pkce::new(), "openid", &[]);
        tasks.push(tokio::spawn(async move {
            let mut agent = Agent::forwarded_for(&addr(i));
            let page = agent.get(&url).await;
            try_login(&s, &mut agent, &page, user, "wrong password")
                .await
                .status
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    checked
}

/// From one address, parallel guesses over two replicas get at most `max_failures_per_pair` checks
/// (the account's allowance is lifted here, so the pair is what limits).
async fn parallel_guesses_from_one_address_cannot_outrun_the_pair_limit(backend: Backend) {
    let servers = replicas(backend, 1000).await;
    servers.0.user("ann", PW).await;
    let app = servers.0.web_client("app", first_party()).await;
    let checked = race(&servers, &app, "ann", |_| "203.0.113.7".to_owned()).await;
    assert!((1..=5).contains(&checked), "{checked} guesses were checked");
    let again = race(&servers, &app, "ann", |_| "203.0.113.7".to_owned()).await;
    assert_eq!(again, 0, "the pair is locked");
    // Another address still gets its own allowance for the account.
    let other = race(&servers, &app, "ann", |_| "203.0.113.8".to_owned()).await;
    assert!((1..=5).contains(&other), "{other}");
}

/// From 24 addresses at once, over two replicas, the account's slow-down lets through at most its
/// free failures (5) and one delayed slot.
async fn parallel_guesses_from_many_addresses_cannot_outrun_the_slow_down(backend: Backend) {
    let servers = replicas(backend, 5).await;
    servers.0.user("bea", PW).await;
    let app = servers.0.web_client("app", first_party()).await;
    let checked = race(&servers, &app, "bea", |i| format!("198.51.100.{}", i + 1)).await;
    assert!(
        (1..=6).contains(&checked),
        "{checked} guesses from {PARALLEL} addresses were checked"
    );
    let again = race(&servers, &app, "bea", |i| format!("198.51.100.{}", i + 101)).await;
    assert_eq!(again, 0, "no slot is open until the delay passes");
}

/// A user four mistakes into their own pair's allowance is slowed by an attack on the account made
/// elsewhere: that attempt is given back, and it must not leave the pair locked. Once the delay has
/// passed, the user's right password gets through.
async fn an_attempt_given_back_leaves_no_lock_behind(backend: Backend) {
    let s = server(backend).await;
    s.user("ann", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut user = Agent::forwarded_for("198.51.100.1");
    for _ in 0..4 {
        assert_rejected(&attempt(&s, &mut user, &app, "ann", "wrong password").await);
    }
    // Two guesses from elsewhere: the account's free allowance (5) is spent, and the open slot
    // taken.
    let mut attacker = Agent::forwarded_for("203.0.113.9");
    for _ in 0..2 {
        assert_rejected(&attempt(&s, &mut attacker, &app, "ann", "guess").await);
    }
    // The user's fifth attempt would reach the pair's limit, but the account has no slot open: it is
    // given back.
    let wait = assert_slowed(&attempt(&s, &mut user, &app, "ann", PW).await);
    s.clock.advance(wait);
    assert_signed_in(&attempt(&s, &mut user, &app, "ann", PW).await);
}

/// A user who keeps retrying on a locked (account, address) pair uses up nothing of the address's
/// allowance: the others behind the same address still sign in.
async fn a_locked_pair_does_not_use_up_its_address(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.server.trusted_proxies = PROXIES.parse().unwrap();
        c.login.max_failures_per_address = 8;
    })
    .await;
    s.user("ann", PW).await;
    s.user("bob", PW).await;
    let app = s.web_client("app", first_party()).await;
    let office = "198.51.100.7";
    let mut ann = Agent::forwarded_for(office);
    for _ in 0..5 {
        assert_rejected(&attempt(&s, &mut ann, &app, "ann", "wrong password").await);
    }
    // Locked on her pair; her retries are refused without touching the address's count (8).
    for _ in 0..10 {
        assert_locked(&attempt(&s, &mut ann, &app, "ann", "wrong password").await);
    }
    let mut bob = Agent::forwarded_for(office);
    assert_signed_in(&attempt(&s, &mut bob, &app, "bob", PW).await);
}
