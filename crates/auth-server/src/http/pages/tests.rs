//! Unit tests of the pages: escaping, ids and names the browser tests rely on, hidden fields and
//! response headers.

use std::sync::LazyLock;

use super::*;

/// The default pages, in English.
fn en() -> Ui<'static> {
    static PAGES: LazyLock<Pages> = LazyLock::new(Pages::default);
    PAGES.in_lang(Lang::En)
}

const HOSTILE: &str = "\"><script>alert('x')</script>&";
const HOSTILE_ESCAPED: &str = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;";

fn hidden() -> Vec<(String, String)> {
    vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("state".to_owned(), HOSTILE.to_owned()),
        (
            "redirect_uri".to_owned(),
            "https://app.example/cb?a=1&b=2".to_owned(),
        ),
    ]
}

/// The opening tag of the element with this id, or "" when there is none.
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let needle = format!("id=\"{id}\"");
    let Some(at) = html.find(&needle) else {
        return "";
    };
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
    &html[start..end]
}

/// Asserts that `html` contains each of `parts`.
fn assert_has(html: &str, parts: &[&str]) {
    for part in parts {
        assert!(html.contains(part), "{part:?} missing from:\n{html}");
    }
}

fn assert_no_raw_hostile(html: &str) {
    assert!(!html.contains("\"><script>"), "raw payload in:\n{html}");
    assert!(!html.contains("<script"), "script tag in:\n{html}");
    assert!(!html.contains("alert('x')"), "unescaped quote in:\n{html}");
}

fn assert_common(html: &str, title: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains(&format!("<title>{title} · auth-server</title>")));
    assert_eq!(html.matches("<style>").count(), 1);
    assert!(html.contains("<span class=\"name\">auth-server</span>"));
    assert!(!html.contains("<link"));
    assert!(!html.contains("<img"));
}

fn assert_hidden_fields(html: &str, csrf_escaped: &str) {
    let csrf = format!("<input type=\"hidden\" name=\"csrf\" value=\"{csrf_escaped}\">");
    let rt = "<input type=\"hidden\" name=\"response_type\" value=\"code\">";
    let state = format!("<input type=\"hidden\" name=\"state\" value=\"{HOSTILE_ESCAPED}\">");
    let uri = "<input type=\"hidden\" name=\"redirect_uri\" \
               value=\"https://app.example/cb?a=1&amp;b=2\">";
    let positions: Vec<Option<usize>> = [csrf.as_str(), rt, state.as_str(), uri]
        .iter()
        .map(|f| html.find(f))
        .collect();
    assert!(
        positions.iter().all(Option::is_some),
        "{positions:?} in:\n{html}"
    );
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "order: {positions:?}"
    );
}

#[test]
fn escape_covers_the_five_characters() {
    assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    assert_eq!(escape(HOSTILE), HOSTILE_ESCAPED);
    assert_eq!(escape(""), "");
}

#[test]
fn login_escapes_everything_and_carries_fields() {
    let hidden = hidden();
    let html = en().login(&LoginPage {
        client_name: HOSTILE,
        username: HOSTILE,
        error: Some(HOSTILE),
        csrf: HOSTILE,
        action: "/authorize?x=\"><script>",
        hidden: &hidden,
    });
    assert_no_raw_hostile(&html);
    assert_common(&html, "Sign in");
    assert!(html.contains(&format!(
        "Sign in to continue to <strong>{HOSTILE_ESCAPED}</strong>"
    )));
    assert!(html.contains(&format!(
        "value=\"{HOSTILE_ESCAPED}\" autocomplete=\"username\""
    )));
    assert!(html.contains(&format!(
        "<div class=\"alert\" role=\"alert\" id=\"login-error\">{HOSTILE_ESCAPED}</div>"
    )));
    assert!(html.contains("action=\"/authorize?x=&quot;&gt;&lt;script&gt;\""));
    assert_hidden_fields(&html, HOSTILE_ESCAPED);
    // Both inputs point at the error.
    assert!(tag(&html, "username").contains("aria-describedby=\"login-error\""));
    assert!(tag(&html, "password").contains("aria-invalid=\"true\""));
}

#[test]
fn login_ids_names_and_autofocus() {
    let hidden = hidden();
    let base = LoginPage {
        client_name: "Shop",
        username: "",
        error: None,
        csrf: "tok",
        action: "/login",
        hidden: &hidden,
    };
    let empty = en().login(&base);
    let form = tag(&empty, "login-form");
    assert!(form.starts_with("<form"));
    assert_has(form, &["method=\"post\"", "action=\"/login\""]);
    let user = tag(&empty, "username");
    assert!(user.starts_with("<input"));
    assert_has(
        user,
        &[
            "name=\"username\"",
            "autocomplete=\"username\"",
            " required",
            " autofocus",
        ],
    );
    let pass = tag(&empty, "password");
    assert_has(
        pass,
        &[
            "type=\"password\"",
            "name=\"password\"",
            "autocomplete=\"current-password\"",
            " required",
        ],
    );
    assert!(!pass.contains("autofocus"));
    assert_has(
        &empty,
        &[
            "<label for=\"username\">",
            "<label for=\"password\">",
            "<button type=\"submit\" id=\"sign-in\"",
            ">Sign in</button>",
        ],
    );
    assert!(!empty.contains("role=\"alert\""));
    assert!(!user.contains("aria-invalid"));
    assert!(!pass.contains("aria-describedby"));
    assert_hidden_fields_plain(&empty, "tok");

    let prefilled = en().login(&LoginPage {
        username: "alice",
        ..base
    });
    assert!(!tag(&prefilled, "username").contains("autofocus"));
    assert!(tag(&prefilled, "username").contains("value=\"alice\""));
    assert!(tag(&prefilled, "password").contains(" autofocus"));
}

