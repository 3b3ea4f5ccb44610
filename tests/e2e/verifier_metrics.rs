//! The verifier's metrics as the example services serve them: tokens presented to orders-service
//! (valid, forged, for another audience, garbage, revoked at the IdP) move the right counters on its
//! own `/metrics` listener, with the right labels, and the key and feed ages are true when scraped.

use auth_core::Alg;
use tests::Backend;
use tests::services_env::{Env, INVENTORY, ORDERS, metric, scrape};

tests::on_both_backends!(
    verifications_are_counted_by_outcome_and_reason_on_the_services_metrics,
    key_and_feed_ages_are_small_after_a_refresh_and_fetches_are_counted,
);

/// `auth_verifier_verifications_total` of `audience` for one outcome and reason (0 if absent).
fn verifications(text: &str, audience: &str, outcome: &str, reason: &str) -> f64 {
    let labels = [
        ("audience", audience),
        ("outcome", outcome),
        ("reason", reason),
    ];
    metric(text, "auth_verifier_verifications_total", &labels).unwrap_or(0.0)
}

/// Changes one character well inside the signature: a forgery.
fn forge(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

async fn revoke(env: &Env, token: &str) {
    let (id, secret) = &env.partner;
    let res = env
        .s
        .http
        .post(format!("{}/revoke", env.s.base))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn verifications_are_counted_by_outcome_and_reason_on_the_services_metrics(backend: Backend) {
    let env = Env::start(backend, true).await;
    let url = format!("{}/orders", env.orders);
    let before = scrape(&env.s.http, &env.orders_metrics).await;
    for reason in auth_verifier::VerifyError::REASONS {
        assert_eq!(verifications(&before, ORDERS, "rejected", reason), 0.0);
    }
    assert_eq!(verifications(&before, ORDERS, "ok", "valid"), 0.0);

    let token = env.partner_token("orders:read").await;
    assert_eq!(env.get(url.clone(), Some(&token)).await.status, 200);
    assert_eq!(env.get(url.clone(), Some(&token)).await.status, 200);
    assert_eq!(env.get(url.clone(), Some(&forge(&token))).await.status, 401);
    let ops = env
        .s
        .client("ops", Alg::Rs256, &["inventory:read"], &[INVENTORY])
        .await;
    let for_inventory = env.token(&ops, "inventory:read", INVENTORY).await;
    let wrong_audience = env.get(url.clone(), Some(&for_inventory)).await;
    assert_eq!(wrong_audience.status, 401, "{:?}", wrong_audience.body);
    assert_eq!(env.get(url.clone(), Some("a.b")).await.status, 401);

    // Revoked at the IdP (RFC 7009), known to the service at its next feed poll.
    revoke(&env, &token).await;
    env.orders_state
        .verifier()
        .refresh_revocations()
        .await
        .unwrap();
    assert_eq!(env.get(url.clone(), Some(&token)).await.status, 401);

    let text = scrape(&env.s.http, &env.orders_metrics).await;
    assert_eq!(verifications(&text, ORDERS, "ok", "valid"), 2.0, "{text}");
    for (reason, count) in [
        ("bad_signature", 1.0),
        ("wrong_audience", 1.0),
        ("malformed", 1.0),
        ("revoked", 1.0),
        ("expired", 0.0),
        ("unknown_kid", 0.0),
    ] {
        assert_eq!(
            verifications(&text, ORDERS, "rejected", reason),
            count,
            "{reason}"
        );
    }
    let aud = [("audience", ORDERS)];
    // The second use of the token and its use after revocation were cache hits; the first use,
    // the forgery, the other audience's token and the garbage were looked up and missed.
    let hits = metric(&text, "auth_verifier_token_cache_hits_total", &aud);
    let misses = metric(&text, "auth_verifier_token_cache_misses_total", &aud);
    assert_eq!((hits, misses), (Some(2.0), Some(4.0)));

    // Each service has its own registry: inventory's shows its own verifier only, and none of the
    // above (no order was placed, so it verified nothing).
    let inventory = scrape(&env.s.http, &env.inventory_metrics).await;
    assert!(!inventory.contains(ORDERS), "{inventory}");
    assert_eq!(verifications(&inventory, INVENTORY, "ok", "valid"), 0.0);
    let placed = env
        .order(&env.partner_token("orders:write").await, "widget", 1)
        .await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    let inventory = scrape(&env.s.http, &env.inventory_metrics).await;
    assert_eq!(
        verifications(&inventory, INVENTORY, "ok", "valid"),
        1.0,
        "orders-service's own token, verified by inventory"
    );
}

async fn key_and_feed_ages_are_small_after_a_refresh_and_fetches_are_counted(backend: Backend) {
    let env = Env::start(backend, true).await;
    let verifier = env.orders_state.verifier();
    verifier.refresh().await;
    verifier.refresh_revocations().await.unwrap();
    let text = scrape(&env.s.http, &env.orders_metrics).await;
    let labels = [("audience", ORDERS), ("issuer", env.s.base.as_str())];
    let age = |name: &str| metric(&text, name, &labels).unwrap();
    // Computed when scraped from the time of the last success (the system clock): a refresh just
    // happened, so each is a few seconds at most, never negative.
    for name in [
        "auth_verifier_jwks_age_seconds",
        "auth_verifier_revocation_feed_age_seconds",
    ] {
        let seconds = age(name);
        assert!((0.0..60.0).contains(&seconds), "{name} = {seconds}");
    }
    // One fetch when the service was built and one now; the feed polled twice too; nothing failed.
    assert_eq!(age("auth_verifier_jwks_fetches_total"), 2.0);
    assert_eq!(age("auth_verifier_revocation_feed_polls_total"), 2.0);
    for reason in auth_verifier::FetchError::REASONS {
        let failed = [labels[0], labels[1], ("reason", reason)];
        let jwks = metric(&text, "auth_verifier_jwks_fetch_failures_total", &failed);
        let feed = metric(
            &text,
            "auth_verifier_revocation_feed_failures_total",
            &failed,
        );
        assert_eq!((jwks, feed), (Some(0.0), Some(0.0)), "{reason}");
    }
    let last = age("auth_verifier_jwks_last_success_timestamp_seconds");
    let now = auth_core::Clock::now(&auth_core::SystemClock) as f64;
    assert!(last <= now && now - last < 60.0, "{last} vs {now}");
}
