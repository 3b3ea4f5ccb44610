//! Revocation (RFC 7009) and introspection (RFC 7662) of the tokens of the user grants over HTTP.
//! Every test runs on SQLite and PostgreSQL.

use serde_json::Value;
use tests::fixture::{Sso, two_apps};
use tests::oauth::{Agent, WebClient, first_party};
use tests::sso_support::{
    OFFLINE, alice_offline, assert_client_refused, assert_error, assert_refresh_dead, field, grant,
    inactive, post_form, refreshed, revoke, rotated, userinfo,
};
use tests::{Backend, TestServer, assert_json_no_store, basic, verify};

/// A confidential client with no redirect URI, standing for a resource server that introspects
/// any token (registered with `introspect_any`).
async fn resource_server(s: &TestServer, id: &str) -> WebClient {
    introspecting_client(s, id, &["https://api.example"], true).await
}

/// A confidential client for `resources`, with or without `introspect_any`.
async fn introspecting_client(
    s: &TestServer,
    id: &str,
    resources: &[&str],
    introspect_any: bool,
) -> WebClient {
    let new = auth_server::domain::clients::NewClient {
        name: format!("resource server {id}"),
        introspect_any,
        ..tests::new_client(id, auth_core::Alg::Es256, &["api"], resources)
    };
    let (c, secret) = s.app.clients.create(new).await.unwrap();
    WebClient {
        id: c.id,
        secret,
        redirect_uri: String::new(),
    }
}

tests::on_both_backends!(
    revoking_a_refresh_token_kills_its_family,
    revoking_an_access_token,
    revoking_unknown_foreign_or_mis_hinted_tokens,
    introspection_of_access_and_refresh_tokens,
    introspection_needs_an_authenticated_confidential_client,
    introspection_answers_only_about_own_tokens_and_registered_audiences,
);

