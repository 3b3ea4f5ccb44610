//! The browser forms under attack: CSRF on every form, a foreign `id_token_hint` at logout, session
//! fixation, framing and caching (RFC 9700, OIDC RP-Initiated Logout). Every test runs on SQLite and
//! PostgreSQL.

use tests::fixture::Sso;
use tests::oauth::{Agent, Page, Pkce, WebClient, WebClientOptions, first_party};
use tests::sso_support::{
    PW, assert_error_page, assert_locked_page, authorize_openid, grant, has_session, header,
    is_login_page, logout_url, on_consent_page, refs, set_cookie, try_login,
};
use tests::{Backend, TestServer, decode_segment};

/// Posts the form on `page` to `action` with the `csrf` field replaced (`None`: left out).
async fn submit_with_csrf(
    agent: &mut Agent,
    page: &Page,
    action: &str,
    csrf: Option<&str>,
    extra: &[(&str, &str)],
) -> Page {
    let hidden: Vec<(String, String)> = page
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .collect();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(c) = csrf {
        pairs.push(("csrf", c));
    }
    pairs.extend(refs(&hidden));
    pairs.extend_from_slice(extra);
    agent.post(action, &pairs).await
}

/// The `sid` of the ID token a code redeems to.
async fn sid_of_code(s: &TestServer, app: &WebClient, code: &str, pkce: &Pkce) -> String {
    let (status, body) = s.redeem(app, code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    decode_segment(body["id_token"].as_str().unwrap(), 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

tests::on_both_backends!(
    login_consent_and_logout_forms_refuse_a_missing_or_wrong_csrf_token,
    a_foreign_id_token_hint_does_not_sign_the_browser_out,
    sign_in_never_adopts_a_planted_session_and_always_renews_it,
    every_page_refuses_framing_and_caching_and_cookies_are_locked_down,
    the_consent_form_cannot_skip_what_authorize_demanded,
);

// 1. CSRF ----------------------------------------------------------------------------------------

/// A refused form: 403, a plain page, no redirect, no session cookie.
fn assert_csrf_refused(p: &Page) {
    assert_error_page(p, 403);
    assert!(p.body.contains("This form has expired"), "{}", p.body);
}

async fn login_consent_and_logout_forms_refuse_a_missing_or_wrong_csrf_token(backend: Backend) {
    let (s, app, _) = Sso::start(backend).await.into_parts();
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    assert_eq!(page.status, 200);
    let token = browser
        .cookies
        .get("auth_csrf")
        .cloned()
        .expect("a csrf cookie");
    assert!(token.len() >= 32, "{token}");
    assert_eq!(page.hidden("csrf").as_deref(), Some(token.as_str()));
    // Another browser's token: valid somewhere, not here.
    let mut other = Agent::new();
    authorize_openid(&s, &mut other, &app).await;
    let foreign = other.cookies.get("auth_csrf").cloned().unwrap();
    assert_ne!(foreign, token);

    let creds = [("username", "alice"), ("password", PW)];
    let login = format!("{}/login", s.base);

    // POST /login: no cookie (a cross-site post), a wrong field, no field, an empty field.
    browser.cookies.remove("auth_csrf");
    let r = browser.submit(&page, &login, &creds).await;
    assert_csrf_refused(&r);
    browser.cookies.insert("auth_csrf".into(), token.clone());
    for csrf in [Some(foreign.as_str()), Some("x"), None, Some("")] {
        let r = submit_with_csrf(&mut browser, &page, &login, csrf, &creds).await;
        assert_csrf_refused(&r);
        assert!(!browser.cookies.contains_key("auth_session"));
    }
    // The field repeated (the right token and another): refused too.
    let r = browser
        .submit(
            &page,
            &login,
            &[("csrf", foreign.as_str()), creds[0], creds[1]],
        )
        .await;
    assert_csrf_refused(&r);
    // With the right pair the same sign-in works.
    assert!(!browser.cookies.contains_key("auth_session"));
    let r = browser.submit(&page, &login, &creds).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location_param("code").is_some());
    assert!(set_cookie(&r, "auth_session").is_some());

    // POST /consent for a third-party client.
    let consent = browser
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid email", &[]))
        .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("id=\"allow\""));
    let action = format!("{}/consent", s.base);
    let allow = [("decision", "allow")];
    browser.cookies.remove("auth_csrf");
    let r = browser.submit(&consent, &action, &allow).await;
    assert_csrf_refused(&r);
    browser.cookies.insert("auth_csrf".into(), token.clone());
    for csrf in [Some(foreign.as_str()), None, Some("")] {
        let r = submit_with_csrf(&mut browser, &consent, &action, csrf, &allow).await;
        assert_csrf_refused(&r);
    }
    // Nothing was granted: the consent page is asked again (prompt=none: consent_required).
    let again = browser
        .get(&s.authorize_url(
            &partner,
            &Pkce::new(),
            "openid email",
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(
        again.location_param("error").as_deref(),
        Some("consent_required")
    );
    let r = browser.submit(&consent, &action, &allow).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location_param("code").is_some());

    // The logout confirmation form.
    let confirm = browser.get(&format!("{}/logout", s.base)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"logout-form\""));
    assert_eq!(confirm.hidden("confirm").as_deref(), Some("yes"));
    let action = format!("{}/logout", s.base);
    let session = browser.cookies.get("auth_session").cloned().unwrap();
    browser.cookies.remove("auth_csrf");
    let r = browser.submit(&confirm, &action, &[]).await;
    assert_not_logged_out(&r);
    browser.cookies.insert("auth_csrf".into(), token.clone());
    for csrf in [Some(foreign.as_str()), None, Some("")] {
        let r = submit_with_csrf(&mut browser, &confirm, &action, csrf, &[]).await;
        assert_not_logged_out(&r);
    }
    // A cross-site form with confirm=yes and nothing else.
    let r = browser.post(&action, &[("confirm", "yes")]).await;
    assert_not_logged_out(&r);
    assert_eq!(browser.cookies.get("auth_session"), Some(&session));
    assert!(has_session(&s, &mut browser, &app).await, "still signed in");
    // The real confirmation ends it.
    let r = browser.submit(&confirm, &action, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"logged-out\""), "{}", r.body);
    assert!(!browser.cookies.contains_key("auth_session"));
    browser.cookies.insert("auth_session".into(), session);
    assert!(
        !has_session(&s, &mut browser, &app).await,
        "ended server-side"
    );
}

