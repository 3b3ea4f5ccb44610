//! Authorization codes at the token endpoint over HTTP: failed redemptions (PKCE verifier, redirect
//! URI, expiry, another client's code), reused and concurrently redeemed codes, and how public and
//! confidential clients authenticate. Every test runs on SQLite and PostgreSQL.

use tests::fixture::{Sso, two_apps};
use tests::oauth::{Agent, Pkce, first_party};
use tests::responses::{ErrorBody, TokenResponse};
use tests::sso_support::{
    OFFLINE, PW, alice_code, assert_client_refused, assert_error, assert_invalid_grant,
    assert_refresh_dead, grant, inactive, post_form, read, refreshed, revoke, userinfo,
};
use tests::{Backend, TestServer, basic, decode_segment, verify};

tests::on_both_backends!(
    wrong_or_missing_pkce_verifier_is_invalid_grant,
    reused_code_is_refused_and_revokes_what_it_issued,
    concurrent_redemptions_leave_no_live_tokens,
    wrong_redirect_uri_and_expired_code_are_invalid_grant,
    code_of_another_client_is_refused_without_consuming_it,
    public_client_uses_client_id_only_and_no_client_credentials,
    confidential_client_without_its_secret_is_invalid_client,
);

async fn wrong_or_missing_pkce_verifier_is_invalid_grant(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();

    let (pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    let wrong = Pkce::new();
    assert_invalid_grant(&s.redeem(&app, &code, &wrong.verifier).await);
    // The failed attempt spent the code: the right verifier does not bring it back (fail closed).
    assert_invalid_grant(&s.redeem(&app, &code, &pkce.verifier).await);

    // The challenge itself is not a verifier.
    let (pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    assert_invalid_grant(&s.redeem(&app, &code, &pkce.challenge).await);

    // No code_verifier although the authorization request had a challenge.
    let (_pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    let got = s
        .redeem_with(
            &app,
            &[("code", &code), ("redirect_uri", &app.redirect_uri)],
        )
        .await;
    assert_invalid_grant(&got);
    assert!(got.1.get("access_token").is_none());

    // The control: a fresh code with its own verifier is redeemed.
    grant(&s, &mut browser, &app, "openid", "alice").await;
}

async fn reused_code_is_refused_and_revokes_what_it_issued(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let (pkce, code) = alice_code(&s, &mut browser, &app, OFFLINE).await;
    let (status, first) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{first}");
    let first = TokenResponse::parse(&first);
    let (access, rt) = (&first.access_token, first.refresh());
    assert_eq!(s.introspect(&app, access).await["active"], true);
    assert_eq!(s.introspect(&app, rt).await["active"], true);
    assert_eq!(userinfo(&s, access).await.0, 200);

    // The same request again.
    let again = s.redeem(&app, &code, &pkce.verifier).await;
    assert_invalid_grant(&again);
    assert!(again.1.get("access_token").is_none());

    // Everything the first redemption issued is revoked.
    assert_eq!(s.introspect(&app, access).await, inactive());
    assert_refresh_dead(&s, &app, rt).await;
    let (status, challenge) = userinfo(&s, access).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // And it stays refused.
    assert_invalid_grant(&s.redeem(&app, &code, &pkce.verifier).await);
}

/// Two redemptions of one code at the same moment: one of them is a reuse, so whatever the code gave
/// is revoked, whichever of the two finishes first. At most one gets tokens (the first to finish,
/// if it finished before the other consumed the code), and they are dead; otherwise both are
/// refused.
async fn concurrent_redemptions_leave_no_live_tokens(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    for round in 0..4 {
        let (pkce, code) = alice_code(&s, &mut browser, &app, OFFLINE).await;
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
            let tokens = TokenResponse::parse(tokens);
            let (access, rt) = (&tokens.access_token, tokens.refresh());
            assert_eq!(
                s.introspect(&app, access).await,
                inactive(),
                "round {round}: the access token of a reused code is revoked"
            );
            assert_eq!(
                s.introspect(&app, rt).await,
                inactive(),
                "round {round}: the refresh token of a reused code is revoked"
            );
            assert_invalid_grant(&s.refresh(&app, rt, None).await);
            assert_eq!(userinfo(&s, access).await.0, 401, "round {round}");
        }
        // A third try is refused too.
        assert_invalid_grant(&s.redeem(&app, &code, &pkce.verifier).await);
    }
}

async fn wrong_redirect_uri_and_expired_code_are_invalid_grant(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();

    let (pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    let got = s
        .redeem_with(
            &app,
            &[
                ("code", &code),
                ("redirect_uri", "https://app.example/cb/other"),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_invalid_grant(&got);

    // redirect_uri was in the authorization request, so it is required at the token endpoint.
    let (pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    let got = s
        .redeem_with(&app, &[("code", &code), ("code_verifier", &pkce.verifier)])
        .await;
    assert_invalid_grant(&got);

    // authorize.code_ttl_secs = 60: a code 59 s old is fine, one 61 s old is not.
    let (pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    s.clock.advance(59);
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    let (pkce, code) = alice_code(&s, &mut browser, &app, "openid").await;
    s.clock.advance(61);
    assert_invalid_grant(&s.redeem(&app, &code, &pkce.verifier).await);
}

async fn code_of_another_client_is_refused_without_consuming_it(backend: Backend) {
    let (s, a, b, mut browser) = two_apps(backend, "alice").await;
    let (pkce, code) = alice_code(&s, &mut browser, &a, OFFLINE).await;
    let as_b = |redirect_uri: String| {
        let code = code.clone();
        let verifier = pkce.verifier.clone();
        let b = b.clone();
        let s = &s;
        async move {
            s.redeem_with(
                &b,
                &[
                    ("code", &code),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    // B, with everything else right, gets nothing...
    assert_invalid_grant(&as_b(a.redirect_uri.clone()).await);
    assert_invalid_grant(&as_b(b.redirect_uri.clone()).await);
    // ...and cannot spend A's code: a client that may not redeem it cannot burn it either.
    let (status, tokens) = s.redeem(&a, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let tokens = TokenResponse::parse(&tokens);
    let (access, rt) = (&tokens.access_token, tokens.refresh());
    // Nor can B, presenting the code again, revoke what A got from it.
    assert_invalid_grant(&as_b(a.redirect_uri.clone()).await);
    assert_eq!(s.introspect(&a, access).await["active"], true);
    assert_eq!(s.introspect(&a, rt).await["active"], true);
    refreshed(&s, &a, rt).await;
}

async fn public_client_uses_client_id_only_and_no_client_credentials(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let spa = s.web_client("spa", first_party().public()).await;
    assert!(spa.secret.is_none());
    let mut browser = Agent::new();
    // token_as sends client_id and no secret for a public client.
    let first = grant(&s, &mut browser, &spa, OFFLINE, "alice").await;
    assert_eq!(first.token_type, "Bearer");
    let (_, at) = verify(&first.access_token, &s.jwks().await);
    assert_eq!(at["client_id"], "spa");
    assert_eq!(at["sub"], sub.as_str());
    let id = decode_segment(first.id(), 1);
    assert_eq!(id["aud"], "spa");
    let next = refreshed(&s, &spa, first.refresh()).await;
    assert_ne!(next.refresh_token, first.refresh_token);

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
            ("refresh_token", next.refresh()),
        ],
    )
    .await;
    assert_client_refused(res).await;

    // It may revoke its own refresh token (RFC 7009 §2.1 allows public clients).
    let rt = next.refresh();
    assert_eq!(revoke(&s, &spa, rt, None).await.0, 200);
    assert_invalid_grant(&s.refresh(&spa, rt, None).await);
}

async fn confidential_client_without_its_secret_is_invalid_client(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let web = s.web_client("web", first_party()).await;
    let secret = web.secret.clone().unwrap();
    let mut browser = Agent::new();
    let (pkce, code) = alice_code(&s, &mut browser, &web, OFFLINE).await;
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
    assert_client_refused(post_form(&s, "/token", None, &redeem(Some("web"))).await).await;
    // A wrong secret, in the header.
    let wrong = Some(basic("web", "wrong"));
    assert_client_refused(post_form(&s, "/token", wrong.as_deref(), &redeem(None)).await).await;
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
    let rt = TokenResponse::parse(&body).refresh().to_owned();
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
    assert_eq!(status, 401, "{body}");
    assert_eq!(ErrorBody::parse(&body).error, "invalid_client");
    refreshed(&s, &web, &rt).await;
}
