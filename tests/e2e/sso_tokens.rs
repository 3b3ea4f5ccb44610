//! The tokens of the user grants over HTTP: failed code redemptions, public clients, refresh tokens
//! (issue, rotation, reuse detection, grace window, idle and absolute lifetimes, scope narrowing,
//! client binding, disabled users), revocation (RFC 7009) and introspection (RFC 7662). Every test
//! runs on SQLite and PostgreSQL.

use serde_json::{Value, json};
use tests::oauth::{Agent, Pkce, WebClient, WebClientOptions, encode_form, first_party};
use tests::{Backend, TestServer, basic, decode_segment, verify};

const PW: &str = "correct horse battery";
const OFFLINE: &str = "openid offline_access";

fn inactive() -> Value {
    json!({ "active": false })
}

/// A string field of a JSON body.
fn field(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no string {k} in {v}"))
        .to_owned()
}

#[track_caller]
fn assert_error(got: &(u16, Value), status: u16, error: &str) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (status, Some(error)),
        "{}",
        got.1
    );
}

/// Gets a code for `scope` (signing `user` in unless the browser has a session) and redeems it.
async fn tokens(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    scope: &str,
    user: &str,
) -> Value {
    let pkce = Pkce::new();
    let code = s.code_for(browser, app, &pkce, scope, user, PW).await;
    let (status, body) = s.redeem(app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Refreshes, asserting success; returns the body.
async fn refreshed(s: &TestServer, app: &WebClient, rt: &str) -> Value {
    let (status, body) = s.refresh(app, rt, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `POST /revoke` as `app`.
async fn revoke(s: &TestServer, app: &WebClient, token: &str, hint: Option<&str>) -> (u16, Value) {
    let mut pairs = vec![("token", token)];
    if let Some(hint) = hint {
        pairs.push(("token_type_hint", hint));
    }
    s.endpoint_as("/revoke", app, &pairs).await
}

/// A form POST to `path` with an optional `Authorization` header, as is.
async fn post_form(
    s: &TestServer,
    path: &str,
    authorization: Option<&str>,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = s
        .http
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(pairs));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

/// Status, `WWW-Authenticate` and body of a response.
async fn read(res: reqwest::Response) -> (u16, String, Value) {
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null);
    (status, challenge, body)
}

/// `GET /userinfo` with a bearer token: status and `WWW-Authenticate`.
async fn userinfo(s: &TestServer, access: &str) -> (u16, String) {
    let res = s
        .http
        .get(format!("{}/userinfo", s.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let (status, challenge, _) = read(res).await;
    (status, challenge)
}

/// A confidential client with no redirect URI, standing for a resource server that introspects.
async fn resource_server(s: &TestServer, id: &str) -> WebClient {
    let (id, secret) = s
        .client(
            id,
            auth_core::Alg::Es256,
            &["api"],
            &["https://api.example"],
        )
        .await;
    WebClient {
        id,
        secret: Some(secret),
        redirect_uri: String::new(),
    }
}

tests::on_both_backends!(
    wrong_or_missing_pkce_verifier_is_invalid_grant,
    reused_code_is_refused_and_revokes_what_it_issued,
    concurrent_redemptions_leave_no_live_tokens,
    wrong_redirect_uri_and_expired_code_are_invalid_grant,
    code_of_another_client_is_refused_without_consuming_it,
    public_client_uses_client_id_only_and_no_client_credentials,
    confidential_client_without_its_secret_is_invalid_client,
    refresh_token_needs_offline_access_or_always_refresh,
    refresh_rotates_every_token,
    reuse_after_the_grace_window_revokes_the_family,
    retry_within_the_grace_window_reissues_and_retires_the_previous,
    refresh_token_expires_when_idle,
    refresh_family_has_an_absolute_lifetime,
    refresh_scope_may_narrow_but_not_widen,
    refresh_without_an_audience_does_not_spend_the_token,
    refresh_token_is_bound_to_its_client,
    disabled_user_cannot_refresh,
    revoking_a_refresh_token_kills_its_family,
    revoking_an_access_token,
    revoking_unknown_foreign_or_mis_hinted_tokens,
    introspection_of_access_and_refresh_tokens,
    introspection_needs_an_authenticated_confidential_client,
);

async fn wrong_or_missing_pkce_verifier_is_invalid_grant(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();

    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    let wrong = Pkce::new();
    assert_error(
        &s.redeem(&app, &code, &wrong.verifier).await,
        400,
        "invalid_grant",
    );
    // The failed attempt spent the code: the right verifier does not bring it back (fail closed).
    assert_error(
        &s.redeem(&app, &code, &pkce.verifier).await,
        400,
        "invalid_grant",
    );

    // The challenge itself is not a verifier.
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    assert_error(
        &s.redeem(&app, &code, &pkce.challenge).await,
        400,
        "invalid_grant",
    );

    // No code_verifier although the authorization request had a challenge.
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    let got = s
        .token_as(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &app.redirect_uri),
            ],
        )
        .await;
    assert_error(&got, 400, "invalid_grant");
    assert!(got.1.get("access_token").is_none());

    // The control: a fresh code with its own verifier is redeemed.
    tokens(&s, &mut browser, &app, "openid", "alice").await;
}

async fn reused_code_is_refused_and_revokes_what_it_issued(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, OFFLINE, "alice", PW)
        .await;
    let (status, first) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{first}");
    let access = field(&first, "access_token");
    let rt = field(&first, "refresh_token");
    assert_eq!(s.introspect(&app, &access).await["active"], true);
    assert_eq!(s.introspect(&app, &rt).await["active"], true);
    assert_eq!(userinfo(&s, &access).await.0, 200);

    // The same request again.
    let again = s.redeem(&app, &code, &pkce.verifier).await;
    assert_error(&again, 400, "invalid_grant");
    assert!(again.1.get("access_token").is_none());

    // Everything the first redemption issued is revoked.
    assert_eq!(s.introspect(&app, &access).await, inactive());
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    let (status, challenge) = userinfo(&s, &access).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // And it stays refused.
    assert_error(
        &s.redeem(&app, &code, &pkce.verifier).await,
        400,
        "invalid_grant",
    );
}

/// Two redemptions of one code at the same moment: one of them is a reuse, so whatever the code gave
/// is revoked, whichever of the two finishes first. At most one gets tokens (the first to finish,
/// if it finished before the other consumed the code), and they are dead; otherwise both are
/// refused.
async fn concurrent_redemptions_leave_no_live_tokens(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    for round in 0..4 {
        let pkce = Pkce::new();
        let code = s
            .code_for(&mut browser, &app, &pkce, OFFLINE, "alice", PW)
            .await;
        let (a, b) = tokio::join!(
            s.redeem(&app, &code, &pkce.verifier),
            s.redeem(&app, &code, &pkce.verifier)
        );
        let won: Vec<_> = [&a, &b].into_iter().filter(|r| r.0 == 200).collect();
        assert!(won.len() <= 1, "round {round}: {a:?} {b:?}");
        for r in [&a, &b] {
            if r.0 != 200 {
                assert_error(r, 400, "invalid_grant");
            }
        }
        for (_, tokens) in won {
            let access = field(tokens, "access_token");
            let rt = field(tokens, "refresh_token");
            assert_eq!(
                s.introspect(&app, &access).await,
                inactive(),
                "round {round}: the access token of a reused code is revoked"
            );
            assert_eq!(
                s.introspect(&app, &rt).await,
                inactive(),
                "round {round}: the refresh token of a reused code is revoked"
            );
            assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
            assert_eq!(userinfo(&s, &access).await.0, 401, "round {round}");
        }
        // A third try is refused too.
        assert_error(
            &s.redeem(&app, &code, &pkce.verifier).await,
            400,
            "invalid_grant",
        );
    }
}

async fn wrong_redirect_uri_and_expired_code_are_invalid_grant(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();

    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    let got = s
        .token_as(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example/cb/other"),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_error(&got, 400, "invalid_grant");

    // redirect_uri was in the authorization request, so it is required at the token endpoint.
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    let got = s
        .token_as(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_error(&got, 400, "invalid_grant");

    // authorize.code_ttl_secs = 60: a code 59 s old is fine, one 61 s old is not.
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    s.clock.advance(59);
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    s.clock.advance(61);
    assert_error(
        &s.redeem(&app, &code, &pkce.verifier).await,
        400,
        "invalid_grant",
    );
}

async fn code_of_another_client_is_refused_without_consuming_it(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let a = s.web_client("app-a", first_party()).await;
    let b = s.web_client("app-b", first_party()).await;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &a, &pkce, OFFLINE, "alice", PW)
        .await;
    let as_b = |redirect_uri: String| {
        let code = code.clone();
        let verifier = pkce.verifier.clone();
        let b = b.clone();
        let s = &s;
        async move {
            s.token_as(
                &b,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    // B, with everything else right, gets nothing...
    assert_error(&as_b(a.redirect_uri.clone()).await, 400, "invalid_grant");
    assert_error(&as_b(b.redirect_uri.clone()).await, 400, "invalid_grant");
    // ...and cannot spend A's code: a client that may not redeem it cannot burn it either.
    let (status, tokens) = s.redeem(&a, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let access = field(&tokens, "access_token");
    let rt = field(&tokens, "refresh_token");
    // Nor can B, presenting the code again, revoke what A got from it.
    assert_error(&as_b(a.redirect_uri.clone()).await, 400, "invalid_grant");
    assert_eq!(s.introspect(&a, &access).await["active"], true);
    assert_eq!(s.introspect(&a, &rt).await["active"], true);
    refreshed(&s, &a, &rt).await;
}

async fn public_client_uses_client_id_only_and_no_client_credentials(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let spa = s
        .web_client(
            "spa",
            WebClientOptions {
                public: true,
                first_party: true,
                ..Default::default()
            },
        )
        .await;
    assert!(spa.secret.is_none());
    let mut browser = Agent::new();
    // token_as sends client_id and no secret for a public client.
    let first = tokens(&s, &mut browser, &spa, OFFLINE, "alice").await;
    assert_eq!(first["token_type"], "Bearer");
    let (_, at) = verify(&field(&first, "access_token"), &s.jwks().await);
    assert_eq!(at["client_id"], "spa");
    assert_eq!(at["sub"], sub.as_str());
    let id = decode_segment(&field(&first, "id_token"), 1);
    assert_eq!(id["aud"], "spa");
    let next = refreshed(&s, &spa, &field(&first, "refresh_token")).await;
    assert_ne!(next["refresh_token"], first["refresh_token"]);

    // No client_credentials for a client that cannot keep a secret.
    let got = s
        .token_as(&spa, &[("grant_type", "client_credentials")])
        .await;
    assert_error(&got, 400, "unauthorized_client");
    assert!(got.1.get("access_token").is_none());
    // A public client has no secret to present: any secret is a failed authentication.
    let res = post_form(
        &s,
        "/token",
        Some(&basic("spa", "made-up")),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &field(&next, "refresh_token")),
        ],
    )
    .await;
    let (status, challenge, body) = read(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(challenge.starts_with("Basic "), "{challenge}");

    // It may revoke its own refresh token (RFC 7009 §2.1 allows public clients).
    let rt = field(&next, "refresh_token");
    assert_eq!(revoke(&s, &spa, &rt, None).await.0, 200);
    assert_error(&s.refresh(&spa, &rt, None).await, 400, "invalid_grant");
}

async fn confidential_client_without_its_secret_is_invalid_client(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let web = s.web_client("web", first_party()).await;
    let secret = web.secret.clone().unwrap();
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &web, &pkce, OFFLINE, "alice", PW)
        .await;
    let redeem = |client_id: Option<&'static str>| {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", web.redirect_uri.as_str()),
            ("code_verifier", pkce.verifier.as_str()),
        ];
        if let Some(id) = client_id {
            pairs.push(("client_id", id));
        }
        pairs
    };
    // client_id alone, as a public client would.
    let (status, challenge, body) =
        read(post_form(&s, "/token", None, &redeem(Some("web"))).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    assert!(challenge.starts_with("Basic "), "{challenge}");
    // A wrong secret, in the header.
    let (status, challenge, body) =
        read(post_form(&s, "/token", Some(&basic("web", "wrong")), &redeem(None)).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    assert!(challenge.starts_with("Basic "), "{challenge}");
    // Nothing at all.
    let (status, challenge, _) = read(post_form(&s, "/token", None, &redeem(None)).await).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Basic "), "{challenge}");
    // Unauthenticated attempts do not spend the code.
    let (status, challenge, body) =
        read(post_form(&s, "/token", Some(&basic("web", &secret)), &redeem(None)).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(challenge.is_empty());
    // Refreshing needs the secret too.
    let rt = field(&body, "refresh_token");
    let (status, _, body) = read(
        post_form(
            &s,
            "/token",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", "web"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    refreshed(&s, &web, &rt).await;
}

async fn refresh_token_needs_offline_access_or_always_refresh(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let plain = s.web_client("plain", first_party()).await;
    let always = s
        .web_client(
            "always",
            WebClientOptions {
                first_party: true,
                always_refresh: true,
                ..Default::default()
            },
        )
        .await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &plain, "openid profile", "alice").await;
    assert!(t.get("refresh_token").is_none(), "{t}");
    let t = tokens(&s, &mut browser, &plain, OFFLINE, "alice").await;
    assert_eq!(t["scope"], OFFLINE);
    let rt = field(&t, "refresh_token");
    assert_eq!(s.introspect(&plain, &rt).await["active"], true);
    let t = tokens(&s, &mut browser, &always, "openid", "alice").await;
    assert_eq!(t["scope"], "openid");
    let rt = field(&t, "refresh_token");
    let again = refreshed(&s, &always, &rt).await;
    assert_eq!(again["scope"], "openid");
    assert!(again["refresh_token"].is_string());
}

async fn refresh_rotates_every_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let first = tokens(
        &s,
        &mut browser,
        &app,
        "openid email offline_access",
        "alice",
    )
    .await;
    let jwks = s.jwks().await;
    let (_, id1) = verify(&field(&first, "id_token"), &jwks);
    assert_eq!(id1["nonce"], "n-0S6");
    let signed_in_at = id1["auth_time"].as_i64().unwrap();

    s.clock.advance(30);
    let second = refreshed(&s, &app, &field(&first, "refresh_token")).await;
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], "openid email offline_access");
    assert_eq!(second["expires_in"], 900);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let access = field(&second, "access_token");
    let (_, at) = verify(&access, &jwks);
    assert_eq!(at["sub"], sub.as_str());
    assert_eq!(at["client_id"], "app");
    assert_eq!(at["scope"], "openid email offline_access");
    assert_eq!(at["iat"].as_i64(), Some(tests::now(&s.clock)));
    let (header, id2) = verify(&field(&second, "id_token"), &jwks);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(id2["sub"], sub.as_str());
    assert_eq!(id2["aud"], "app");
    assert_eq!(id2["sid"], id1["sid"], "the same session");
    assert_eq!(
        id2["auth_time"].as_i64(),
        Some(signed_in_at),
        "no new sign-in"
    );
    assert_eq!(id2["amr"], id1["amr"]);
    assert_eq!(id2["email"], "alice@example.com");
    assert!(id2.get("nonce").is_none(), "{id2}");
    assert_eq!(id2["iat"].as_i64(), Some(tests::now(&s.clock)));
    assert_eq!(
        id2["at_hash"].as_str().unwrap(),
        auth_server::domain::sso::claims::at_hash(&access)
    );
    // The used token is spent; the new one is live.
    assert_eq!(
        s.introspect(&app, &field(&first, "refresh_token")).await,
        inactive()
    );
    let live = s.introspect(&app, &field(&second, "refresh_token")).await;
    assert_eq!(live["active"], true);
    // And again: each use rotates.
    let third = refreshed(&s, &app, &field(&second, "refresh_token")).await;
    for earlier in [&first, &second] {
        assert_ne!(third["refresh_token"], earlier["refresh_token"]);
        assert_ne!(third["access_token"], earlier["access_token"]);
    }
    assert_eq!(userinfo(&s, &field(&third, "access_token")).await.0, 200);
}

async fn reuse_after_the_grace_window_revokes_the_family(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let rt3 = field(&refreshed(&s, &app, &rt2).await, "refresh_token");
    // Another grant of the same user and client is a different family.
    let other = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    assert_eq!(s.introspect(&app, &rt3).await["active"], true);

    // tokens.refresh_reuse_grace_secs = 10.
    s.clock.advance(11);
    assert_error(&s.refresh(&app, &rt1, None).await, 400, "invalid_grant");
    // The whole family is dead, the newest token included.
    assert_eq!(s.introspect(&app, &rt3).await, inactive());
    assert_error(&s.refresh(&app, &rt3, None).await, 400, "invalid_grant");
    assert_error(&s.refresh(&app, &rt2, None).await, 400, "invalid_grant");
    // The other family is untouched.
    assert_eq!(s.introspect(&app, &other).await["active"], true);
    refreshed(&s, &app, &other).await;
}

/// Within the grace window a rotated token may be presented again (a client retrying after a lost
/// response): it succeeds with a new token, and every token issued before is retired, so only the
/// newest is live. The retired one, presented once the window has passed, is a reuse.
async fn retry_within_the_grace_window_reissues_and_retires_the_previous(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");

    s.clock.advance(5);
    let retry = refreshed(&s, &app, &rt1).await;
    let rt3 = field(&retry, "refresh_token");
    assert_ne!(rt3, rt2);
    assert_ne!(rt3, rt1);
    assert!(retry["access_token"].is_string() && retry["id_token"].is_string());
    assert_eq!(s.introspect(&app, &rt1).await, inactive());
    assert_eq!(
        s.introspect(&app, &rt2).await,
        inactive(),
        "retired by the retry"
    );
    assert_eq!(s.introspect(&app, &rt3).await["active"], true);

    // The window is counted from the first use: 5 + 5 = 10 s is still a retry...
    s.clock.advance(5);
    let rt4 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    assert_eq!(
        s.introspect(&app, &rt3).await,
        inactive(),
        "retired by the retry"
    );
    let rt5 = field(&refreshed(&s, &app, &rt4).await, "refresh_token");
    assert_eq!(s.introspect(&app, &rt5).await["active"], true);

    // ...and 11 s is a reuse: the family goes, the newest token with it.
    s.clock.advance(1);
    assert_error(&s.refresh(&app, &rt1, None).await, 400, "invalid_grant");
    assert_eq!(s.introspect(&app, &rt5).await, inactive());
    assert_error(&s.refresh(&app, &rt5, None).await, 400, "invalid_grant");

    // The same with the token retired by a retry, presented after the window.
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let rt3 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let rt4 = field(&refreshed(&s, &app, &rt3).await, "refresh_token");
    s.clock.advance(11);
    assert_error(&s.refresh(&app, &rt2, None).await, 400, "invalid_grant");
    assert_eq!(s.introspect(&app, &rt4).await, inactive());
    assert_error(&s.refresh(&app, &rt4, None).await, 400, "invalid_grant");
}

async fn refresh_token_expires_when_idle(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.tokens.refresh_token_idle_secs = 120;
        c.tokens.refresh_token_absolute_secs = 3600;
    })
    .await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let issued = s.introspect(&app, &rt).await;
    assert_eq!(issued["exp"].as_i64(), Some(tests::now(&s.clock) + 120));
    // Each use starts a new idle period.
    s.clock.advance(119);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    s.clock.advance(119);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    assert_eq!(
        s.introspect(&app, &rt).await["exp"].as_i64(),
        Some(tests::now(&s.clock) + 120)
    );
    s.clock.advance(121);
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
}

async fn refresh_family_has_an_absolute_lifetime(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.tokens.refresh_token_idle_secs = 120;
        c.tokens.refresh_token_absolute_secs = 300;
    })
    .await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let start = tests::now(&s.clock);
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    s.clock.advance(100);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    s.clock.advance(100);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    // Not now + idle (320): capped by the family's end.
    assert_eq!(
        s.introspect(&app, &rt).await["exp"].as_i64(),
        Some(start + 300)
    );
    s.clock.advance(99);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    assert_eq!(
        s.introspect(&app, &rt).await["exp"].as_i64(),
        Some(start + 300)
    );
    s.clock.advance(1);
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    // A new sign-in is a new family with a lifetime of its own.
    let mut fresh = Agent::new();
    let rt = field(
        &tokens(&s, &mut fresh, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    refreshed(&s, &app, &rt).await;
}

async fn refresh_scope_may_narrow_but_not_widen(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );

    // profile is allowed for the client but was not granted: widening.
    let got = s.refresh(&app, &rt, Some("openid profile")).await;
    assert_error(&got, 400, "invalid_scope");
    let got = s
        .refresh(&app, &rt, Some("openid offline_access email"))
        .await;
    assert_error(&got, 400, "invalid_scope");
    // A refused request does not spend the token.
    assert_eq!(s.introspect(&app, &rt).await["active"], true);

    let (status, narrow) = s.refresh(&app, &rt, Some("openid")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "openid");
    let (_, at) = verify(&field(&narrow, "access_token"), &s.jwks().await);
    assert_eq!(at["scope"], "openid");
    assert!(narrow["id_token"].is_string());
    // The grant itself keeps its scope: the new refresh token still covers all of it.
    let rt = field(&narrow, "refresh_token");
    assert_eq!(s.introspect(&app, &rt).await["scope"], OFFLINE);
    let full = refreshed(&s, &app, &rt).await;
    assert_eq!(full["scope"], OFFLINE);
}

/// A scope narrowed to one that gives the access token no audience (no `openid`, so no userinfo, and
/// no resource registered) is refused, and the refused request does not spend the refresh token
/// (else the client, retrying later with the token it holds, would look like a thief and lose the
/// grant).
async fn refresh_without_an_audience_does_not_spend_the_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let got = s.refresh(&app, &rt, Some("offline_access")).await;
    assert_error(&got, 400, "invalid_target");
    assert!(got.1.get("refresh_token").is_none());
    assert_eq!(s.introspect(&app, &rt).await["active"], true);
    s.clock.advance(11);
    let next = refreshed(&s, &app, &rt).await;
    assert_eq!(next["scope"], OFFLINE);
}

