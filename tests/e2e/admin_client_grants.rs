//! Deleting a client through the admin API ends the grants users gave it, on SQLite and PostgreSQL:
//! the access tokens of code grants without a refresh token (whose `sub` is the user, so the
//! cut-off on the client id does not reach them) and those of refresh-token families go to the
//! revocation feed by `jti`.

use reqwest::Method;
use tests::admin::{ADMIN_SCOPES, AdminServer};
use tests::oauth::{Agent, first_party};
use tests::sso_support::{PW, grant};
use tests::{Backend, on_both_backends};

on_both_backends!(deleting_a_client_revokes_the_tokens_of_its_grants);

async fn deleting_a_client_revokes_the_tokens_of_its_grants(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    a.s.user("alice", PW).await;
    let web = a.s.web_client("web", first_party()).await;
    let mut browser = Agent::new();
    let short = grant(&a.s, &mut browser, &web, "openid", "alice").await;
    assert!(short.refresh_token.is_none(), "{:?}", short.raw);
    let long = grant(&a.s, &mut browser, &web, "openid offline_access", "alice").await;
    assert!(long.refresh_token.is_some(), "{:?}", long.raw);

    let res = a
        .call(Method::DELETE, "/clients/web", Some(&token), None)
        .await;
    assert_eq!(res.status(), 204);
    let feed = a.s.get_json("/revocations").await;
    let revoked: Vec<&str> = feed["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["jti"].as_str())
        .collect();
    for t in [&short, &long] {
        let jti = tests::decode_segment(&t.access_token, 1)["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(revoked.contains(&jti.as_str()), "{jti} not in {feed}");
    }
}