fn assert_hidden_fields_plain(html: &str, csrf: &str) {
    assert!(html.contains(&format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">"
    )));
    assert!(html.contains("<input type=\"hidden\" name=\"response_type\" value=\"code\">"));
}

#[test]
fn consent_escapes_lists_scopes_and_has_both_buttons() {
    let hidden = hidden();
    let scopes: Vec<String> = [
        "openid",
        "profile",
        "email",
        "offline_access",
        "orders:read",
        HOSTILE,
        "openid",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let html = en().consent(&ConsentPage {
        client_name: HOSTILE,
        user_name: HOSTILE,
        scopes: &scopes,
        csrf: HOSTILE,
        action: "/authorize/consent",
        hidden: &hidden,
    });
    assert_no_raw_hostile(&html);
    assert_common(&html, "Allow access");
    assert!(html.contains(&format!("Signed in as <strong>{HOSTILE_ESCAPED}</strong>")));
    assert_has(
        &html,
        &[
            "<li>Confirm your identity</li>",
            "<li>Your name and username</li>",
            "<li>Your e-mail address</li>",
            "<li>Stay signed in (access while you are away)</li>",
            "<li><code>orders:read</code></li>",
        ],
    );
    assert!(html.contains(&format!("<li><code>{HOSTILE_ESCAPED}</code></li>")));
    assert_eq!(html.matches("Confirm your identity").count(), 1);
    assert_hidden_fields(&html, HOSTILE_ESCAPED);
    assert_eq!(html.matches("<form").count(), 1);
    let allow = tag(&html, "allow");
    assert!(allow.starts_with("<button type=\"submit\""));
    assert!(allow.contains("name=\"decision\" value=\"allow\""));
    let deny = tag(&html, "deny");
    assert!(deny.starts_with("<button type=\"submit\""));
    assert!(deny.contains("name=\"decision\" value=\"deny\""));
    assert!(html.contains(">Allow</button>"));
    assert!(html.contains(">Deny</button>"));
    assert!(tag(&html, "consent-form").contains("method=\"post\""));
}

#[test]
fn logout_confirm_escapes_and_carries_fields() {
    let hidden = hidden();
    let html = en().logout_confirm(&LogoutPage {
        csrf: HOSTILE,
        action: "/logout",
        hidden: &hidden,
        client_name: Some(HOSTILE),
    });
    assert_no_raw_hostile(&html);
    assert_common(&html, "Sign out");
    assert!(html.contains("<h1>Sign out?</h1>"));
    assert!(html.contains(&format!("<strong>{HOSTILE_ESCAPED}</strong>")));
    assert_hidden_fields(&html, HOSTILE_ESCAPED);
    let button = tag(&html, "logout");
    assert!(button.starts_with("<button type=\"submit\""));
    assert!(html.contains(">Sign out</button>"));
    assert!(tag(&html, "logout-form").contains("action=\"/logout\""));

    let anonymous = en().logout_confirm(&LogoutPage {
        csrf: "t",
        action: "/logout",
        hidden: &[],
        client_name: None,
    });
    assert!(anonymous.contains("Do you want to sign out of auth-server?"));
    assert!(anonymous.contains("<input type=\"hidden\" name=\"csrf\" value=\"t\">"));
}

#[test]
fn logged_out_and_error_pages() {
    let out = en().logged_out();
    assert_common(&out, "Signed out");
    assert!(out.contains("<h1 id=\"logged-out\">You are signed out.</h1>"));

    let err = en().error(HOSTILE, HOSTILE);
    assert_no_raw_hostile(&err);
    assert!(err.contains(&format!("<title>{HOSTILE_ESCAPED} · auth-server</title>")));
    assert!(err.contains(&format!("<h1 id=\"error-title\">{HOSTILE_ESCAPED}</h1>")));
    assert!(!err.contains("<form"));
    assert!(!err.contains("<input"));

    let plain = en().error("Invalid request", "The client is unknown.");
    assert_common(&plain, "Invalid request");
    assert!(plain.contains("The client is unknown."));
}

#[test]
fn html_sets_every_header() {
    let res = en().html(StatusCode::BAD_REQUEST, en().logged_out());
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let h = res.headers();
    let get = |name: header::HeaderName| {
        h.get(&name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert_eq!(get(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(get(header::CACHE_CONTROL), "no-store");
    assert_eq!(get(header::PRAGMA), "no-cache");
    assert_eq!(get(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(get(header::REFERRER_POLICY), "no-referrer");
    assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let csp = get(header::CONTENT_SECURITY_POLICY);
    assert_eq!(
        csp,
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    assert!(!csp.contains("form-action"));
    assert!(!csp.contains("script-src"));
    assert_eq!(h.get_all(header::CONTENT_TYPE).iter().count(), 1);
}