async fn refresh_token_is_bound_to_its_client(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let a = s.web_client("app-a", first_party()).await;
    let b = s.web_client("app-b", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &a, OFFLINE, "alice").await,
        "refresh_token",
    );
    let got = s.refresh(&b, &rt, None).await;
    assert_error(&got, 400, "invalid_grant");
    assert!(got.1.get("access_token").is_none());
    // B learns nothing from introspection either, and A's token is unharmed.
    assert_eq!(s.introspect(&b, &rt).await, inactive());
    assert_eq!(s.introspect(&a, &rt).await["active"], true);
    let next = refreshed(&s, &a, &rt).await;
    assert_eq!(
        decode_segment(&field(&next, "access_token"), 1)["client_id"],
        "app-a"
    );
}

async fn disabled_user_cannot_refresh(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &app, OFFLINE, "alice").await;
    let rt = field(&t, "refresh_token");
    let access = field(&t, "access_token");
    s.app.users.set_disabled("alice", true).await.unwrap();
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    assert_eq!(userinfo(&s, &access).await.0, 401);
    // The grant was revoked, not just refused: enabling the user again does not revive it.
    s.app.users.set_disabled("alice", false).await.unwrap();
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    // Disabling signed the user out: the session's grants and their access tokens were revoked.
    assert_eq!(userinfo(&s, &access).await.0, 401);
}

