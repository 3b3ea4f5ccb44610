//! Token exchange (RFC 8693), what succeeds: delegation with `act`, chains with nested `act` up to
//! the bound, impersonation only under a policy that says so, `exp` capped by the subject token's,
//! a DPoP-bound exchanged token, and an exchanged token verified by `auth-verifier` as a resource
//! service verifies it.

use std::sync::Arc;

use auth_core::Clock;
use auth_verifier::{IssuerConfig, Policy as VerifierPolicy, Verifier};
use serde_json::json;
use tests::oauth::{Agent, WebClient};
use tests::texch::{
    ACCESS_TOKEN_TYPE, INVENTORY, ORDERS, Policy, SHIPPING, exchange, exchange_form, exchanged,
    register_exchanger, set_exchange_policy, user_access_token, user_app,
};
use tests::{Backend, TestServer, verify};

tests::on_both_backends!(
    delegation_names_the_client_in_act,
    chains_nest_act_up_to_the_bound,
    impersonation_only_under_its_policy,
    an_exchange_with_a_dpop_proof_is_bound,
);

pub const SCOPES: &[&str] = &[
    "openid",
    "orders:write",
    "inventory:reserve",
    "inventory:read",
];

/// A server, alice's access token for the orders service (`openid orders:write
/// inventory:reserve`, audience [`ORDERS`] and userinfo), and `orders` allowed to exchange it for
/// [`INVENTORY`] with the inventory scopes.
pub async fn setup(backend: Backend) -> (TestServer, WebClient, String, WebClient) {
    let s = TestServer::start(backend).await;
    let app = user_app(&s, "shop", SCOPES, &[ORDERS]).await;
    let scope = "openid orders:write inventory:reserve";
    let token = user_access_token(&s, &mut Agent::new(), &app, scope).await;
    let policy = Policy::delegation(
        &[ORDERS],
        &[INVENTORY],
        &["inventory:reserve", "inventory:read"],
    );
    let orders = register_exchanger(&s, "orders", &policy).await;
    (s, app, token, orders)
}

async fn delegation_names_the_client_in_act(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let (_, subject) = verify(&token, &s.jwks().await);
    let t0 = tests::now(&s.clock);
    let (status, body) = exchange(&s, &orders, &token, &[("resource", INVENTORY)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(
        body["scope"], "inventory:reserve",
        "the subject's scopes the policy lets pass"
    );
    assert_eq!(body["expires_in"], 900);
    assert!(body.get("refresh_token").is_none());

    let (header, claims) = verify(body["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["sub"], subject["sub"], "still the user");
    assert_eq!(claims["client_id"], "orders");
    assert_eq!(claims["aud"], INVENTORY);
    assert_eq!(claims["scope"], "inventory:reserve");
    assert_eq!(claims["act"], json!({"sub": "orders"}));
    assert_eq!(claims["iat"], t0);
    assert_ne!(claims["jti"], subject["jti"]);

    // Later, the issued token lives only as long as the subject token.
    s.clock.advance(600);
    let (status, body) = exchange(&s, &orders, &token, &[("audience", INVENTORY)]).await;
    assert_eq!(status, 200, "RFC 8693 audience names it too: {body}");
    assert_eq!(body["expires_in"], 300);
    let (_, later) = verify(body["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(later["exp"], subject["exp"]);

    // A narrower scope may be asked for.
    let narrow = exchanged(&s, &orders, &token, &[("scope", "inventory:reserve")]).await;
    assert_eq!(
        verify(&narrow, &s.jwks().await).1["scope"],
        "inventory:reserve"
    );

    // The resource side: auth-verifier accepts it for the inventory audience and shows the actor.
    let v = Verifier::builder(VerifierPolicy::new(INVENTORY))
        .issuer(IssuerConfig::new(&s.base))
        .clock(Arc::new(s.clock.clone()))
        .background_refresh(false)
        .build()
        .await
        .unwrap();
    let c = v.verify(&narrow).await.unwrap();
    assert_eq!(c.sub.as_deref(), subject["sub"].as_str());
    assert_eq!(c.client_id.as_deref(), Some("orders"));
    assert_eq!(c.extra.get("act"), Some(&json!({"sub": "orders"})));
    assert!(c.has_scope("inventory:reserve"));
    // ... and refuses the user's own token there (not its audience).
    assert!(v.verify(&token).await.is_err());
    assert!(s.clock.now() > t0);
}

async fn chains_nest_act_up_to_the_bound(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let inventory = register_exchanger(
        &s,
        "inventory",
        &Policy::delegation(&[INVENTORY], &[SHIPPING, INVENTORY], &["inventory:reserve"]),
    )
    .await;
    let first = exchanged(&s, &orders, &token, &[]).await;
    let second = exchanged(&s, &inventory, &first, &[("resource", SHIPPING)]).await;
    let (_, claims) = verify(&second, &s.jwks().await);
    assert_eq!(
        claims["act"],
        json!({"sub": "inventory", "act": {"sub": "orders"}})
    );
    assert_eq!(claims["client_id"], "inventory");
    assert_eq!(claims["aud"], SHIPPING);
    assert_eq!(claims["sub"], verify(&token, &s.jwks().await).1["sub"]);

    // Inventory to inventory again: depth 2, 3, then 4 (the bound), then refused.
    let third = exchanged(&s, &inventory, &first, &[("resource", INVENTORY)]).await;
    let fourth = exchanged(&s, &inventory, &third, &[("resource", INVENTORY)]).await;
    let fifth = exchanged(&s, &inventory, &fourth, &[("resource", INVENTORY)]).await;
    let (_, c5) = verify(&fifth, &s.jwks().await);
    assert_eq!(
        c5["act"],
        json!({"sub": "inventory", "act": {"sub": "inventory", "act": {"sub": "inventory", "act": {"sub": "orders"}}}})
    );
    let (status, body) = exchange(&s, &inventory, &fifth, &[("resource", INVENTORY)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

async fn impersonation_only_under_its_policy(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let delegated = exchanged(&s, &orders, &token, &[]).await;
    assert_eq!(
        verify(&delegated, &s.jwks().await).1["act"],
        json!({"sub": "orders"})
    );

    let policy =
        Policy::delegation(&[ORDERS], &[INVENTORY], &["inventory:reserve"]).impersonating();
    set_exchange_policy(&s, "orders", Some(&policy)).await;
    let impersonated = exchanged(&s, &orders, &token, &[]).await;
    let (_, claims) = verify(&impersonated, &s.jwks().await);
    assert!(claims.get("act").is_none(), "{claims}");
    assert_eq!(claims["client_id"], "orders");

    // Without a policy any more, no exchange at all.
    set_exchange_policy(&s, "orders", None).await;
    let (status, body) = exchange(&s, &orders, &token, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
}

async fn an_exchange_with_a_dpop_proof_is_bound(backend: Backend) {
    let (s, _app, token, orders) = setup(backend).await;
    let key = tests::dpop::DpopKey::new();
    let proof = key.for_token(&s, None);
    let form = exchange_form(&token, &[("resource", INVENTORY)]);
    let a = tests::dpop::token_with(&s, &orders, &form, &[&proof]).await;
    let bound = tests::dpop::assert_bound(&s, &a, &key).await;
    assert_eq!(a.body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(
        verify(&bound, &s.jwks().await).1["act"],
        json!({"sub": "orders"})
    );
    // Without a proof: a bearer token.
    let a = tests::dpop::token_with(&s, &orders, &form, &[]).await;
    tests::dpop::assert_bearer(&s, &a).await;
}
