//! Authorization requests under attack: open redirects, and errors that must (or must not) go back
//! to the client (RFC 6749 §4.1.2.1 and §10, RFC 9700, OIDC Core §3.1.2). Every test runs on SQLite
//! and PostgreSQL.

use tests::fixture::Sso;
use tests::oauth::{Agent, Page, Pkce, WebClient, first_party};
use tests::sso_support::{
    PW, Params, assert_error_page, assert_error_redirect, authorize, good_params, is_login_page,
    refs, with,
};
use tests::{Backend, TestServer};

/// The error page for an untrusted redirect URI or client: 400, and nothing of the attacker's URI.
fn assert_refused(p: &Page, attacker_uri: Option<&str>) {
    assert_error_page(p, 400);
    assert!(
        p.body.contains("This sign-in link is not valid")
            || p.body.contains("This request is not valid"),
        "{}",
        p.body
    );
    for leak in ["evil", "app.example", "APP.example", "https://", "http://"] {
        assert!(
            !p.body.contains(leak),
            "the page echoes {leak:?}: {}",
            p.body
        );
    }
    if let Some(uri) = attacker_uri {
        assert!(!p.body.contains(uri), "{}", p.body);
        let escaped = uri.replace('&', "&amp;").replace('"', "&quot;");
        assert!(!p.body.contains(&escaped), "{}", p.body);
    }
}

/// Cases that each set one parameter of a good request: (what, name, value).
type Changes<'a> = [(&'a str, &'a str, &'a str)];

/// `params` with one more `name=value` (a repeat when `name` is already there).
fn plus(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = params.to_vec();
    out.push((name.to_owned(), value.to_owned()));
    out
}

tests::on_both_backends!(
    untrusted_redirect_uris_and_clients_get_a_page_never_a_redirect,
    errors_go_back_to_the_exact_registered_uri_with_state_and_iss,
);

// 1. Open redirect -------------------------------------------------------------------------------