async fn revoking_a_refresh_token_kills_its_family(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let rt1 = alice_offline(&s, &mut browser, &app).await;
    let rt2 = rotated(&s, &app, &rt1).await;
    let other = alice_offline(&s, &mut browser, &app).await;

    let res = post_form(
        &s,
        "/revoke",
        Some(&basic(&app.id, app.secret.as_deref().unwrap())),
        &[("token", &rt2), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
    assert_refresh_dead(&s, &app, &rt2).await;
    // Revoking again is still a success (RFC 7009 §2.2).
    assert_eq!(revoke(&s, &app, &rt2, None).await.0, 200);
    // Other grants are untouched; a wrong hint is only a hint.
    assert_eq!(s.introspect(&app, &other).await["active"], true);
    assert_eq!(revoke(&s, &app, &other, Some("access_token")).await.0, 200);
    assert_refresh_dead(&s, &app, &other).await;
}

async fn revoking_an_access_token(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let rs = resource_server(&s, "rs").await;
    let access = grant(&s, &mut browser, &app, "openid email", "alice")
        .await
        .access_token;
    assert_eq!(s.introspect(&rs, &access).await["active"], true);
    assert_eq!(userinfo(&s, &access).await.0, 200);

    let (status, body) = revoke(&s, &app, &access, Some("access_token")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.introspect(&rs, &access).await, inactive());
    let (status, challenge) = userinfo(&s, &access).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // POST userinfo too.
    let res = post_form(&s, "/userinfo", None, &[("access_token", &access)]).await;
    assert_eq!(res.status(), 401);

    // Without a hint, and with the wrong one: the shape decides.
    let other = grant(&s, &mut browser, &app, "openid", "alice")
        .await
        .access_token;
    assert_eq!(revoke(&s, &app, &other, Some("refresh_token")).await.0, 200);
    assert_eq!(s.introspect(&rs, &other).await, inactive());
    assert_eq!(userinfo(&s, &other).await.0, 401);
    // A token issued later is not affected.
    let fresh = grant(&s, &mut browser, &app, "openid", "alice")
        .await
        .access_token;
    assert_eq!(userinfo(&s, &fresh).await.0, 200);
    // An expired token: nothing to revoke, still 200.
    s.clock.advance(901);
    assert_eq!(revoke(&s, &app, &fresh, None).await.0, 200);
}

async fn revoking_unknown_foreign_or_mis_hinted_tokens(backend: Backend) {
    let (s, a, b, mut browser) = two_apps(backend, "alice").await;
    let t = grant(&s, &mut browser, &a, OFFLINE, "alice").await;
    let (rt, access) = (t.refresh(), &t.access_token);

    // Unknown and malformed tokens: 200, nothing said (RFC 7009 §2.2).
    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "x".repeat(300).as_str(),
    ] {
        let (status, body) = revoke(&s, &a, garbage, None).await;
        assert_eq!(status, 200, "{garbage}: {body}");
    }
    // Somebody else's tokens: refused, and they stay live.
    let got = revoke(&s, &b, rt, None).await;
    assert_error(&got, 400, "unauthorized_client");
    let got = revoke(&s, &b, access, Some("access_token")).await;
    assert_error(&got, 400, "unauthorized_client");
    assert_eq!(s.introspect(&a, rt).await["active"], true);
    assert_eq!(s.introspect(&a, access).await["active"], true);
    assert_eq!(userinfo(&s, access).await.0, 200);
    // No token, no client authentication.
    assert_error(
        &s.endpoint_as("/revoke", &a, &[]).await,
        400,
        "invalid_request",
    );
    assert_client_refused(post_form(&s, "/revoke", None, &[("token", rt)]).await).await;
    let wrong = Some(basic(&a.id, "wrong"));
    assert_client_refused(post_form(&s, "/revoke", wrong.as_deref(), &[("token", rt)]).await).await;
    // After all that, A's refresh token still works.
    refreshed(&s, &a, rt).await;

    // A hint the server does not know, or a wrong one, is ignored: the search covers every token
    // type (RFC 7009 §2.1).
    let rt = alice_offline(&s, &mut browser, &a).await;
    assert_eq!(revoke(&s, &a, &rt, Some("id_token")).await.0, 200);
    assert_eq!(s.introspect(&a, &rt).await["active"], false);
    let access = grant(&s, &mut browser, &a, OFFLINE, "alice")
        .await
        .access_token;
    assert_eq!(s.introspect(&a, &access).await["active"], true);
    assert_eq!(revoke(&s, &a, &access, Some("refresh_token")).await.0, 200);
    assert_eq!(s.introspect(&a, &access).await["active"], false);
}

async fn introspection_of_access_and_refresh_tokens(backend: Backend) {
    let sso = Sso::start(backend).await;
    let (sub, (s, app, mut browser)) = (sso.sub.clone(), sso.into_parts());
    let rs = resource_server(&s, "rs").await;
    let t = grant(&s, &mut browser, &app, OFFLINE, "alice").await;
    let (access, rt) = (&t.access_token, t.refresh());
    let now = tests::now(&s.clock);
    let (_, claims) = verify(access, &s.jwks().await);

    let res = post_form(
        &s,
        "/introspect",
        Some(&basic(&rs.id, rs.secret.as_deref().unwrap())),
        &[("token", access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_json_no_store(&res);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["client_id"], "app");
    assert_eq!(info["scope"], OFFLINE);
    assert_eq!(info["iss"], s.base.as_str());
    assert_eq!(info["aud"], format!("{}/userinfo", s.base).as_str());
    assert_eq!(info["iat"].as_i64(), Some(now));
    assert_eq!(info["exp"].as_i64(), Some(now + 900));
    assert_eq!(info["jti"], claims["jti"]);
    // The client the token was issued to may introspect it too.
    assert_eq!(s.introspect(&app, access).await, info);

    // A refresh token, by its own client.
    let r = s.introspect(&app, rt).await;
    assert_eq!(r["active"], true);
    assert_eq!(r["token_type"], "refresh_token");
    assert_eq!(r["client_id"], "app");
    assert_eq!(r["sub"], sub.as_str());
    assert_eq!(r["scope"], OFFLINE);
    assert_eq!(r["iss"], s.base.as_str());
    assert_eq!(r["iat"].as_i64(), Some(now));
    assert_eq!(r["exp"].as_i64(), Some(now + 1_209_600));
    // A hint is only a hint.
    let (status, hinted) = s
        .endpoint_as(
            "/introspect",
            &app,
            &[("token", rt), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!((status, &hinted), (200, &r));
    // Not to another client: it is not theirs to know about.
    assert_eq!(s.introspect(&rs, rt).await, inactive());
    // An ID token is not an access token.
    assert_eq!(s.introspect(&rs, t.id()).await, inactive());

    // access_token_ttl_secs = 900.
    s.clock.advance(899);
    assert_eq!(s.introspect(&rs, access).await["active"], true);
    s.clock.advance(1);
    let res = post_form(
        &s,
        "/introspect",
        Some(&basic(&rs.id, rs.secret.as_deref().unwrap())),
        &[("token", access)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.json::<Value>().await.unwrap(), inactive());
    // The refresh token outlives it.
    assert_eq!(s.introspect(&app, rt).await["active"], true);
}

async fn introspection_needs_an_authenticated_confidential_client(backend: Backend) {
    let (s, app, _) = Sso::start(backend).await.into_parts();
    let spa = s.web_client("spa", first_party().public()).await;
    let t = grant(&s, &mut Agent::new(), &spa, OFFLINE, "alice").await;
    let (access, rt) = (&t.access_token, t.refresh());

    // A public client, even about its own tokens.
    for token in [access.as_str(), rt] {
        let pairs = [("token", token), ("client_id", "spa")];
        let body = assert_client_refused(post_form(&s, "/introspect", None, &pairs).await).await;
        assert!(body.get("active").is_none());
    }
    // Nobody.
    let res = post_form(&s, "/introspect", None, &[("token", access)]).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_client_refused(res).await;
    // A wrong secret.
    let wrong = Some(basic(&app.id, "wrong"));
    let res = post_form(&s, "/introspect", wrong.as_deref(), &[("token", access)]).await;
    assert!(assert_client_refused(res).await.get("active").is_none());
    // Another confidential client: neither of the public client's tokens is its to see (RFC 7662
    // §4), garbage is inactive, and a missing token is a bad request; a resource server registered
    // to introspect any token sees the access token.
    assert_eq!(s.introspect(&app, access).await, inactive());
    assert_eq!(s.introspect(&app, rt).await, inactive());
    let rs = resource_server(&s, "rs").await;
    assert_eq!(s.introspect(&rs, access).await["active"], true);
    assert_eq!(s.introspect(&app, "garbage").await, inactive());
    assert_eq!(s.introspect(&app, "a.b.c").await, inactive());
    assert_error(
        &s.endpoint_as("/introspect", &app, &[]).await,
        400,
        "invalid_request",
    );
}

/// RFC 7662 §4: a client learns about an access token only if it was issued to it, if it is meant
/// for a resource the client is registered for, or if the client may introspect any token.
async fn introspection_answers_only_about_own_tokens_and_registered_audiences(backend: Backend) {
    let s = TestServer::start(backend).await;
    let orders = "https://orders.example";
    let (pid, psecret) = s
        .client(
            "partner",
            auth_core::Alg::Es256,
            &["orders:read"],
            &[orders],
        )
        .await;
    let partner_token = field(&s.cc_token(&pid, &psecret, "").await, "access_token");
    let orders_rs = introspecting_client(&s, "orders-rs", &[orders], false).await;
    let other_rs = introspecting_client(&s, "other-rs", &["https://other.example"], false).await;
    let auditor = introspecting_client(&s, "auditor", &["https://other.example"], true).await;
    let partner = WebClient {
        id: pid,
        secret: Some(psecret),
        redirect_uri: String::new(),
    };
    for (who, active) in [
        (&partner, true),
        (&orders_rs, true),
        (&auditor, true),
        (&other_rs, false),
    ] {
        let got = s.introspect(who, &partner_token).await;
        assert_eq!(got["active"], active, "{}: {got}", who.id);
        if !active {
            assert_eq!(got, inactive(), "nothing else is said");
        }
    }
    // The other resource server may still introspect its own tokens.
    let own = field(
        &s.cc_token(&other_rs.id, other_rs.secret.as_deref().unwrap(), "")
            .await,
        "access_token",
    );
    assert_eq!(s.introspect(&other_rs, &own).await["active"], true);
}
