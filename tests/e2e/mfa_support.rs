//! Helpers of the `mfa*` modules: enrolling TOTP from `/account/mfa`, reading the secret and the
//! recovery codes off the pages, computing codes with the server's (injected) clock, and driving
//! the second-factor page.

use auth_server::domain::mfa::totp;
use tests::TestServer;
use tests::oauth::{Agent, Page, Pkce, WebClient};
use tests::sso_support::PW;

/// The TOTP secret shown as text on an enrollment page.
pub fn secret_of(page: &Page) -> Vec<u8> {
    let marker = "id=\"totp-secret\">";
    let start = page.body.find(marker).expect("an enrollment with its key") + marker.len();
    let end = page.body[start..].find('<').unwrap() + start;
    totp::from_base32(&page.body[start..end]).expect("a base32 key")
}

/// The recovery codes a page shows (once).
pub fn codes_of(page: &Page) -> Vec<String> {
    let start = page
        .body
        .find("id=\"recovery-codes\"")
        .expect("recovery codes");
    let list = &page.body[start..page.body[start..].find("</ul>").unwrap() + start];
    list.split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect()
}

/// The code of `secret` at the server's current time.
pub fn code_now(s: &TestServer, secret: &[u8]) -> String {
    totp::code_at(secret, tests::now(&s.clock)).unwrap()
}

/// A wrong code for `secret` now (not one of the three accepted steps).
pub fn wrong_code(s: &TestServer, secret: &[u8]) -> String {
    let now = tests::now(&s.clock);
    let valid: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| totp::code_at(secret, now + d).unwrap())
        .collect();
    (0..1000)
        .map(|i| format!("{:06}", 123_457 + i))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// `POST` to an account form with the page's CSRF token and `extra`.
pub async fn account_post(
    s: &TestServer,
    browser: &mut Agent,
    path: &str,
    extra: &[(&str, &str)],
) -> Page {
    let page = browser.get(&format!("{}/account/mfa", s.base)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf").expect("a CSRF field");
    let mut pairs = vec![("csrf", csrf.as_str())];
    pairs.extend_from_slice(extra);
    browser.post(&format!("{}{path}", s.base), &pairs).await
}

/// Enrolls TOTP for the signed-in user of `browser` from `/account/mfa`: the secret (read off
/// the page) and the recovery codes shown after the first code. The clock then moves one step on,
/// so the next code is a new one.
pub async fn enroll(s: &TestServer, browser: &mut Agent) -> (Vec<u8>, Vec<String>) {
    let started = account_post(s, browser, "/account/mfa/totp/start", &[]).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert!(
        started.body.contains("<svg "),
        "a QR code: {}",
        started.body
    );
    let secret = secret_of(&started);
    let code = code_now(s, &secret);
    let id = started.hidden("enrollment_id").unwrap();
    let csrf = started.hidden("csrf").unwrap();
    let done = browser
        .post(
            &format!("{}/account/mfa/totp/confirm", s.base),
            &[("csrf", &csrf), ("enrollment_id", &id), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("id=\"totp-status\">On<"),
        "{}",
        done.body
    );
    let codes = codes_of(&done);
    s.clock.advance(30);
    (secret, codes)
}

/// Authorizes `app` with `extra` and signs alice in with her password from a new browser (or the
/// given one); returns the page that follows (the second-factor page, when one is needed).
pub async fn password_step(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    pkce: &Pkce,
    extra: &[(&str, &str)],
) -> Page {
    let page = browser
        .get(&s.authorize_url(app, pkce, "openid", extra))
        .await;
    s.sign_in(browser, &page, "alice", PW).await
}

/// Asserts `page` is the second-factor page and that it started no session.
#[track_caller]
pub fn assert_second_factor_page(page: &Page) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"mfa-form\""), "{}", page.body);
    assert!(page.hidden("mfa_ticket").is_some());
    assert!(
        !page
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("auth_session=") && !c.contains("Max-Age=0")),
        "no session before the second factor: {:?}",
        page.set_cookies()
    );
}

/// Answers the second-factor page with `fields`.
pub async fn answer(
    s: &TestServer,
    browser: &mut Agent,
    page: &Page,
    fields: &[(&str, &str)],
) -> Page {
    browser
        .submit(page, &format!("{}/login/mfa", s.base), fields)
        .await
}

/// Redeems the code of a redirect `done` and returns the ID token's claims.
pub async fn id_claims(
    s: &TestServer,
    app: &WebClient,
    pkce: &Pkce,
    done: &Page,
) -> serde_json::Value {
    assert_eq!(done.status, 303, "{}", done.body);
    let code = done.location_param("code").expect("a code");
    let (status, body) = s.redeem(app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    let jwks = s.jwks().await;
    tests::verify(body["id_token"].as_str().unwrap(), &jwks).1
}
