//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode) over HTTP: the authorization
//! response, a code or an error with `state` and `iss`, comes back as an auto-submitting form
//! whose action is the redirect URI; every value is escaped; the page allows only its own script;
//! an unknown response mode is `invalid_request`. Runs on SQLite and PostgreSQL.

use auth_server::domain::clients::NewClient;
use tests::fixture::Sso;
use tests::oauth::{Agent, Page, Pkce, WebClient, WebClientOptions};
use tests::sso_support::{PW, authorize, decide, field, good_params, with};
use tests::{Backend, TestServer};

tests::on_both_backends!(
    codes_come_back_as_a_form_post,
    errors_come_back_as_a_form_post_too,
    consent_answers_come_back_as_a_form_post,
);

const FORM_POST: (&str, &str) = ("response_mode", "form_post");

/// Asserts `page` is the form-post page to `action` and returns its fields.
#[track_caller]
fn assert_form_post(page: &Page, action: &str) -> Vec<(String, String)> {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.location().is_none(),
        "a redirect: {:?}",
        page.location()
    );
    let form = format!("<form id=\"form-post\" method=\"post\" action=\"{action}\">");
    assert!(page.body.contains(&form), "{form} in {}", page.body);
    // Exactly one script, allowed by its hash in this page's CSP; everything else as on every page.
    assert_eq!(page.body.matches("<script").count(), 1, "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"));
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    // A visible button for a browser without JavaScript.
    assert!(
        page.body.contains("<button type=\"submit\""),
        "{}",
        page.body
    );
    page.hidden_fields()
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn codes_come_back_as_a_form_post(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let discovery: serde_json::Value = s
        .http
        .get(format!("{}/.well-known/openid-configuration", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );

    // Signing in (a POST) ends in the form, not a 303.
    let pkce = Pkce::new();
    let login = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[FORM_POST]))
        .await;
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    let fields = assert_form_post(&done, &app.redirect_uri);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["code", "state", "iss"], "{fields:?}");
    assert_eq!(get(&fields, "state"), Some("st"));
    assert_eq!(get(&fields, "iss"), Some(s.base.as_str()));
    let code = get(&fields, "code").unwrap();
    let (status, body) = s.redeem(&app, code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    field(&body, "id_token");

    // With a session, the GET itself answers with the form; a state that would break out of the
    // attribute is escaped and comes back intact.
    let state = "\"><script>alert(1)</script>&amp;'";
    let pkce = Pkce::new();
    let params = with(&good_params(&app, &pkce), "state", Some(state));
    let params = with(&params, FORM_POST.0, Some(FORM_POST.1));
    let page = browser.get(&authorize(&s, &params)).await;
    let fields = assert_form_post(&page, &app.redirect_uri);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains("&quot;&gt;&lt;script&gt;alert(1)"));
    assert_eq!(get(&fields, "state"), Some(state));
    let (status, body) = s
        .redeem(&app, get(&fields, "code").unwrap(), &pkce.verifier)
        .await;
    assert_eq!(status, 200, "{body}");

    // A registered redirect URI with a query keeps it in the action (escaped).
    let q = query_client(&s).await;
    let page = browser
        .get(&s.authorize_url(&q, &Pkce::new(), "openid", &[FORM_POST]))
        .await;
    let fields = assert_form_post(&page, "https://q.example/cb?tenant=a&amp;code=x");
    assert_eq!(fields.len(), 3, "{fields:?}");
    assert_ne!(get(&fields, "code"), Some("x"));

    // response_mode=query, explicitly, is the usual redirect.
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[("response_mode", "query")]))
        .await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert!(page.location_param("code").is_some());
}

