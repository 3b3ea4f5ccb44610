//! The WebAuthn pages: the sign-in page with "Sign in with a passkey", and the account page that
//! lists, adds, renames and removes passkeys and security keys. Both load the one script
//! (`assets/webauthn.js`, [`SCRIPT`]) and get a per-page CSP that allows exactly that script and
//! the one URL it fetches ([`with_script_csp`]); the global CSP stays as it is.

use std::sync::LazyLock;

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine;

use super::text::Text;
use super::views::Chrome;
use super::webauthn_text::WebauthnText;
use super::{LoginPage, Ui, render_any};

/// The script, as served at `/assets/webauthn.js`.
pub const SCRIPT: &str = include_str!("../../../assets/webauthn.js");

/// The script's Subresource Integrity value (`sha256-...`, W3C SRI §3.5), also its version in
/// the URL, so a cached copy is never used for another version.
pub static SCRIPT_INTEGRITY: LazyLock<String> = LazyLock::new(|| {
    let digest = crate::domain::random::sha256(SCRIPT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

/// The passkey form of the sign-in page.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyForm<'a> {
    /// Where the form posts (`/login/passkey`).
    pub action: &'a str,
    /// Where the script fetches the options (`/login/passkey/start`).
    pub start: &'a str,
    /// The script's URL.
    pub script: &'a str,
}

/// One credential on the account page.
#[derive(Debug, Clone)]
pub struct CredentialRow {
    /// Our id.
    pub id: String,
    /// The user's name for it.
    pub name: String,
    /// When it was added (UTC, minutes).
    pub created: String,
    /// When it was last used, or "never".
    pub last_used: String,
    /// "synced passkey" or "on one device".
    pub kind: &'static str,
}

/// What the account page shows.
#[derive(Debug, Clone, Copy)]
pub struct WebauthnAccountPage<'a> {
    /// Who is signed in.
    pub user_name: &'a str,
    /// The CSRF token of every form.
    pub csrf: &'a str,
    /// The credentials.
    pub credentials: &'a [CredentialRow],
    /// A notice after a change (translated).
    pub notice: Option<&'a str>,
    /// An error (English, translated on the page).
    pub error: Option<&'a str>,
    /// The add form's action.
    pub register_action: &'a str,
    /// The add form's start URL.
    pub start: &'a str,
    /// The rename form's action.
    pub rename_action: &'a str,
    /// The remove button's action.
    pub remove_action: &'a str,
    /// The script's URL.
    pub script: &'a str,
    /// The script's SRI value.
    pub integrity: &'a str,
}

/// What the passkey form's template gets: the form, and the script's integrity.
#[derive(Debug, Clone, Copy)]
struct PasskeyFormView<'a> {
    action: &'a str,
    start: &'a str,
    script: &'a str,
    integrity: &'a str,
}

#[derive(Template)]
#[template(path = "webauthn_login.html")]
struct LoginWithPasskey<'a> {
    c: Chrome<'a>,
    t: &'static Text,
    p: &'a LoginPage<'a>,
    error: Option<&'a str>,
    k: PasskeyFormView<'a>,
    w: &'static WebauthnText,
}

#[derive(Template)]
#[template(path = "webauthn_account.html")]
struct Account<'a> {
    c: Chrome<'a>,
    p: WebauthnAccountPage<'a>,
    w: &'static WebauthnText,
    signed_in_as: (&'static str, &'static str),
}