/// The logout form was not accepted: the confirmation page again, the cookie untouched.
fn assert_not_logged_out(p: &Page) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"logout-form\""), "{}", p.body);
    assert!(!p.body.contains("id=\"logged-out\""), "{}", p.body);
    assert!(
        set_cookie(p, "auth_session").is_none(),
        "{:?}",
        p.set_cookies()
    );
    assert!(p.location().is_none());
    assert_locked_page(p);
}

async fn a_foreign_id_token_hint_does_not_sign_the_browser_out(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("victim", PW).await;
    s.user("mallory", PW).await;
    let app = s
        .web_client("app", first_party().post_logout("https://app.example/bye"))
        .await;
    // Mallory signs in on her own browser and keeps her (valid, signed) ID token.
    let mut mallory = Agent::new();
    let mallory_hint = grant(&s, &mut mallory, &app, "openid", "mallory").await;
    let mallory_hint = mallory_hint.id();
    // The victim is signed in.
    let mut victim = Agent::new();
    let victim_hint = grant(&s, &mut victim, &app, "openid", "victim").await;
    let victim_hint = victim_hint.id();
    // A link (or an auto-submitted form) with Mallory's hint: OIDC RP-Initiated Logout §2 "MUST ask
    // the End-User ... if the supplied ID Token does not belong to the current OP session".
    let link = logout_url(&s, mallory_hint, "https://app.example/bye", "x");
    let r = victim.get(&link).await;
    assert_not_logged_out(&r);
    let r = victim
        .post(
            &format!("{}/logout", s.base),
            &[("id_token_hint", mallory_hint)],
        )
        .await;
    assert_not_logged_out(&r);
    assert!(has_session(&s, &mut victim, &app).await, "still signed in");
    // Mallory's own session is untouched by all this, and her hint still signs her out.
    assert!(has_session(&s, &mut mallory, &app).await);
    // The victim's own hint signs the victim out at once.
    let r = victim
        .get(&logout_url(&s, victim_hint, "https://app.example/bye", "x"))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.location(), Some("https://app.example/bye?state=x"));
    assert!(!has_session(&s, &mut victim, &app).await);
    assert!(has_session(&s, &mut mallory, &app).await);
}