async fn revoking_a_refresh_token_kills_its_family(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let other = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );

    let res = post_form(
        &s,
        "/revoke",
        Some(&basic(&app.id, app.secret.as_deref().unwrap())),
        &[("token", &rt2), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
    assert_eq!(s.introspect(&app, &rt2).await, inactive());
    assert_error(&s.refresh(&app, &rt2, None).await, 400, "invalid_grant");
    // Revoking again is still a success (RFC 7009 §2.2).
    assert_eq!(revoke(&s, &app, &rt2, None).await.0, 200);
    // Other grants are untouched; a wrong hint is only a hint.
    assert_eq!(s.introspect(&app, &other).await["active"], true);
    assert_eq!(revoke(&s, &app, &other, Some("access_token")).await.0, 200);
    assert_eq!(s.introspect(&app, &other).await, inactive());
    assert_error(&s.refresh(&app, &other, None).await, 400, "invalid_grant");
}

async fn revoking_an_access_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let rs = resource_server(&s, "rs").await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &app, "openid email", "alice").await;
    let access = field(&t, "access_token");
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
    let other = field(
        &tokens(&s, &mut browser, &app, "openid", "alice").await,
        "access_token",
    );
    assert_eq!(revoke(&s, &app, &other, Some("refresh_token")).await.0, 200);
    assert_eq!(s.introspect(&rs, &other).await, inactive());
    assert_eq!(userinfo(&s, &other).await.0, 401);
    // A token issued later is not affected.
    let fresh = field(
        &tokens(&s, &mut browser, &app, "openid", "alice").await,
        "access_token",
    );
    assert_eq!(userinfo(&s, &fresh).await.0, 200);
    // An expired token: nothing to revoke, still 200.
    s.clock.advance(901);
    assert_eq!(revoke(&s, &app, &fresh, None).await.0, 200);
}

