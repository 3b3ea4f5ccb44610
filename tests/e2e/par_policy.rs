//! Pushed authorization requests (RFC 9126): what `/par` refuses (client authentication as at the
//! token endpoint, the authorization endpoint's validation as JSON errors, a pushed `request_uri`),
//! the requirement to push (per client, and for all), and discovery. SQLite and PostgreSQL.

use auth_server::domain::clients::NewClient;
use tests::fixture::Sso;
use tests::oauth::{Pkce, WebClient, WebClientOptions, first_party};
use tests::par::{assert_push_refused, par_authorize, push, pushed};
use tests::sso_support::{
    PW, assert_client_refused, assert_error_redirect, authorize, good_params, is_login_page,
    post_form, refs, with,
};
use tests::{Backend, TestServer, basic};

tests::on_both_backends!(
    par_refuses_what_authorize_would_refuse_as_json_errors,
    par_authenticates_the_client_as_the_token_endpoint_does,
    a_client_required_to_push_is_refused_a_plain_request,
    par_required_for_all_is_advertised_and_enforced,
);

async fn par_refuses_what_authorize_would_refuse_as_json_errors(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.authorize.require_pkce = true).await;
    let app = s.web_client("app", first_party()).await;
    let spa = s
        .web_client("spa", WebClientOptions::default().public())
        .await;
    let pkce = Pkce::new();
    let good = good_params(&app, &pkce);
    let cases: [(&str, Option<&str>, &str); 9] = [
        ("response_type", Some("token"), "unsupported_response_type"),
        ("scope", Some("openid admin"), "invalid_scope"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("prompt", Some("none login"), "invalid_request"),
        (
            "redirect_uri",
            Some("https://evil.example/cb"),
            "invalid_request",
        ),
        ("redirect_uri", None, "invalid_request"),
        (
            "request_uri",
            Some("urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
        ),
        (
            "request",
            Some("eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
    ];
    for (name, value, error) in cases {
        assert_push_refused(&s, &app, &with(&good, name, value), error).await;
    }
    // client_id is required (RFC 9126 §2.1) and must be the authenticated client's.
    assert_push_refused(&s, &app, &with(&good, "client_id", None), "invalid_request").await;
    let spa_params = good_params(&spa, &pkce);
    assert_push_refused(
        &s,
        &spa,
        &with(&spa_params, "redirect_uri", None),
        "invalid_request",
    )
    .await;
    // A public client may push without PKCE no more than it may authorize without it.
    let no_pkce = with(
        &with(&spa_params, "code_challenge", None),
        "code_challenge_method",
        None,
    );
    assert_push_refused(&s, &spa, &no_pkce, "invalid_request").await;
    // A repeated parameter.
    let mut repeated = good.clone();
    repeated.push(("scope".to_owned(), "openid".to_owned()));
    assert_push_refused(&s, &app, &repeated, "invalid_request").await;
    // Only POST (RFC 9126 §2.3: 405).
    let res = s
        .get(&format!("/par?{}", tests::oauth::encode_form(&refs(&good))))
        .await;
    assert_eq!(res.status(), 405);
}

async fn par_authenticates_the_client_as_the_token_endpoint_does(backend: Backend) {
    let s = TestServer::start(backend).await;
    let app = s.web_client("app", first_party()).await;
    let spa = s
        .web_client("spa", WebClientOptions::default().public())
        .await;
    let good = good_params(&app, &Pkce::new());
    let body = refs(&good);
    // A wrong secret, no credentials, and a confidential client posing as public.
    let wrong = basic(&app.id, "not-the-secret");
    assert_client_refused(post_form(&s, "/par", Some(&wrong), &body).await).await;
    assert_client_refused(post_form(&s, "/par", None, &body).await).await;
    let mut posted = body.clone();
    posted.push(("client_secret", "not-the-secret"));
    assert_client_refused(post_form(&s, "/par", None, &posted).await).await;
    // client_secret_post works like Basic.
    let secret = app.secret.clone().unwrap();
    let mut posted = body.clone();
    posted.push(("client_secret", &secret));
    let res = post_form(&s, "/par", None, &posted).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    // A disabled client is refused.
    let spa_good = good_params(&spa, &Pkce::new());
    pushed(&s, &spa, &spa_good).await;
    assert!(s.app.clients.set_enabled("spa", false).await.unwrap());
    let (status, body) = push(&s, &spa, &spa_good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // Another client's request_uri cannot be pushed for (the client_id must be the caller's).
    let other = basic(&app.id, &secret);
    let spa_body = refs(&spa_good);
    let res = post_form(&s, "/par", Some(&other), &spa_body).await;
    assert_eq!(res.status(), 400);
}

/// A first-party client `id` that must push its requests.
async fn par_only_client(s: &TestServer, id: &str) -> WebClient {
    let redirect_uri = format!("https://{id}.example/cb");
    let (c, secret) = s
        .app
        .clients
        .create(NewClient {
            name: id.to_owned(),
            redirect_uris: vec![redirect_uri.clone()],
            first_party: true,
            require_pushed_authorization_requests: true,
            ..tests::new_client(id, auth_core::Alg::Es256, &["openid"], &[])
        })
        .await
        .unwrap();
    WebClient {
        id: c.id,
        secret,
        redirect_uri,
    }
}

async fn a_client_required_to_push_is_refused_a_plain_request(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let strict = par_only_client(&s, "strict").await;
    let pkce = Pkce::new();
    let plain = browser
        .get(&authorize(&s, &good_params(&strict, &pkce)))
        .await;
    assert_error_redirect(&plain, &s, &strict, "invalid_request", Some("st"));
    assert!(
        plain.location().unwrap().contains("pushed"),
        "{:?}",
        plain.location()
    );
    // Other clients are not required to.
    let page = browser.get(&authorize(&s, &good_params(&app, &pkce))).await;
    assert!(is_login_page(&page), "{}", page.body);
    // Pushed, the same request goes through.
    let uri = pushed(&s, &strict, &good_params(&strict, &pkce)).await;
    let login = browser.get(&par_authorize(&s, &strict.id, &uri, &[])).await;
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    let code = done.location_param("code").expect("a code");
    let (status, body) = s.redeem(&strict, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    // The flag is an admin's to change: off, the plain request is served again.
    let update = auth_server::domain::clients::ClientUpdate {
        require_pushed_authorization_requests: Some(false),
        ..Default::default()
    };
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    let changed = s
        .app
        .clients
        .update_by("strict", update, &admin, &meta)
        .await
        .unwrap();
    assert!(!changed.unwrap().require_pushed_authorization_requests);
    let fresh = s.app.clients.fresh("strict").await.unwrap().unwrap();
    assert!(!fresh.require_pushed_authorization_requests);
}

async fn par_required_for_all_is_advertised_and_enforced(backend: Backend) {
    let off = TestServer::start(backend).await;
    for doc in ["openid-configuration", "oauth-authorization-server"] {
        let meta = off.get_json(&format!("/.well-known/{doc}")).await;
        assert_eq!(
            meta["pushed_authorization_request_endpoint"],
            format!("{}/par", off.base)
        );
        assert_eq!(meta["require_pushed_authorization_requests"], false);
    }
    drop(off);
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start_with(backend, |c| c.par.required = true).await;
    let meta = s.get_json("/.well-known/openid-configuration").await;
    assert_eq!(meta["require_pushed_authorization_requests"], true);
    let pkce = Pkce::new();
    let plain = browser.get(&authorize(&s, &good_params(&app, &pkce))).await;
    assert_error_redirect(&plain, &s, &app, "invalid_request", Some("st"));
    let uri = pushed(&s, &app, &good_params(&app, &pkce)).await;
    let login = browser.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    assert!(is_login_page(&login), "{}", login.body);
}
