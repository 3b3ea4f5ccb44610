//! Token exchange (RFC 8693), every refusal of Contract A with its error code: widening scopes,
//! an expired, revoked (by `jti`, by the subject's cut-off) or disabled user's subject token, a
//! foreign issuer or a forged signature, the wrong token type, a subject token not addressed to
//! the client, an audience outside the policy, a public client, a client without a policy; and
//! what revoking a subject token does to the tokens exchanged from it (and from those).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tests::dpop_verifier_support::{DpopKey, fresh_jti, sign};
use tests::oauth::{Agent, WebClient, first_party};
use tests::sso_support::revoke;
use tests::texch::{
    INVENTORY, ORDERS, Policy, SHIPPING, exchange, exchange_form, exchanged, register_exchanger,
    user_access_token, user_app,
};
use tests::{Backend, TestServer, verify};

use crate::texch_flow::{SCOPES, setup};

tests::on_both_backends!(
    scopes_never_widen,
    dead_subject_tokens_are_invalid_grant,
    foreign_forged_and_mistyped_subject_tokens_are_refused,
    audiences_outside_the_policy_are_refused,
    only_confidential_clients_with_a_policy_may_exchange,
    revoking_a_subject_token_revokes_what_was_exchanged_from_it,
    deleting_the_client_revokes_its_exchanged_tokens,
);

#[track_caller]
fn assert_refused(got: &(u16, Value), error: &str) {
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["error"], error, "{}", got.1);
    assert!(got.1.get("access_token").is_none());
}

async fn scopes_never_widen(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    // In the policy but not in the subject token.
    let r = exchange(&s, &orders, &token, &[("scope", "inventory:read")]).await;
    assert_refused(&r, "invalid_scope");
    // In the subject token but not let through by the policy.
    let r = exchange(&s, &orders, &token, &[("scope", "orders:write")]).await;
    assert_refused(&r, "invalid_scope");
    let r = exchange(&s, &orders, &token, &[("scope", "inventory:reserve  x")]).await;
    assert_refused(&r, "invalid_scope");
    // A chain cannot widen either: the second exchange sees only what the first let through.
    let inventory = register_exchanger(
        &s,
        "inventory",
        &Policy::delegation(
            &[INVENTORY],
            &[SHIPPING],
            &["inventory:reserve", "orders:write"],
        ),
    )
    .await;
    let first = exchanged(&s, &orders, &token, &[]).await;
    let r = exchange(&s, &inventory, &first, &[("scope", "orders:write")]).await;
    assert_refused(&r, "invalid_scope");
}