async fn revoking_unknown_foreign_or_mis_hinted_tokens(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let a = s.web_client("app-a", first_party()).await;
    let b = s.web_client("app-b", first_party()).await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &a, OFFLINE, "alice").await;
    let rt = field(&t, "refresh_token");
    let access = field(&t, "access_token");

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
    let got = revoke(&s, &b, &rt, None).await;
    assert_error(&got, 400, "unauthorized_client");
    let got = revoke(&s, &b, &access, Some("access_token")).await;
    assert_error(&got, 400, "unauthorized_client");
    assert_eq!(s.introspect(&a, &rt).await["active"], true);
    assert_eq!(s.introspect(&a, &access).await["active"], true);
    assert_eq!(userinfo(&s, &access).await.0, 200);
    // A hint the server does not know.
    let got = revoke(&s, &a, &rt, Some("id_token")).await;
    assert_error(&got, 400, "unsupported_token_type");
    assert_eq!(s.introspect(&a, &rt).await["active"], true);
    // No token, no client authentication.
    assert_error(
        &s.endpoint_as("/revoke", &a, &[]).await,
        400,
        "invalid_request",
    );
    let (status, challenge, body) =
        read(post_form(&s, "/revoke", None, &[("token", &rt)]).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(challenge.starts_with("Basic "), "{challenge}");
    let (status, _, _) = read(
        post_form(
            &s,
            "/revoke",
            Some(&basic(&a.id, "wrong")),
            &[("token", &rt)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    // After all that, A's refresh token still works.
    refreshed(&s, &a, &rt).await;
}

async fn introspection_of_access_and_refresh_tokens(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let rs = resource_server(&s, "rs").await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &app, OFFLINE, "alice").await;
    let access = field(&t, "access_token");
    let rt = field(&t, "refresh_token");
    let now = tests::now(&s.clock);
    let (_, claims) = verify(&access, &s.jwks().await);

    let res = post_form(
        &s,
        "/introspect",
        Some(&basic(&rs.id, rs.secret.as_deref().unwrap())),
        &[("token", &access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
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
    assert_eq!(s.introspect(&app, &access).await, info);

    // A refresh token, by its own client.
    let r = s.introspect(&app, &rt).await;
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
            &[("token", &rt), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!((status, &hinted), (200, &r));
    // Not to another client: it is not theirs to know about.
    assert_eq!(s.introspect(&rs, &rt).await, inactive());
    // An ID token is not an access token.
    assert_eq!(s.introspect(&rs, &field(&t, "id_token")).await, inactive());

    // access_token_ttl_secs = 900.
    s.clock.advance(899);
    assert_eq!(s.introspect(&rs, &access).await["active"], true);
    s.clock.advance(1);
    let res = post_form(
        &s,
        "/introspect",
        Some(&basic(&rs.id, rs.secret.as_deref().unwrap())),
        &[("token", &access)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.json::<Value>().await.unwrap(), inactive());
    // The refresh token outlives it.
    assert_eq!(s.introspect(&app, &rt).await["active"], true);
}

async fn introspection_needs_an_authenticated_confidential_client(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let spa = s
        .web_client(
            "spa",
            WebClientOptions {
                public: true,
                first_party: true,
                ..Default::default()
            },
        )
        .await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &spa, OFFLINE, "alice").await;
    let access = field(&t, "access_token");
    let rt = field(&t, "refresh_token");

    // A public client, even about its own tokens.
    for token in [&access, &rt] {
        let (status, challenge, body) = read(
            post_form(
                &s,
                "/introspect",
                None,
                &[("token", token), ("client_id", "spa")],
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert!(challenge.starts_with("Basic "), "{challenge}");
        assert!(body.get("active").is_none());
    }
    // Nobody.
    let res = post_form(&s, "/introspect", None, &[("token", &access)]).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (status, challenge, body) = read(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(challenge.starts_with("Basic "), "{challenge}");
    // A wrong secret.
    let (status, _, body) = read(
        post_form(
            &s,
            "/introspect",
            Some(&basic(&app.id, "wrong")),
            &[("token", &access)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.get("active").is_none());
    // A confidential client: the access token is active, the public client's refresh token is not
    // its to see, garbage is inactive, and a missing token is a bad request.
    assert_eq!(s.introspect(&app, &access).await["active"], true);
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_eq!(s.introspect(&app, "garbage").await, inactive());
    assert_eq!(s.introspect(&app, "a.b.c").await, inactive());
    assert_error(
        &s.endpoint_as("/introspect", &app, &[]).await,
        400,
        "invalid_request",
    );
}