async fn untrusted_redirect_uris_and_clients_get_a_page_never_a_redirect(backend: Backend) {
    let (s, app, _) = Sso::start(backend).await.into_parts();
    let pkce = Pkce::new();
    let good = good_params(&app, &pkce);
    let mut browser = Agent::new();

    // RFC 9700 §4.1.3: exact string matching; anything else is an error page, never a redirect.
    for uri in [
        "https://evil.example/cb",
        "https://app.example/cb/extra",
        "https://app.example/cb/",
        "https://app.example/cb?next=https://evil.example/",
        "https://app.example/cb#evil",
        "https://APP.example/cb",
        "http://app.example/cb",
        "https://app.example:443/cb",
        "https://app.example@evil.example/cb",
        "https://app.example.evil.example/cb",
        "https://app.example/cb/../../evil",
        "https://app.example/CB",
        " https://app.example/cb",
        "https://app.example/cb%00",
        "//evil.example/cb",
        "/cb",
    ] {
        let bad = with(&good, "redirect_uri", Some(uri));
        let page = browser.get(&authorize(&s, &bad)).await;
        assert_refused(&page, Some(uri));
        // Even for errors that would otherwise go back to the client (RFC 6749 §4.1.2.1).
        for (name, value) in [
            ("response_type", "token"),
            ("prompt", "none"),
            ("scope", "admin"),
        ] {
            let worse = with(&bad, name, Some(value));
            let page = browser.get(&authorize(&s, &worse)).await;
            assert_refused(&page, Some(uri));
        }
        // POST /authorize the same.
        let page = browser
            .post(&format!("{}/authorize", s.base), &refs(&bad))
            .await;
        assert_refused(&page, Some(uri));
    }

    // Missing or repeated redirect_uri / client_id (a repeat is never guessed at).
    let cases = [
        with(&good, "redirect_uri", None),
        with(&good, "redirect_uri", Some("")),
        plus(&good, "redirect_uri", &app.redirect_uri),
        plus(&good, "redirect_uri", "https://evil.example/cb"),
        with(&good, "client_id", None),
        with(&good, "client_id", Some("")),
        with(&good, "client_id", Some("nope")),
        with(&good, "client_id", Some("APP")),
        plus(&good, "client_id", "app"),
        plus(&good, "client_id", "other"),
    ];
    for params in &cases {
        let page = browser.get(&authorize(&s, params)).await;
        assert_refused(&page, None);
        let page = browser
            .get(&authorize(&s, &with(params, "prompt", Some("none"))))
            .await;
        assert_refused(&page, None);
    }

    // A client with another client's redirect URI.
    let other = s.web_client("other", first_party()).await;
    let page = browser
        .get(&authorize(
            &s,
            &with(&good, "redirect_uri", Some(&other.redirect_uri)),
        ))
        .await;
    assert_refused(&page, None);

    // Tampering with the redirect URI carried by the login form: refused, and no session.
    let login = browser.get(&authorize(&s, &good)).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let hidden: Vec<(String, String)> = login
        .hidden_fields()
        .into_iter()
        .map(|(k, v)| {
            if k == "redirect_uri" {
                (k, "https://evil.example/cb".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut pairs = refs(&hidden);
    pairs.extend_from_slice(&[("username", "alice"), ("password", PW)]);
    let page = browser.post(&format!("{}/login", s.base), &pairs).await;
    assert_refused(&page, Some("https://evil.example/cb"));
    assert!(!browser.cookies.contains_key("auth_session"));

    // A disabled client: an error page, even with prompt=none, even with a session.
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(browser.cookies.contains_key("auth_session"));
    assert!(s.app.clients.set_enabled("app", false).await.unwrap());
    for params in [good.clone(), with(&good, "prompt", Some("none"))] {
        let page = browser.get(&authorize(&s, &params)).await;
        assert_refused(&page, None);
    }
}

// 2. Errors by redirect once the redirect URI is trusted ------------------------------------------

async fn errors_go_back_to_the_exact_registered_uri_with_state_and_iss(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.authorize.require_pkce = true).await;
    let app = s.web_client("app", first_party()).await;
    let pkce = Pkce::new();
    let good = good_params(&app, &pkce);
    let mut browser = Agent::new();
    let plain_verifier = "a".repeat(43);

    // One parameter set to a value that is refused, by the error it gets.
    let long_nonce = "n".repeat(3000);
    let set: [(&str, &Changes); 5] = [
        (
            "unsupported_response_type",
            &[
                ("implicit", "response_type", "token"),
                ("hybrid", "response_type", "code id_token"),
            ],
        ),
        (
            "invalid_scope",
            &[
                ("scope not allowed", "scope", "openid admin"),
                ("malformed scope", "scope", "openid \"x\""),
            ],
        ),
        (
            "invalid_request",
            &[
                ("short challenge", "code_challenge", "abc"),
                ("prompt=none with login", "prompt", "none login"),
                ("prompt=none with consent", "prompt", "consent none"),
                ("fragment response mode", "response_mode", "fragment"),
                ("negative max_age", "max_age", "-1"),
                ("oversized nonce", "nonce", &long_nonce),
            ],
        ),
        (
            "request_not_supported",
            &[("request object", "request", "eyJhbGciOiJub25lIn0.e30.")],
        ),
        (
            "request_uri_not_supported",
            &[("request_uri", "request_uri", "https://evil.example/req")],
        ),
    ];
    // One parameter left out: invalid_request.
    let removed = [
        ("no response_type", "response_type"),
        (
            "challenge without method (plain by default)",
            "code_challenge_method",
        ),
        ("method without challenge", "code_challenge"),
    ];
    // One parameter repeated: invalid_request.
    let repeated = [
        ("repeated nonce", "nonce", "n2"),
        ("repeated response_type", "response_type", "code"),
        ("repeated scope", "scope", "openid"),
        ("repeated code_challenge", "code_challenge", &pkce.challenge),
    ];
    let mut cases: Vec<(&str, Params, &str)> = Vec::new();
    for (error, changes) in set {
        for &(what, name, value) in changes {
            cases.push((what, with(&good, name, Some(value)), error));
        }
    }
    for (what, name) in removed {
        cases.push((what, with(&good, name, None), "invalid_request"));
    }
    for (what, name, value) in repeated {
        cases.push((what, plus(&good, name, value), "invalid_request"));
    }
    cases.push((
        "no PKCE",
        with(
            &with(&good, "code_challenge", None),
            "code_challenge_method",
            None,
        ),
        "invalid_request",
    ));
    cases.push((
        "PKCE plain",
        with(
            &with(&good, "code_challenge_method", Some("plain")),
            "code_challenge",
            Some(&plain_verifier),
        ),
        "invalid_request",
    ));
    for (what, params, error) in &cases {
        let page = browser.get(&authorize(&s, params)).await;
        assert_eq!(page.status, 302, "{what}: {}", page.body);
        assert_error_redirect(&page, &s, &app, error, Some("st"));
        // The same by POST: 303, so the browser follows with GET.
        let page = browser
            .post(&format!("{}/authorize", s.base), &refs(params))
            .await;
        assert_eq!(page.status, 303, "{what}: {}", page.body);
        assert_error_redirect(&page, &s, &app, error, Some("st"));
    }

    // A repeated state is invalid_request; neither value is echoed, as neither is "the" state.
    let page = browser
        .get(&authorize(&s, &plus(&good, "state", "attacker")))
        .await;
    assert_error_redirect(&page, &s, &app, "invalid_request", None);
    assert!(!page.location().unwrap().contains("attacker"));

    // state round-trips exactly, however odd, and without state there is none.
    let odd = "a b&c=d/é?#";
    let page = browser
        .get(&authorize(
            &s,
            &with(
                &with(&good, "state", Some(odd)),
                "response_type",
                Some("token"),
            ),
        ))
        .await;
    assert_error_redirect(&page, &s, &app, "unsupported_response_type", Some(odd));
    let page = browser
        .get(&authorize(
            &s,
            &with(&with(&good, "state", None), "response_type", Some("token")),
        ))
        .await;
    assert_error_redirect(&page, &s, &app, "unsupported_response_type", None);

    // A public client needs PKCE even when the server does not require it of every client.
    let s = TestServer::start_with(backend, |c| c.authorize.require_pkce = false).await;
    let public = s.web_client("spa", first_party().public()).await;
    let confidential = s.web_client("web", first_party()).await;
    let no_pkce = |c: &WebClient| {
        with(
            &with(&good_params(c, &Pkce::new()), "code_challenge", None),
            "code_challenge_method",
            None,
        )
    };
    let page = browser.get(&authorize(&s, &no_pkce(&public))).await;
    assert_error_redirect(&page, &s, &public, "invalid_request", Some("st"));
    let page = browser.get(&authorize(&s, &no_pkce(&confidential))).await;
    assert_eq!(page.status, 200, "optional for a confidential client");
    assert!(is_login_page(&page));
    // ...but plain is refused for both.
    for c in [&public, &confidential] {
        let params = with(
            &with(
                &good_params(c, &Pkce::new()),
                "code_challenge_method",
                Some("plain"),
            ),
            "code_challenge",
            Some(&plain_verifier),
        );
        let page = browser.get(&authorize(&s, &params)).await;
        assert_error_redirect(&page, &s, c, "invalid_request", Some("st"));
    }
}