async fn dead_subject_tokens_are_invalid_grant(backend: Backend) {
    let (s, app, token, orders) = setup(backend).await;
    // Revoked by `jti` at /revoke (by the client it was issued to).
    let revoked = user_access_token(&s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    assert_eq!(exchange(&s, &orders, &revoked, &[]).await.0, 200);
    assert_eq!(revoke(&s, &app, &revoked, None).await.0, 200);
    assert_refused(&exchange(&s, &orders, &revoked, &[]).await, "invalid_grant");

    // Revoked by the subject's cut-off alone (the revocation feed's `revoked_subjects`).
    let (_, claims) = verify(&token, &s.jwks().await);
    let sub = claims["sub"].as_str().unwrap();
    assert_eq!(exchange(&s, &orders, &token, &[]).await.0, 200);
    s.clock.advance(1);
    let iat = claims["iat"].as_i64().unwrap();
    let sql = format!(
        "INSERT INTO revoked_subjects (sub, before, expires_at) VALUES ('{sub}', {}, {})",
        iat + 1,
        iat + 90_000
    );
    use sea_orm::ConnectionTrait;
    s.app.store.conn().execute_unprepared(&sql).await.unwrap();
    assert_refused(&exchange(&s, &orders, &token, &[]).await, "invalid_grant");

    // Expired.
    let fresh = user_access_token(&s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    assert_eq!(exchange(&s, &orders, &fresh, &[]).await.0, 200);
    s.clock.advance(900);
    assert_refused(&exchange(&s, &orders, &fresh, &[]).await, "invalid_grant");

    // The user disabled (which also cuts off their tokens), and with a new password.
    let live = user_access_token(&s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    assert_eq!(exchange(&s, &orders, &live, &[]).await.0, 200);
    s.app.users.set_disabled("alice", true).await.unwrap();
    assert_refused(&exchange(&s, &orders, &live, &[]).await, "invalid_grant");
    s.app.users.set_disabled("alice", false).await.unwrap();
    s.clock.advance(1);
    let live = user_access_token(&s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    assert_eq!(exchange(&s, &orders, &live, &[]).await.0, 200);
    s.clock.advance(1);
    let pw = "another long passphrase".to_owned();
    s.app.users.set_password("alice", pw).await.unwrap();
    assert_refused(&exchange(&s, &orders, &live, &[]).await, "invalid_grant");
}

/// A token with `claims` signed by the server's current ES256 key (`typ` at+jwt).
fn signed_by_server(s: &TestServer, claims: &Value) -> String {
    let now = tests::now(&s.clock);
    let snap = s.app.keys.ring().snapshot();
    let (key, signer) = snap.signing_key(auth_core::Alg::Es256, now).unwrap();
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid});
    sign(&header, claims, &**signer)
}

async fn foreign_forged_and_mistyped_subject_tokens_are_refused(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let (_, claims) = verify(&token, &s.jwks().await);

    // Another issuer, even with our key.
    let mut foreign = claims.clone();
    foreign["iss"] = json!("https://evil.example");
    foreign["jti"] = json!(fresh_jti());
    let r = exchange(&s, &orders, &signed_by_server(&s, &foreign), &[]).await;
    assert_refused(&r, "invalid_grant");
    // Our claims, signed by a key we never published, under our kid.
    let kid = tests::decode_segment(&token, 0)["kid"].clone();
    let stranger = DpopKey::es256();
    let forged = stranger.sign(
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}),
        &claims,
    );
    assert_refused(&exchange(&s, &orders, &forged, &[]).await, "invalid_grant");
    // Our signature over other claims (sub changed).
    let (head, rest) = token.split_once('.').unwrap();
    let sig = rest.split_once('.').unwrap().1;
    let mut other = claims.clone();
    other["sub"] = json!("someone-else");
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
    let tampered = format!("{head}.{body}.{sig}");
    assert_refused(
        &exchange(&s, &orders, &tampered, &[]).await,
        "invalid_grant",
    );
    assert_refused(
        &exchange(&s, &orders, "not-a-token", &[]).await,
        "invalid_grant",
    );
    // An ID token (typ JWT, not at+jwt) is not an access token.
    let mut browser = Agent::new();
    let shop = user_app(&s, "shop2", SCOPES, &[ORDERS]).await;
    let t = tests::sso_support::grant(&s, &mut browser, &shop, "openid", "alice").await;
    let id_token = t.raw["id_token"].as_str().unwrap();
    assert_refused(&exchange(&s, &orders, id_token, &[]).await, "invalid_grant");
    // A client's own token (client credentials: `sub` is the client, no user).
    let (cc, secret) = s
        .client("partner", auth_core::Alg::Es256, &["x"], &[ORDERS])
        .await;
    let own = s.cc_access_token(&cc, &secret).await;
    assert_refused(&exchange(&s, &orders, &own, &[]).await, "invalid_grant");

    // The wrong token type, an actor token, another requested type: invalid_request.
    let mut form = exchange_form(&token, &[]);
    form[2].1 = "urn:ietf:params:oauth:token-type:id_token";
    assert_refused(&s.token_as(&orders, &form).await, "invalid_request");
    form.truncate(2);
    assert_refused(&s.token_as(&orders, &form).await, "invalid_request");
    let r = exchange(&s, &orders, &token, &[("actor_token", &token)]).await;
    assert_refused(&r, "invalid_request");
    let jwt = "urn:ietf:params:oauth:token-type:jwt";
    let r = exchange(&s, &orders, &token, &[("requested_token_type", jwt)]).await;
    assert_refused(&r, "invalid_request");
    let r = exchange(&s, &orders, &token, &[("scope", "a"), ("scope", "b")]).await;
    assert_refused(&r, "invalid_request");
}

async fn audiences_outside_the_policy_are_refused(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let r = exchange(&s, &orders, &token, &[("resource", SHIPPING)]).await;
    assert_refused(&r, "invalid_target");
    let r = exchange(&s, &orders, &token, &[("audience", SHIPPING)]).await;
    assert_refused(&r, "invalid_target");
    let both = [("resource", INVENTORY), ("audience", SHIPPING)];
    assert_refused(
        &exchange(&s, &orders, &token, &both).await,
        "invalid_target",
    );
    let r = exchange(&s, &orders, &token, &[("resource", "inventory")]).await;
    assert_refused(&r, "invalid_target");

    // A subject token not addressed to the client (a token for shipping, not for orders).
    let shipping_app = user_app(&s, "ship-app", SCOPES, &[SHIPPING]).await;
    let scope = "inventory:reserve";
    let elsewhere = user_access_token(&s, &mut Agent::new(), &shipping_app, scope).await;
    assert_refused(
        &exchange(&s, &orders, &elsewhere, &[]).await,
        "invalid_grant",
    );
}

