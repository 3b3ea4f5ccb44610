//! Pushed authorization requests (RFC 9126) through the whole code flow, on SQLite and
//! PostgreSQL: pushed at `/par`, brought to `/authorize` by reference, signed in, consented,
//! redeemed; the forms carry only the reference; a `request_uri` yields one code; expiry, other
//! clients, unknown references and other query parameters.

use tests::Backend;
use tests::fixture::Sso;
use tests::oauth::{Agent, Pkce, WebClientOptions, first_party};
use tests::par::{URN, par_authorize, pushed};
use tests::responses::TokenResponse;
use tests::sso_support::{
    PW, assert_error_page, assert_error_redirect, decide, good_params, is_login_page, with,
};

tests::on_both_backends!(
    a_pushed_request_goes_through_the_code_flow_to_tokens,
    a_public_client_pushes_and_the_consent_page_carries_the_reference,
    a_request_uri_is_refused_after_its_code_expiry_or_for_another_client,
    a_pushed_form_post_request_answers_with_a_form_post,
);

/// The login page's form carries the reference, never the pushed parameters.
#[track_caller]
fn assert_carries_only_the_reference(page: &tests::oauth::Page, client_id: &str, uri: &str) {
    let hidden = page.hidden_fields();
    let get = |n: &str| hidden.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("client_id"), Some(client_id), "{hidden:?}");
    assert_eq!(get("request_uri"), Some(uri), "{hidden:?}");
    for pushed_only in ["redirect_uri", "code_challenge", "state", "nonce", "scope"] {
        assert_eq!(
            get(pushed_only),
            None,
            "{pushed_only} in the form: {hidden:?}"
        );
    }
}

async fn a_pushed_request_goes_through_the_code_flow_to_tokens(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let pkce = Pkce::new();
    let params = with(&good_params(&app, &pkce), "scope", Some("openid profile"));
    let (status, body) = tests::par::push(&s, &app, &params).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 60, "{body}");
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    // At least 128 bits of randomness after the URN (RFC 9126 §7.1): 43 base64url characters.
    assert!(uri.strip_prefix(URN).unwrap().len() >= 22, "{uri}");
    let login = browser.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    assert!(is_login_page(&login), "{}", login.body);
    assert_carries_only_the_reference(&login, &app.id, &uri);
    // A reload (RFC 9126 §4 allows it) shows the same page.
    let again = browser.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    assert!(is_login_page(&again), "{}", again.body);
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location().unwrap().starts_with(&app.redirect_uri));
    assert_eq!(done.location_param("state").as_deref(), Some("st"));
    assert_eq!(done.location_param("iss").as_deref(), Some(s.base.as_str()));
    let code = done.location_param("code").expect("a code");
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    let tokens = TokenResponse::parse(&body);
    assert_eq!(body["scope"], "openid profile", "{body}");
    let id_token = tokens.raw["id_token"].as_str().expect("an ID token");
    let claims = tests::decode_segment(id_token, 1);
    assert_eq!(claims["nonce"], "n-0S6", "the pushed nonce: {claims}");
    // Used: the same request_uri again (the browser is signed in) gets no second code.
    let reused = browser.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    assert_error_redirect(&reused, &s, &app, "invalid_request_uri", Some("st"));
}

async fn a_public_client_pushes_and_the_consent_page_carries_the_reference(backend: Backend) {
    let s = tests::TestServer::start(backend).await;
    s.user("alice", PW).await;
    let spa = s
        .web_client("spa", WebClientOptions::default().public())
        .await;
    let pkce = Pkce::new();
    let uri = pushed(&s, &spa, &good_params(&spa, &pkce)).await;
    let mut browser = Agent::new();
    let login = browser.get(&par_authorize(&s, &spa.id, &uri, &[])).await;
    let consent = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert!(consent.body.contains("id=\"allow\""), "{}", consent.body);
    assert_carries_only_the_reference(&consent, &spa.id, &uri);
    let done = decide(&s, &mut browser, &consent, "allow").await;
    assert_eq!(done.status, 303, "{}", done.body);
    let code = done.location_param("code").expect("a code");
    let (status, body) = s.redeem(&spa, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
}

async fn a_request_uri_is_refused_after_its_code_expiry_or_for_another_client(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let other = s.web_client("other", first_party()).await;
    let pkce = Pkce::new();
    let params = good_params(&app, &pkce);

    // Unknown, malformed, or named with another client: the error page (no trusted redirect).
    let unknown = format!("{URN}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for uri in [unknown.as_str(), URN, &format!("{URN}a b\0")] {
        let page = browser.get(&par_authorize(&s, &app.id, uri, &[])).await;
        assert_error_page(&page, 400);
    }
    let uri = pushed(&s, &app, &params).await;
    let page = browser.get(&par_authorize(&s, &other.id, &uri, &[])).await;
    assert_error_page(&page, 400);
    let page = browser
        .get(&format!(
            "{}/authorize?{}",
            s.base,
            tests::oauth::encode_form(&[("request_uri", &uri)])
        ))
        .await;
    assert_error_page(&page, 400);

    // Other query parameters are ignored: only the pushed request counts.
    let login = browser
        .get(&par_authorize(
            &s,
            &app.id,
            &uri,
            &[
                ("redirect_uri", "https://evil.example/cb"),
                ("state", "evil"),
            ],
        ))
        .await;
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert!(done.location().unwrap().starts_with(&app.redirect_uri));
    assert_eq!(done.location_param("state").as_deref(), Some("st"));
    assert!(done.location_param("code").is_some());

    // Expired before a browser brought it: invalid_request_uri, at the registered redirect URI.
    let late = pushed(&s, &app, &params).await;
    s.clock.advance(61);
    let page = browser.get(&par_authorize(&s, &app.id, &late, &[])).await;
    assert_error_redirect(&page, &s, &app, "invalid_request_uri", Some("st"));

    // Opened in time, the sign-in may take longer than expires_in (within the sign-in window).
    let mut fresh = Agent::new();
    let uri = pushed(&s, &app, &params).await;
    let login = fresh.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    assert!(is_login_page(&login), "{}", login.body);
    s.clock.advance(300);
    let done = s.sign_in(&mut fresh, &login, "alice", PW).await;
    assert!(
        done.location_param("code").is_some(),
        "{:?}",
        done.location()
    );

    // ... but not past the window.
    let mut slow = Agent::new();
    let uri = pushed(&s, &app, &params).await;
    let login = slow.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    s.clock.advance(601);
    let done = s.sign_in(&mut slow, &login, "alice", PW).await;
    assert_error_redirect(&done, &s, &app, "invalid_request_uri", Some("st"));
}

async fn a_pushed_form_post_request_answers_with_a_form_post(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let pkce = Pkce::new();
    let params = with(
        &good_params(&app, &pkce),
        "response_mode",
        Some("form_post"),
    );
    let uri = pushed(&s, &app, &params).await;
    let login = browser.get(&par_authorize(&s, &app.id, &uri, &[])).await;
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let form = format!(
        "<form id=\"form-post\" method=\"post\" action=\"{}\">",
        app.redirect_uri
    );
    assert!(done.body.contains(&form), "{}", done.body);
    let code = done
        .hidden_fields()
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .expect("a code field");
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
}