/// A first-party client whose redirect URI has a query of its own, with a `code` parameter.
async fn query_client(s: &TestServer) -> WebClient {
    let uri = "https://q.example/cb?tenant=a&code=x";
    let new = NewClient {
        redirect_uris: vec![uri.into()],
        default_scopes: vec!["openid".into()],
        first_party: true,
        ..tests::new_client("q", auth_core::Alg::Es256, &["openid"], &[])
    };
    let (c, secret) = s.app.clients.create(new).await.unwrap();
    WebClient {
        id: c.id,
        secret,
        redirect_uri: uri.into(),
    }
}

async fn errors_come_back_as_a_form_post_too(backend: Backend) {
    let Sso { s, app, .. } = Sso::start(backend).await;
    let mut stranger = Agent::new();

    // RFC 6749 §4.1.2.1 errors, once the redirect URI is trusted, use the requested mode.
    for (extra, error) in [
        (("prompt", "none"), "login_required"),
        (("scope", "openid admin"), "invalid_scope"),
        (("code_challenge_method", "plain"), "invalid_request"),
    ] {
        let mut pairs = vec![FORM_POST];
        let scope = if extra.0 == "scope" {
            extra.1
        } else {
            "openid"
        };
        if extra.0 != "scope" {
            pairs.push(extra);
        }
        let page = stranger
            .get(&s.authorize_url(&app, &Pkce::new(), scope, &pairs))
            .await;
        let fields = assert_form_post(&page, &app.redirect_uri);
        assert_eq!(get(&fields, "error"), Some(error), "{extra:?}: {fields:?}");
        assert_eq!(get(&fields, "state"), Some("st"));
        assert_eq!(get(&fields, "iss"), Some(s.base.as_str()));
        assert_eq!(get(&fields, "code"), None);
    }

    // An unknown (or repeated) response mode is invalid_request, answered the default way.
    for mode in ["fragment", "bogus", "FORM_POST"] {
        let page = stranger
            .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[("response_mode", mode)]))
            .await;
        assert_eq!(page.status, 302, "{mode}: {}", page.body);
        assert_eq!(
            page.location_param("error").as_deref(),
            Some("invalid_request"),
            "{mode}"
        );
    }
    let twice = [FORM_POST, FORM_POST];
    let page = stranger
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &twice))
        .await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(
        page.location_param("error").as_deref(),
        Some("invalid_request")
    );

    // An untrusted redirect URI is never posted to: the error page.
    let evil = WebClient {
        redirect_uri: "https://evil.example/cb".into(),
        ..app.clone()
    };
    let page = stranger
        .get(&s.authorize_url(&evil, &Pkce::new(), "openid", &[FORM_POST]))
        .await;
    assert_eq!(page.status, 400);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
    assert!(!page.body.contains("<form id=\"form-post\""));
}

async fn consent_answers_come_back_as_a_form_post(backend: Backend) {
    let Sso { s, .. } = Sso::start(backend).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    // The mode is carried through the sign-in and consent forms: allowing posts a code, denying
    // posts access_denied.
    // (One user each: an allowed consent is remembered.)
    s.user("bob", PW).await;
    for (user, decision, want) in [("alice", "allow", "code"), ("bob", "deny", "error")] {
        let mut browser = Agent::new();
        let pkce = Pkce::new();
        let url = s.authorize_url(&partner, &pkce, "openid email", &[FORM_POST]);
        let login = browser.get(&url).await;
        let consent = s.sign_in(&mut browser, &login, user, PW).await;
        assert!(consent.body.contains("id=\"allow\""), "{}", consent.body);
        let answer = decide(&s, &mut browser, &consent, decision).await;
        let fields = assert_form_post(&answer, &partner.redirect_uri);
        assert!(get(&fields, want).is_some(), "{decision}: {fields:?}");
        assert_eq!(get(&fields, "state"), Some("st"));
        if decision == "deny" {
            assert_eq!(get(&fields, "error"), Some("access_denied"));
        } else {
            let (status, body) = s
                .redeem(&partner, get(&fields, "code").unwrap(), &pkce.verifier)
                .await;
            assert_eq!(status, 200, "{body}");
        }
    }
}
