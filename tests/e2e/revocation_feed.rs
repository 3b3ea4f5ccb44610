//! The revocation feed: `GET /revocations` at the IdP lists the access tokens revoked before their
//! expiry, and a verifier that polls it refuses them, cache hits included, without calling the IdP
//! per request.

use std::time::Duration;

use auth_core::{Alg, Clock};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError};
use serde_json::{Value, json};
use tests::{Backend, TestServer, basic};

use crate::verifier::on_clock;

tests::on_both_backends!(
    the_feed_lists_live_revocations_only,
    a_polling_verifier_refuses_revoked_tokens_cache_hits_included,
    a_disabled_users_tokens_appear_in_the_feed_at_once,
    a_new_password_puts_a_subject_cut_off_in_the_feed,
    one_client_cannot_crowd_others_out_of_the_feed,
    a_verifier_can_fail_closed_while_the_feed_is_stale,
);

const AUD: &str = "https://api.test";

async fn token(s: &TestServer, (id, secret): &(String, String)) -> String {
    s.cc_token(id, secret, "").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Revokes `token` at the IdP as its client (RFC 7009).
async fn revoke(s: &TestServer, (id, secret): &(String, String), token: &str) {
    let res = s
        .http
        .post(format!("{}/revoke", s.base))
        .header("authorization", basic(id, secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// `GET /revocations`: status, ETag, and the body (null on a 304).
async fn feed(s: &TestServer, if_none_match: Option<&str>) -> (u16, String, Value) {
    let mut req = s.http.get(format!("{}/revocations", s.base));
    if let Some(etag) = if_none_match {
        req = req.header("if-none-match", etag);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body = if status == 200 {
        assert_eq!(res.headers()["content-type"], "application/json");
        res.json().await.unwrap()
    } else {
        Value::Null
    };
    (status, etag, body)
}

fn claims_of(token: &str) -> Value {
    tests::decode_segment(token, 1)
}

async fn the_feed_lists_live_revocations_only(backend: Backend) {
    let s = TestServer::start(backend).await;
    let discovery = s.get("/.well-known/openid-configuration").await;
    let discovery: Value = discovery.json().await.unwrap();
    assert_eq!(
        discovery["revocation_feed_endpoint"],
        format!("{}/revocations", s.base)
    );

    let (status, empty_etag, body) = feed(&s, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"issuer": s.base, "revoked": [], "revoked_subjects": [], "revoked_keys": [], "complete": true})
    );
    assert_eq!(feed(&s, Some(&empty_etag)).await.0, 304);

    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let (first, _kept) = (token(&s, &client).await, token(&s, &client).await);
    revoke(&s, &client, &first).await;
    let (status, etag, body) = feed(&s, Some(&empty_etag)).await;
    assert_eq!(status, 200, "a new revocation changes the ETag");
    assert_ne!(etag, empty_etag);
    let c = claims_of(&first);
    assert_eq!(
        body["revoked"],
        json!([{"jti": c["jti"], "exp": c["exp"]}]),
        "only the revoked token, with its expiry"
    );
    assert_eq!(feed(&s, Some(&etag)).await.0, 304);

    // Past its expiry, the entry stays while a verifier's clock leeway (up to 300 s) could still
    // accept the token, then leaves the feed.
    let exp = c["exp"].as_i64().unwrap();
    s.clock.advance(exp - s.clock.now() + 299);
    let (_, _, body) = feed(&s, None).await;
    assert_eq!(body["revoked"].as_array().map(Vec::len), Some(1));
    s.clock.advance(2);
    let (_, _, body) = feed(&s, None).await;
    assert_eq!(body["revoked"], json!([]));
}

async fn a_polling_verifier_refuses_revoked_tokens_cache_hits_included(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let v = polling_verifier(&s, Policy::new(AUD)).await;
    let (revoked, kept) = (token(&s, &client).await, token(&s, &client).await);
    assert!(v.verify(&revoked).await.is_ok());
    assert!(v.verify(&kept).await.is_ok());

    revoke(&s, &client, &revoked).await;
    assert!(
        v.verify(&revoked).await.is_ok(),
        "no call to the IdP per request: the revocation is not known before the next poll"
    );
    let jwks_fetches = s.jwks_hit_count();
    v.refresh_revocations().await.unwrap();
    assert_eq!(
        v.verify(&revoked).await.err(),
        Some(VerifyError::Revoked),
        "refused after the poll, although its verification was cached"
    );
    assert!(v.verify(&kept).await.is_ok(), "other tokens are unaffected");
    assert_eq!(
        s.jwks_hit_count(),
        jwks_fetches,
        "polling is not a key fetch"
    );

    // With the IdP down, a poll fails and what is known stays known.
    let _stopped = s.stop().await;
    assert!(v.refresh_revocations().await.is_err());
    assert_eq!(v.verify(&revoked).await.err(), Some(VerifyError::Revoked));
    assert!(v.verify(&kept).await.is_ok());
}

async fn a_disabled_users_tokens_appear_in_the_feed_at_once(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (_, access) = anns_access_token(&s).await;
    let (_, _, before) = feed(&s, None).await;
    assert_eq!(before["revoked"], json!([]));
    // Not through /revoke: disabling the user ends their sessions and grants. The feed rendered a
    // moment ago is not reused, although the clock has not moved.
    s.app.users.set_disabled("ann", true).await.unwrap();
    let (_, _, after) = feed(&s, None).await;
    assert_eq!(
        after["revoked"][0]["jti"],
        claims_of(&access)["jti"],
        "{after}"
    );
}

/// A new password (or a disabled user) lists the user as a subject cut-off: a verifier refuses
/// their tokens issued before it from its next poll.
async fn a_new_password_puts_a_subject_cut_off_in_the_feed(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (sub, access) = anns_access_token(&s).await;
    let v = polling_verifier(&s, Policy::new(format!("{}/userinfo", s.base))).await;
    assert!(v.verify(&access).await.is_ok());
    s.clock.advance(1);
    let changed_at = s.clock.now();
    s.app
        .users
        .set_password("ann", "another long password".into())
        .await
        .unwrap();
    let (_, _, body) = feed(&s, None).await;
    assert_eq!(
        body["revoked_subjects"],
        json!([{"sub": sub, "before": changed_at}])
    );
    // Another replica whose clock lags writes the cut-off again: it never moves back.
    s.app
        .store
        .end_user_grants(&sub, changed_at - 10)
        .await
        .unwrap();
    let (_, _, body) = feed(&s, None).await;
    assert_eq!(body["revoked_subjects"][0]["before"], changed_at);
    v.refresh_revocations().await.unwrap();
    assert_eq!(v.verify(&access).await.err(), Some(VerifyError::Revoked));
    // It lasts as long as a token can (a day at most, with leeway), then leaves the feed.
    s.clock.advance(86_400 + 3_600 + 301);
    let (_, _, body) = feed(&s, None).await;
    assert_eq!(body["revoked_subjects"], json!([]));
}

/// A client revoking its own tokens in a loop only crowds out its own entries: each client's own
/// tokens get a share of the feed (1,000), users' tokens and other clients' are always listed, and
/// the feed stays complete.
async fn one_client_cannot_crowd_others_out_of_the_feed(backend: Backend) {
    use auth_server::domain::sso::tokens_admin::FEED_CLIENT_SHARE;
    let s = TestServer::start(backend).await;
    let now = s.clock.now();
    // The flood, written as /revoke writes a client's own token (minting a thousand tokens over
    // HTTP would only make the test slow).
    let share = usize::try_from(FEED_CLIENT_SHARE).unwrap();
    for i in 0..share + 25 {
        s.app
            .store
            .revoke_access_token(
                &format!("flood-{i:05}"),
                now + 60 + i as i64,
                Some("flooder"),
            )
            .await
            .unwrap();
    }
    // Another client's own token, through /revoke.
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let own = token(&s, &client).await;
    revoke(&s, &client, &own).await;
    // A user's token, through a disabled user.
    let (_, access) = anns_access_token(&s).await;
    s.app.users.set_disabled("ann", true).await.unwrap();

    let (_, _, body) = feed(&s, None).await;
    assert_eq!(body["complete"], true);
    let jtis = tests::field_of(&body["revoked"], "jti");
    for listed in [
        claims_of(&own)["jti"].as_str().unwrap(),
        claims_of(&access)["jti"].as_str().unwrap(),
    ] {
        assert!(jtis.contains(&listed), "{listed} is missing");
    }
    let flood: Vec<&&str> = jtis.iter().filter(|j| j.starts_with("flood-")).collect();
    assert_eq!(flood.len(), share, "the flooding client keeps its share");
    // The share holds the entries that expire last.
    assert!(!jtis.contains(&"flood-00000"));
    assert!(jtis.contains(&format!("flood-{:05}", share + 24).as_str()));
}

/// `require_fresh_revocations`: while the last complete poll is older than the set age (the IdP is
/// unreachable, or no poll ran), the issuer's tokens are refused, cache hits included; a
/// successful poll lets them through again.
async fn a_verifier_can_fail_closed_while_the_feed_is_stale(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let fail_closed = Policy::new(AUD).require_fresh_revocations(Duration::from_secs(60));
    let v = polling_verifier(&s, fail_closed.clone()).await;
    let t = token(&s, &client).await;
    assert!(v.verify(&t).await.is_ok(), "the first poll ran at build");
    s.clock.advance(61);
    assert_eq!(
        v.verify(&t).await.err(),
        Some(VerifyError::RevocationsStale),
        "a cache hit too"
    );
    v.refresh_revocations().await.unwrap();
    assert!(v.verify(&t).await.is_ok());
    // The IdP goes away: what is known stays usable for the set age, then the verifier fails closed.
    let clock = s.clock.clone();
    let _stopped = s.stop().await;
    assert!(v.refresh_revocations().await.is_err());
    assert!(v.verify(&t).await.is_ok());
    clock.advance(61);
    assert!(v.refresh_revocations().await.is_err());
    assert_eq!(
        v.verify(&t).await.err(),
        Some(VerifyError::RevocationsStale)
    );
    // An issuer without a feed makes the policy unsatisfiable: refused at build.
    let refused = Verifier::builder(fail_closed)
        .issuer(IssuerConfig::new("https://idp.example"))
        .background_refresh(false)
        .build()
        .await;
    assert!(refused.is_err());
}

/// Ann, a user of `s`, signs in to a first-party web client (code flow, offline access): her
/// subject and her access token.
async fn anns_access_token(s: &TestServer) -> (String, String) {
    use tests::oauth::{Agent, first_party};
    use tests::sso_support::{OFFLINE, PW, field, tokens};
    let sub = s.user("ann", PW).await;
    let app = s.web_client("app", first_party()).await;
    let tokens = tokens(s, &mut Agent::new(), &app, OFFLINE, "ann").await;
    (sub, field(&tokens, "access_token"))
}

/// A verifier of `s`'s tokens under `policy`, trusting `s` as an auth-server issuer (JWKS through
/// discovery, its revocation feed), on `s`'s clock, polling only when told.
async fn polling_verifier(s: &TestServer, policy: Policy) -> Verifier {
    let builder = Verifier::builder(policy).issuer(IssuerConfig::auth_server(&s.base));
    on_clock(builder, &s.clock).build().await.unwrap()
}