async fn only_confidential_clients_with_a_policy_may_exchange(backend: Backend) {
    let (s, _app, token, _orders) = setup(backend).await;
    let public = s.web_client("spa", first_party().public()).await;
    assert_refused(
        &exchange(&s, &public, &token, &[]).await,
        "unauthorized_client",
    );
    // A public client cannot be given a policy.
    use auth_server::domain::clients::token_exchange_policy::NewTokenExchangePolicy;
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    let p = NewTokenExchangePolicy {
        subject_audiences: vec![ORDERS.into()],
        audiences: vec![INVENTORY.into()],
        ..Default::default()
    };
    let set = s
        .app
        .clients
        .set_token_exchange_policy("spa", Some(p), &admin, &meta)
        .await;
    assert!(set.is_err(), "{set:?}");

    let (id, secret) = s
        .client("plain", auth_core::Alg::Es256, &["x"], &[INVENTORY])
        .await;
    let plain = WebClient {
        id,
        secret: Some(secret),
        redirect_uri: String::new(),
    };
    assert_refused(
        &exchange(&s, &plain, &token, &[]).await,
        "unauthorized_client",
    );
    // Wrong client credentials: invalid_client (401), as for every grant.
    let wrong = WebClient {
        secret: Some("wrong".into()),
        ..plain.clone()
    };
    assert_eq!(exchange(&s, &wrong, &token, &[]).await.0, 401);
}

async fn revoking_a_subject_token_revokes_what_was_exchanged_from_it(backend: Backend) {
    let (s, app, token, orders) = setup(backend).await;
    let inventory = register_exchanger(
        &s,
        "inventory",
        &Policy::delegation(&[INVENTORY], &[SHIPPING], &["inventory:reserve"]),
    )
    .await;
    let first = exchanged(&s, &orders, &token, &[]).await;
    let second = exchanged(&s, &inventory, &first, &[]).await;
    let active = |c: &WebClient, t: &str| {
        let (s, c, t) = (&s, c.clone(), t.to_owned());
        async move { s.introspect(&c, &t).await["active"] == json!(true) }
    };
    assert!(active(&orders, &first).await);
    assert!(active(&inventory, &second).await);
    assert_eq!(revoke(&s, &app, &token, None).await.0, 200);
    assert!(
        !active(&orders, &first).await,
        "the exchanged token is revoked too"
    );
    assert!(
        !active(&inventory, &second).await,
        "and the one exchanged from it"
    );
    let feed = s.get_json("/revocations").await;
    let listed: Vec<&str> = feed["revoked"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["jti"].as_str()).collect())
        .unwrap_or_default();
    for t in [&token, &first, &second] {
        let jti = verify(t, &s.jwks().await).1["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(listed.contains(&jti.as_str()), "{jti} in {feed}");
    }
    assert_refused(
        &exchange(&s, &inventory, &first, &[]).await,
        "invalid_grant",
    );
}

async fn deleting_the_client_revokes_its_exchanged_tokens(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let first = exchanged(&s, &orders, &token, &[]).await;
    let (_, claims) = verify(&first, &s.jwks().await);
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    assert!(
        s.app
            .clients
            .delete_by("orders", &admin, &meta)
            .await
            .unwrap()
    );
    let revoked: bool = s
        .app
        .store
        .is_access_token_revoked(claims["jti"].as_str().unwrap())
        .await
        .unwrap();
    assert!(revoked);
    assert_eq!(
        s.app.clients.token_exchange_policy("orders").await.unwrap(),
        None
    );
    // Its subject token is untouched.
    let sub_jti = verify(&token, &s.jwks().await).1["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!s.app.store.is_access_token_revoked(&sub_jti).await.unwrap());
    // A policy for a client that is gone cannot be set.
    let set = s
        .app
        .clients
        .set_token_exchange_policy("orders", None, &admin, &meta)
        .await;
    assert!(matches!(set, Ok(None)), "{set:?}");
}