impl Ui<'_> {
    /// The WebAuthn words in this page's language.
    pub fn webauthn_text(&self) -> &'static WebauthnText {
        WebauthnText::of(self.lang())
    }

    /// The sign-in page ([`Ui::login`]) with a "Sign in with a passkey" form `passkey-form`
    /// (button `passkey-sign-in`), hidden until the script runs.
    pub fn login_with_passkey(&self, p: &LoginPage<'_>, k: &PasskeyForm<'_>) -> String {
        let t = self.text();
        render_any(&LoginWithPasskey {
            c: self.chrome(t.sign_in),
            t,
            p,
            error: p.error.map(|e| t.message(e)),
            k: PasskeyFormView {
                action: k.action,
                start: k.start,
                script: k.script,
                integrity: &SCRIPT_INTEGRITY,
            },
            w: self.webauthn_text(),
        })
    }

    /// The account page's passkeys and security keys.
    pub fn webauthn_account(&self, p: &WebauthnAccountPage<'_>) -> String {
        let w = self.webauthn_text();
        let t = self.text();
        let mut p = *p;
        p.error = p.error.map(|e| w.message(e));
        render_any(&Account {
            c: self.chrome(w.title),
            p,
            w,
            signed_in_as: t.signed_in_as,
        })
    }
}

/// `res` with its page CSP extended by `script-src` for exactly `script` and `connect-src` for
/// exactly `connect` (CSP 3 §2.3.1: a source with a path matches that path only).
pub fn with_script_csp(mut res: Response, script: &str, connect: &str) -> Response {
    let base = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(super::theme::CSP)
        .to_owned();
    let csp = format!(
        "{base}; script-src {}; connect-src {}",
        source(script),
        source(connect)
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// A URL as a CSP source: without query or fragment.
fn source(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pages::Pages;
    use axum::http::{HeaderMap, StatusCode};

    fn page() -> String {
        let pages = Pages::default();
        let ui = pages.ui(&HeaderMap::new(), None);
        let hidden = [("client_id".to_owned(), "app".to_owned())];
        ui.login_with_passkey(
            &LoginPage {
                client_name: "App",
                username: "",
                error: None,
                csrf: "tok",
                action: "http://localhost/login",
                hidden: &hidden,
            },
            &PasskeyForm {
                action: "http://localhost/login/passkey",
                start: "http://localhost/login/passkey/start",
                script: "http://localhost/assets/webauthn.js?v=1",
            },
        )
    }

    #[test]
    fn login_page_keeps_the_password_form_and_adds_a_hidden_passkey_form() {
        let html = page();
        assert!(html.contains("id=\"login-form\""), "{html}");
        assert!(html.contains("id=\"passkey-form\""), "{html}");
        let passkey = &html[html.find("id=\"passkey-form\"").unwrap_or_default()..];
        assert!(passkey.contains(" hidden>"), "{passkey}");
        assert!(
            passkey.contains("name=\"client_id\" value=\"app\""),
            "{passkey}"
        );
        assert!(passkey.contains("name=\"csrf\" value=\"tok\""), "{passkey}");
        assert!(
            html.contains(&format!("integrity=\"{}\"", *SCRIPT_INTEGRITY)),
            "{html}"
        );
        assert!(html.contains("Sign in with a passkey"), "{html}");
    }

    #[test]
    fn the_csp_allows_exactly_the_script_and_the_start_url() {
        let pages = Pages::default();
        let ui = pages.ui(&HeaderMap::new(), None);
        let res = with_script_csp(
            ui.html(StatusCode::OK, page()),
            "http://localhost/assets/webauthn.js?v=1",
            "http://localhost/login/passkey/start",
        );
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(csp.starts_with(super::super::theme::CSP), "{csp}");
        assert!(csp.ends_with(
            "; script-src http://localhost/assets/webauthn.js; connect-src http://localhost/login/passkey/start"
        ), "{csp}");
        assert!(
            !csp.contains("unsafe-eval") && !csp.contains("'self'"),
            "{csp}"
        );
    }

    #[test]
    fn the_script_is_self_contained_and_converts_base64url() {
        assert!(SCRIPT.contains("navigator.credentials.create"));
        assert!(SCRIPT.contains("navigator.credentials.get"));
        assert!(!SCRIPT.contains("eval("));
        assert!(SCRIPT_INTEGRITY.starts_with("sha256-"));
    }
}