// 2. Session fixation ----------------------------------------------------------------------------

async fn sign_in_never_adopts_a_planted_session_and_always_renews_it(backend: Backend) {
    let s = TestServer::start(backend).await;
    let alice = s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let planted = "attacker-chosen";
    let mut browser = Agent::with_session(planted);
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    assert!(is_login_page(&page), "a planted cookie is not a session");
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(set_cookie(&done, "auth_session").is_some());
    let first = browser.cookies.get("auth_session").cloned().unwrap();
    assert_ne!(first, planted);
    assert!(first.len() >= 32, "{first}");
    let sid1 = sid_of_code(&s, &app, &done.location_param("code").unwrap(), &pkce).await;
    // The attacker's copy of the planted value gives nothing.
    let mut attacker = Agent::with_session(planted);
    let page = authorize_openid(&s, &mut attacker, &app).await;
    assert_eq!(page.status, 200);
    assert!(is_login_page(&page));
    assert!(!has_session(&s, &mut attacker, &app).await);

    // Signing in again (prompt=login) replaces the session: new cookie, new sid; the old one is dead.
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[("prompt", "login")]))
        .await;
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let second = browser.cookies.get("auth_session").cloned().unwrap();
    assert_ne!(second, first);
    assert_ne!(second, planted);
    let sid2 = sid_of_code(&s, &app, &done.location_param("code").unwrap(), &pkce).await;
    assert_ne!(sid1, sid2);
    let mut stale = Agent::new();
    stale.cookies.insert("auth_session".into(), first.clone());
    let page = authorize_openid(&s, &mut stale, &app).await;
    assert!(
        is_login_page(&page),
        "the old session value no longer works"
    );
    assert!(!has_session(&s, &mut stale, &app).await);
    assert!(has_session(&s, &mut browser, &app).await);
    // A session cookie stolen before a re-login is useless after it, including a valid session of
    // someone else planted in the browser: the sign-in replaces it.
    s.user("mallory", PW).await;
    let mut mallory = Agent::new();
    s.code_for(&mut mallory, &app, &Pkce::new(), "openid", "mallory", PW)
        .await;
    let mallory_session = mallory.cookies.get("auth_session").cloned().unwrap();
    let mut victim = Agent::with_session(&mallory_session);
    let pkce = Pkce::new();
    let page = victim
        .get(&s.authorize_url(&app, &pkce, "openid", &[("prompt", "login")]))
        .await;
    let done = s.sign_in(&mut victim, &page, "alice", PW).await;
    assert_eq!(done.status, 303);
    assert_ne!(victim.cookies.get("auth_session"), Some(&mallory_session));
    let (_, t) = s
        .redeem(&app, &done.location_param("code").unwrap(), &pkce.verifier)
        .await;
    assert_eq!(
        decode_segment(t["id_token"].as_str().unwrap(), 1)["sub"],
        alice.as_str(),
        "signed in as the victim, not as the planted session's user"
    );
}

