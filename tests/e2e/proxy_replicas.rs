//! Two real `auth-server` processes on one PostgreSQL behind Debian's nginx (issue 11): a sign-in
//! served by one replica continues on the other, and a key rotated through one replica is served by
//! both within the key refresh interval while a resource service verifying tokens from both fails
//! no request. The SIGKILL under load is in `proxy_replicas_kill.rs`. PostgreSQL only: the point is
//! several processes on one server database. Skipped (with a message) without PostgreSQL or nginx,
//! unless `AUTH_TEST_REQUIRE_PG` / `AUTH_TEST_REQUIRE_NGINX` make that a failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_verifier::{IssuerConfig, Policy, Verifier};
use serde_json::json;
use tests::oauth::{Agent, Page, Pkce};
use tests::proxy_cluster::{AUD, Cluster, KEY_REFRESH_SECS, PASSWORD, Reply};
use tests::{decode_segment, kids};

/// The `action` of the page's first form, HTML-unescaped.
fn form_action(page: &Page) -> String {
    let start = page.body.find("action=\"").expect("a form") + "action=\"".len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

/// Signs alice in on the login `page`, posting its form to `base` + the form's path; returns the
/// code from the redirect to the client.
async fn sign_in(c: &Cluster, browser: &mut Agent, page: &Page, base: &str) -> String {
    assert_eq!(page.status, 200, "the login page: {}", page.body);
    let action = form_action(page);
    let path = action
        .strip_prefix(&c.issuer)
        .unwrap_or_else(|| panic!("the form posts to the issuer (the proxy), not {action}"));
    let done = browser
        .submit(
            page,
            &format!("{base}{path}"),
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    code_of(c, &done)
}

fn code_of(c: &Cluster, done: &Page) -> String {
    assert!(
        matches!(done.status, 302 | 303),
        "a redirect to the client: {} {}",
        done.status,
        done.body
    );
    assert!(done.location().unwrap().starts_with(&c.app.redirect_uri));
    assert_eq!(done.location_param("state").as_deref(), Some("st"));
    done.location_param("code").expect("a code")
}

fn ok(r: &Reply, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_on_one_replica_continues_on_the_other() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let (a, b) = (c.a.base.as_str(), c.b.base.as_str());
    // The browser's side at replica A: authorization request and sign-in.
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let login = browser.get(&c.authorize_url(a, &pkce)).await;
    let code = sign_in(&c, &mut browser, &login, a).await;

    // The code redeemed at replica B.
    let tokens = c.redeem_at(b, &code, &pkce).await;
    ok(&tokens, "the code redeemed at B");
    let access = tokens.string("access_token");
    assert_eq!(decode_segment(&access, 1)["iss"], c.issuer.as_str());
    assert_eq!(
        decode_segment(&tokens.string("id_token"), 1)["iss"],
        c.issuer.as_str()
    );
    // Both replicas publish the key that signed it.
    for base in [a, b] {
        tests::verify(&access, &c.jwks_at(base).await);
    }
    // Its refresh token rotated at replica A, then the new one at B.
    let first = tokens.string("refresh_token");
    let refreshed = c.refresh_at(a, &first).await;
    ok(&refreshed, "the refresh at A");
    let second = refreshed.string("refresh_token");
    assert_ne!(first, second, "rotated");
    let third = c.refresh_at(b, &second).await;
    ok(&third, "the rotated token at B");
    let third = third.string("refresh_token");

    // The code is spent for both, and its replay at A revokes what it issued (RFC 6749 §4.1.2),
    // including the refresh token rotated at B.
    let again = c.redeem_at(a, &code, &pkce).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.body["error"], "invalid_grant");
    let dead = c.refresh_at(b, &third).await;
    assert_eq!(dead.status, 400, "{}", dead.body);
    assert_eq!(dead.body["error"], "invalid_grant");

    // The SSO session made at A signs alice in at B without a password; that code redeemed at A.
    let pkce2 = Pkce::new();
    let silent = browser.get(&c.authorize_url(b, &pkce2)).await;
    let code2 = code_of(&c, &silent);
    ok(&c.redeem_at(a, &code2, &pkce2).await, "B's code at A");

    // And the whole flow through the proxy, the form posted where it says.
    let mut other = Agent::new();
    let pkce3 = Pkce::new();
    let login = other.get(&c.authorize_url(&c.issuer, &pkce3)).await;
    let code3 = sign_in(&c, &mut other, &login, &c.issuer).await;
    let via_proxy = c.redeem_at(&c.issuer, &code3, &pkce3).await;
    ok(&via_proxy, "the code through the proxy");
    assert!(via_proxy.upstream.is_some(), "nginx names the upstream");
    let rt = via_proxy.string("refresh_token");
    ok(
        &c.refresh_at(&c.issuer, &rt).await,
        "refresh through the proxy",
    );
}

/// What the resource service saw: `(kid, replica)` of every token it verified, and the first
/// refusal, if any.
#[derive(Debug, Default)]
struct Seen {
    verified: Vec<(String, usize)>,
    refused: Option<String>,
}

impl Seen {
    fn count(&self, replica: usize, of: impl Fn(&str) -> bool) -> usize {
        self.verified
            .iter()
            .filter(|(k, r)| *r == replica && of(k))
            .count()
    }
}

/// Keeps asking both replicas (directly, in turn) for client-credentials tokens and verifies each
/// with `verifier`, recording into `seen`, until `stop` or the first refusal.
async fn verify_while(
    c: Arc<Cluster>,
    verifier: Verifier,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) {
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let replica = i % 2;
        i += 1;
        let base = if replica == 0 { &c.a.base } else { &c.b.base };
        let token = c.svc_token_at(base).await;
        let kid = decode_segment(&token, 0)["kid"]
            .as_str()
            .unwrap()
            .to_owned();
        let verdict = verifier.verify(&token).await;
        let mut seen = seen.lock().unwrap();
        if let Err(e) = verdict {
            seen.refused = Some(format!("a token of replica {replica} ({kid}): {e}"));
            return;
        }
        seen.verified.push((kid, replica));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_through_one_replica_is_served_by_both() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let c = Arc::new(c);
    let (ops, ops_secret) = c.ops.clone();
    // A resource service: the verifier library against the issuer (the proxy), honouring the
    // JWKS max-age the IdP derives from the rotation schedule (here 7 s: below the verifier's
    // default floor of 30 s, which is meant for real schedules).
    let verifier = Verifier::builder(Policy::new(AUD))
        .issuer(IssuerConfig::auth_server(&c.issuer))
        .key_ttl(
            Duration::from_secs(1),
            Duration::from_secs(300),
            Duration::from_secs(86_400),
        )
        .build()
        .await
        .unwrap();
    let before = kids(&c.jwks_at(&c.a.base).await);
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let load = tokio::spawn(verify_while(
        c.clone(),
        verifier,
        stop.clone(),
        seen.clone(),
    ));

    // The rotation, through replica A's admin API with a token from this IdP.
    let auth = tests::basic(&ops, &ops_secret);
    let admin_token = tests::proxy_cluster::post_token(
        &c.http,
        &c.issuer,
        &auth,
        "grant_type=client_credentials",
    )
    .await
    .unwrap()
    .string("access_token");
    let res = c
        .http
        .post(format!("{}/keys/rotate", c.a.admin_api))
        .bearer_auth(&admin_token)
        .json(&json!({"alg": "ES256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rotated = tokio::time::Instant::now();
    let body: serde_json::Value = res.json().await.unwrap();
    let result = &body["results"][0];
    assert_eq!(result["outcome"], "created", "{body}");
    let kid = result["kid"].as_str().unwrap().to_owned();
    assert!(!before.contains(&kid));
    let activates_at = result["activates_at"].as_i64().unwrap();

    // Both replicas publish it within the refresh interval (polled; 2 s of slack for a loaded
    // machine), long before it signs.
    let window = Duration::from_secs(KEY_REFRESH_SECS as u64 + 2);
    let mut served_by = [None, None];
    while served_by.iter().any(Option::is_none) {
        for (i, base) in [&c.a.base, &c.b.base].into_iter().enumerate() {
            if served_by[i].is_none() && kids(&c.jwks_at(base).await).contains(&kid) {
                served_by[i] = Some(rotated.elapsed());
            }
        }
        if served_by.iter().any(Option::is_none) {
            assert!(
                rotated.elapsed() < window,
                "the new key was not served by both replicas within {window:?}: {served_by:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!(
        "new key {kid} served by A after {:?}, by B after {:?}",
        served_by[0], served_by[1]
    );

    // Both replicas switch to it by the clock at activates_at; the resource service keeps
    // verifying until it has verified tokens of the new key from both (polled until 20 s past
    // activates_at).
    let now = auth_core::Clock::now(&auth_core::SystemClock);
    let wait = u64::try_from(activates_at - now).unwrap_or(0) + 20;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.refused, None, "the resource service refused a token");
            if (0..2).all(|r| seen.count(r, |k| k == kid) > 0) {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tokens of the new key from both replicas by 20 s after activates_at"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.refused, None, "the resource service refused a token");
    for replica in [0, 1] {
        let old = seen.count(replica, |k| before.contains(k));
        let new = seen.count(replica, |k| k == kid);
        eprintln!("replica {replica}: {old} tokens of the old key, {new} of the new one verified");
        assert!(old > 0, "replica {replica} signed with the old key first");
    }
}
