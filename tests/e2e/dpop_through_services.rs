//! DPoP from end to end (RFC 9449): a partner gets a DPoP-bound token from the IdP's `/token` with
//! a proof, and calls inventory-service with it and a fresh proof per request; the service accepts
//! it without calling the IdP, and refuses it as a bearer token, with a replayed proof, or with a
//! proof by another key. On SQLite and PostgreSQL.

use tests::dpop::{Claims, DpopKey, assert_bound, token_with};
use tests::dpop_verifier_support::DpopServices;
use tests::oauth::WebClient;
use tests::services_env::INVENTORY;
use tests::{Backend, TestServer, now};

use crate::dpop_verifier_attacks::send;

tests::on_both_backends!(a_token_bound_at_the_idp_works_only_with_its_key_at_a_service);

async fn a_token_bound_at_the_idp_works_only_with_its_key_at_a_service(b: Backend) {
    let s = TestServer::start(b).await;
    let svc = DpopServices::start(&s).await;
    let (id, secret) = s
        .client(
            "partner",
            auth_core::Alg::Es256,
            &["inventory:reserve"],
            &[INVENTORY],
        )
        .await;
    let client = WebClient {
        id,
        secret: Some(secret),
        redirect_uri: String::new(),
    };
    let key = DpopKey::new();
    let proof = key.for_token(&s, None);
    let answer = token_with(
        &s,
        &client,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "inventory:reserve"),
            ("resource", INVENTORY),
        ],
        &[&proof],
    )
    .await;
    let token = assert_bound(&s, &answer, &key).await;

    let url = format!("{}/reservations", svc.inventory);
    let proof_by = |k: &DpopKey| {
        k.proof(Claims {
            htm: "POST",
            htu: &url,
            iat: now(&s.clock),
            nonce: None,
            token: Some(&token),
        })
    };
    let auth = || Some(format!("DPoP {token}"));

    let first = proof_by(&key);
    let ok = send(&s.http, "POST", &url, auth(), &[&first]).await;
    assert_eq!(ok.status, 201, "{ok:?}");
    assert_eq!(svc.inventory_state.stock().available("widget"), Some(9));
    // The same proof again: a replay.
    let replay = send(&s.http, "POST", &url, auth(), &[&first]).await;
    assert_eq!(replay.status, 401, "{replay:?}");
    // A proof by another key than the token's cnf.jkt.
    let other = proof_by(&DpopKey::new());
    let stolen = send(&s.http, "POST", &url, auth(), &[&other]).await;
    assert_eq!(stolen.status, 401, "{stolen:?}");
    // The bound token as a bearer token.
    let bearer = send(&s.http, "POST", &url, Some(format!("Bearer {token}")), &[]).await;
    assert_eq!(bearer.status, 401, "{bearer:?}");
    // Nothing refused reserved anything; a fresh proof works again.
    assert_eq!(svc.inventory_state.stock().available("widget"), Some(9));
    let again = send(&s.http, "POST", &url, auth(), &[&proof_by(&key)]).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(svc.inventory_state.stock().available("widget"), Some(8));
}