// 3. Clickjacking and headers --------------------------------------------------------------------

async fn every_page_refuses_framing_and_caching_and_cookies_are_locked_down(backend: Backend) {
    let (s, app, _) = Sso::start(backend).await.into_parts();
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    let mut browser = Agent::new();

    let login = browser
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(login.status, 200);
    assert_locked_page(&login);
    let csrf = set_cookie(&login, "auth_csrf").expect("a csrf cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(csrf.split("; ").any(|a| a == attr), "{attr}: {csrf}");
    }
    assert!(!csrf.contains("Domain"), "{csrf}");

    let wrong = try_login(&s, &mut browser, &login, "alice", "wrong").await;
    assert_eq!(wrong.status, 401);
    assert_locked_page(&wrong);

    let consent = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("id=\"consent-form\""));
    assert_locked_page(&consent);
    let session = set_cookie(&consent, "auth_session").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.split("; ").any(|a| a == attr), "{attr}: {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(
        !session.contains("Expires") && !session.contains("Max-Age"),
        "{session}"
    );

    let error = browser
        .get(&format!("{}/authorize?client_id=nope", s.base))
        .await;
    assert_error_page(&error, 400);

    let redirect = authorize_openid(&s, &mut browser, &app).await;
    assert_eq!(redirect.status, 302);
    assert_eq!(header(&redirect, "cache-control"), "no-store");

    let confirm = browser.get(&format!("{}/logout", s.base)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"logout-form\""));
    assert_locked_page(&confirm);

    let forbidden = browser.post(&format!("{}/logout", s.base), &[]).await;
    assert_locked_page(&forbidden);
    let forbidden = browser.post(&format!("{}/login", s.base), &[]).await;
    assert_error_page(&forbidden, 403);

    let out = browser
        .submit(&confirm, &format!("{}/logout", s.base), &[])
        .await;
    assert!(out.body.contains("id=\"logged-out\""));
    assert_locked_page(&out);
    let cleared = set_cookie(&out, "auth_session").expect("the session cookie is cleared");
    assert!(cleared.starts_with("auth_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

// Consent: a single-use, server-side pending authorization -----------------------------------------

/// `prompt=login` (and `max_age`) demand a password at `/authorize`; a consent form put together from
/// that request's login page, with a valid CSRF token and a live session, gets no code, and neither
/// does a real consent page's ticket sent with a request it was not shown for.
async fn the_consent_form_cannot_skip_what_authorize_demanded(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (mut browser, partner, consent) = on_consent_page(&s).await;
    let action = format!("{}/consent", s.base);
    let allow = [("decision", "allow")];
    // The sign-in is now 5 s old, so max_age=0 asks for the password again.
    s.clock.advance(5);
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let login = browser
            .get(&s.authorize_url(&partner, &Pkce::new(), "openid email", &[extra]))
            .await;
        assert!(is_login_page(&login), "{}", login.body);
        // The login page's fields (the request, a valid CSRF token) posted to /consent.
        let r = browser.submit(&login, &action, &allow).await;
        assert_error_page(&r, 400);
        assert!(r.body.contains("already answered"), "{}", r.body);
        // The real consent page's ticket, with the demanding request's parameters.
        let mut fields = consent.hidden_fields();
        fields.push((extra.0.to_owned(), extra.1.to_owned()));
        let mut pairs = refs(&fields);
        pairs.extend_from_slice(&allow);
        let r = browser.post(&action, &pairs).await;
        assert_error_page(&r, 400);
    }
    // Without a ticket at all.
    let fields: Vec<(String, String)> = consent
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| k != "consent_ticket")
        .collect();
    let mut pairs = refs(&fields);
    pairs.extend_from_slice(&allow);
    assert_error_page(&browser.post(&action, &pairs).await, 400);
    // The page itself, answered as shown, still works.
    let r = browser.submit(&consent, &action, &allow).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location_param("code").is_some());
}
