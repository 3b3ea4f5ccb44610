//! Server-rendered HTML for the identity provider's browser pages: sign-in, consent, sign-out and
//! errors.
//!
//! The pages use no JavaScript and load nothing: one inline `<style>` block, system fonts, a CSS-only
//! product mark. Every dynamic string goes through [`escape`] before it reaches the markup, and
//! [`html`] adds the headers that keep the pages out of caches and frames.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A hidden form field carrying one parameter of the original authorization request.
pub type Hidden = [(String, String)];

/// The product name shown in the mark at the top of every page and in every `<title>`.
const PRODUCT: &str = "auth-server";

/// `Content-Security-Policy` for every page.
///
/// There is deliberately no `form-action` directive: Chrome applies `form-action` to the redirect
/// that follows a form post as well, so it would block the redirect back to the client
/// application's `redirect_uri` after sign-in or consent.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Escapes `&`, `<`, `>`, `"` and `'` so that `s` is inert both as element text and inside a quoted
/// attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the sign-in page shows.
#[derive(Debug, Clone, Copy)]
pub struct LoginPage<'a> {
    /// The client's display name: "Sign in to continue to {client_name}".
    pub client_name: &'a str,
    /// Prefilled user name (the `login_hint`, or what was typed before); may be empty.
    pub username: &'a str,
    /// An error shown above the form, e.g. "Invalid username or password.".
    pub error: Option<&'a str>,
    /// The CSRF token, sent back in the hidden field `csrf`.
    pub csrf: &'a str,
    /// The form's action URL; the form is posted.
    pub action: &'a str,
    /// Extra hidden fields, emitted in order after `csrf`.
    pub hidden: &'a Hidden,
}

/// The sign-in page: a form `login-form` with `username`, `password` and a `sign-in` button.
pub fn login(p: &LoginPage<'_>) -> String {
    let client = escape(p.client_name);
    let prefilled = !p.username.is_empty();
    // Tie the inputs to the error so screen readers announce it with the field.
    let invalid = if p.error.is_some() {
        r#" aria-invalid="true" aria-describedby="login-error""#
    } else {
        ""
    };
    let mut body = String::with_capacity(2048);
    body.push_str("<h1>Sign in</h1>\n");
    body.push_str(&format!(
        "<p class=\"lead\">Sign in to continue to <strong>{client}</strong></p>\n"
    ));
    if let Some(error) = p.error {
        body.push_str(&alert("login-error", error));
    }
    body.push_str(&format!(
        "<form id=\"login-form\" method=\"post\" action=\"{}\">\n",
        escape(p.action)
    ));
    push_hidden(&mut body, p.csrf, p.hidden);
    body.push_str(&format!(
        "<div class=\"field\">\n<label for=\"username\">Username</label>\n\
         <input type=\"text\" name=\"username\" id=\"username\" value=\"{}\" \
         autocomplete=\"username\" autocapitalize=\"none\" autocorrect=\"off\" spellcheck=\"false\" \
         required{}{invalid}>\n</div>\n",
        escape(p.username),
        if prefilled { "" } else { " autofocus" },
    ));
    body.push_str(&format!(
        "<div class=\"field\">\n<label for=\"password\">Password</label>\n\
         <input type=\"password\" name=\"password\" id=\"password\" \
         autocomplete=\"current-password\" required{}{invalid}>\n</div>\n",
        if prefilled { " autofocus" } else { "" },
    ));
    body.push_str(
        "<button type=\"submit\" id=\"sign-in\" class=\"button primary wide\">Sign in</button>\n\
         </form>\n",
    );
    page("Sign in", &body)
}

/// What the consent page shows.
#[derive(Debug, Clone, Copy)]
pub struct ConsentPage<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// Who is signed in: "Signed in as {user_name}".
    pub user_name: &'a str,
    /// The requested scopes; well-known ones get a friendly description, others are shown raw.
    pub scopes: &'a [String],
    /// The CSRF token, sent back in the hidden field `csrf`.
    pub csrf: &'a str,
    /// The form's action URL; the form is posted.
    pub action: &'a str,
    /// Extra hidden fields, emitted in order after `csrf`.
    pub hidden: &'a Hidden,
}

/// The consent page: one form `consent-form` with two submit buttons named `decision`, `allow`
/// (value `allow`) and `deny` (value `deny`).
pub fn consent(p: &ConsentPage<'_>) -> String {
    let client = escape(p.client_name);
    let mut body = String::with_capacity(2048);
    body.push_str("<h1>Allow access?</h1>\n");
    body.push_str(&format!(
        "<p class=\"lead\"><strong>{client}</strong> wants to access your account.</p>\n"
    ));
    body.push_str(&format!(
        "<p class=\"who\">Signed in as <strong>{}</strong></p>\n",
        escape(p.user_name)
    ));
    let mut seen: Vec<&str> = Vec::with_capacity(p.scopes.len());
    let mut items = String::new();
    for scope in p.scopes {
        if scope.is_empty() || seen.contains(&scope.as_str()) {
            continue;
        }
        seen.push(scope);
        items.push_str("<li>");
        items.push_str(&scope_line(scope));
        items.push_str("</li>\n");
    }
    if !items.is_empty() {
        body.push_str(&format!(
            "<h2 id=\"scopes-title\">Requested access</h2>\n\
             <ul class=\"scopes\" aria-labelledby=\"scopes-title\">\n{items}</ul>\n"
        ));
    }
    body.push_str(&format!(
        "<form id=\"consent-form\" method=\"post\" action=\"{}\">\n",
        escape(p.action)
    ));
    push_hidden(&mut body, p.csrf, p.hidden);
    body.push_str(
        "<div class=\"actions\">\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" \
         class=\"button secondary\">Deny</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\" \
         class=\"button primary\">Allow</button>\n\
         </div>\n</form>\n",
    );
    page("Allow access", &body)
}

/// One consent line: a friendly description for the well-known scopes, the raw scope otherwise.
fn scope_line(scope: &str) -> String {
    match scope {
        "openid" => "Confirm your identity".to_owned(),
        "profile" => "Your name and username".to_owned(),
        "email" => "Your e-mail address".to_owned(),
        "offline_access" => "Stay signed in (access while you are away)".to_owned(),
        other => format!("<code>{}</code>", escape(other)),
    }
}

/// What the sign-out confirmation page shows.
#[derive(Debug, Clone, Copy)]
pub struct LogoutPage<'a> {
    /// The CSRF token, sent back in the hidden field `csrf`.
    pub csrf: &'a str,
    /// The form's action URL; the form is posted.
    pub action: &'a str,
    /// Extra hidden fields, emitted in order after `csrf`.
    pub hidden: &'a Hidden,
    /// The client that asked for the sign-out, when known.
    pub client_name: Option<&'a str>,
}

/// The sign-out confirmation page: "Sign out?" and a form `logout-form` with a `logout` button.
pub fn logout_confirm(p: &LogoutPage<'_>) -> String {
    let mut body = String::with_capacity(1024);
    body.push_str("<h1>Sign out?</h1>\n");
    match p.client_name {
        Some(client) => body.push_str(&format!(
            "<p class=\"lead\"><strong>{}</strong> asked to sign you out of {PRODUCT}.</p>\n",
            escape(client)
        )),
        None => body.push_str(&format!(
            "<p class=\"lead\">Do you want to sign out of {PRODUCT}?</p>\n"
        )),
    }
    body.push_str(&format!(
        "<form id=\"logout-form\" method=\"post\" action=\"{}\">\n",
        escape(p.action)
    ));
    push_hidden(&mut body, p.csrf, p.hidden);
    body.push_str(
        "<button type=\"submit\" id=\"logout\" class=\"button primary wide\">Sign out</button>\n\
         </form>\n",
    );
    page("Sign out", &body)
}

/// The page shown after signing out: "You are signed out." (heading id `logged-out`).
pub fn logged_out() -> String {
    page(
        "Signed out",
        "<h1 id=\"logged-out\">You are signed out.</h1>\n\
         <p class=\"lead\">You can close this window.</p>\n",
    )
}

/// A plain error page showing `title` and `message` and nothing else.
pub fn error(title: &str, message: &str) -> String {
    let body = format!(
        "<h1 id=\"error-title\">{}</h1>\n<p class=\"lead\" id=\"error-message\">{}</p>\n",
        escape(title),
        escape(message)
    );
    page(title, &body)
}

/// An HTML response with the headers every IdP page needs.
///
/// `Content-Type: text/html; charset=utf-8`, `Cache-Control: no-store`, `Pragma: no-cache`,
/// `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff` and a
/// `Content-Security-Policy` that allows nothing but the inline style (see [`CSP`] for why it has no
/// `form-action`).
pub fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // No `form-action`: Chrome enforces it on the redirect after a form post, which would block
    // the redirect back to the client application.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// An error message announced to assistive technology.
fn alert(id: &str, message: &str) -> String {
    format!(
        "<div class=\"alert\" role=\"alert\" id=\"{}\">{}</div>\n",
        escape(id),
        escape(message)
    )
}

/// The `csrf` field followed by the carried-over request parameters, in order.
fn push_hidden(out: &mut String, csrf: &str, hidden: &Hidden) {
    push_hidden_field(out, "csrf", csrf);
    for (name, value) in hidden {
        push_hidden_field(out, name, value);
    }
}

fn push_hidden_field(out: &mut String, name: &str, value: &str) {
    out.push_str("<input type=\"hidden\" name=\"");
    out.push_str(&escape(name));
    out.push_str("\" value=\"");
    out.push_str(&escape(value));
    out.push_str("\">\n");
}

/// The document around a page's card. `title` is plain text; `body` is markup built by this module
/// with every dynamic part already escaped.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{} · {PRODUCT}</title>\n\
         <style>{STYLE}</style>\n\
         </head>\n\
         <body>\n\
         <div class=\"shell\">\n\
         <header class=\"brand\"><span class=\"mark\" aria-hidden=\"true\"></span>\
         <span class=\"name\">{PRODUCT}</span></header>\n\
         <main class=\"card\">\n{body}</main>\n\
         </div>\n\
         </body>\n\
         </html>\n",
        escape(title)
    )
}

/// The one stylesheet. Colours meet WCAG AA in both schemes: body text and button labels at least
/// 4.5:1, input borders and focus rings at least 3:1 against the card.
const STYLE: &str = r#"
:root {
  color-scheme: light dark;
  --bg: #f3f4f6; --card: #ffffff; --text: #111827; --muted: #4b5563; --line: #e5e7eb;
  --field: #6b7280; --accent: #1d4ed8; --accent-hover: #1e40af; --on-accent: #ffffff;
  --focus: #1d4ed8; --alert-bg: #fef2f2; --alert-text: #991b1b; --alert-line: #dc2626;
  --code-bg: #f3f4f6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --card: #1a1d23; --text: #f3f4f6; --muted: #b4bcc8; --line: #2e333b;
    --field: #8b95a3; --accent: #8ab4ff; --accent-hover: #a8c7ff; --on-accent: #0b1530;
    --focus: #8ab4ff; --alert-bg: #3b1518; --alert-text: #fecaca; --alert-line: #f87171;
    --code-bg: #262a31;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; background: var(--bg); color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.5;
  display: flex; align-items: center; justify-content: center; padding: 24px 16px;
}
.shell { width: 100%; max-width: 400px; }
.brand {
  display: flex; align-items: center; justify-content: center; gap: 8px;
  margin-bottom: 20px; font-weight: 600; font-size: 15px; letter-spacing: .01em;
}
.mark {
  width: 22px; height: 22px; border-radius: 6px; flex: none;
  background: radial-gradient(circle, var(--bg) 0 3px, transparent 4px), var(--accent);
}
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 32px 28px; box-shadow: 0 1px 3px rgba(0,0,0,.06), 0 8px 24px rgba(0,0,0,.06);
}
h1 { font-size: 24px; line-height: 1.25; margin: 0 0 8px; font-weight: 650; }
h2 { font-size: 15px; margin: 20px 0 8px; font-weight: 600; }
p { margin: 0 0 16px; }
.lead { color: var(--muted); overflow-wrap: anywhere; }
.lead strong, .who strong { color: var(--text); font-weight: 600; }
.who {
  font-size: 14px; color: var(--muted); padding: 8px 12px; border-radius: 8px;
  background: var(--code-bg); overflow-wrap: anywhere;
}
.alert {
  margin: 0 0 16px; padding: 10px 12px; border-radius: 8px; font-size: 15px;
  background: var(--alert-bg); color: var(--alert-text); border: 1px solid var(--alert-line);
  border-left-width: 4px;
}
.field { margin: 0 0 16px; }
label { display: block; font-weight: 600; font-size: 14px; margin: 0 0 6px; }
input[type="text"], input[type="password"] {
  display: block; width: 100%; font: inherit; font-size: 16px; color: var(--text);
  background: var(--card); border: 1px solid var(--field); border-radius: 8px;
  padding: 10px 12px; min-height: 44px;
}
input[aria-invalid="true"] { border-color: var(--alert-line); }
input:focus { border-color: var(--accent); }
input:focus-visible, button:focus-visible, a:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.scopes { list-style: none; margin: 0 0 20px; padding: 0; border-top: 1px solid var(--line); }
.scopes li {
  padding: 10px 0 10px 26px; border-bottom: 1px solid var(--line); position: relative;
  overflow-wrap: anywhere;
}
.scopes li::before {
  content: ""; position: absolute; left: 4px; top: 18px; width: 8px; height: 8px;
  border-radius: 50%; background: var(--accent);
}
code {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px;
  background: var(--code-bg); padding: 1px 6px; border-radius: 4px;
}
.button {
  display: inline-flex; align-items: center; justify-content: center; min-height: 44px;
  padding: 10px 18px; font: inherit; font-weight: 600; border-radius: 8px; cursor: pointer;
  border: 1px solid transparent;
}
.wide { width: 100%; margin-top: 8px; }
.primary { background: var(--accent); color: var(--on-accent); }
.primary:hover { background: var(--accent-hover); }
.secondary { background: transparent; color: var(--text); border-color: var(--field); }
.secondary:hover { background: var(--code-bg); }
.actions { display: flex; gap: 12px; flex-wrap: wrap; }
.actions .button { flex: 1 1 120px; }
@media (max-width: 480px) {
  body { align-items: flex-start; padding: 16px 12px; }
  .card { padding: 24px 18px; border-radius: 10px; }
}
@media (forced-colors: active) {
  .mark { forced-color-adjust: none; background: CanvasText; }
  .scopes li::before { forced-color-adjust: none; background: CanvasText; }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

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
        let html = login(&LoginPage {
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
        let empty = login(&base);
        let form = tag(&empty, "login-form");
        assert!(form.starts_with("<form"));
        assert!(form.contains("method=\"post\""));
        assert!(form.contains("action=\"/login\""));
        let user = tag(&empty, "username");
        assert!(user.starts_with("<input"));
        assert!(user.contains("name=\"username\""));
        assert!(user.contains("autocomplete=\"username\""));
        assert!(user.contains(" required"));
        assert!(user.contains(" autofocus"));
        let pass = tag(&empty, "password");
        assert!(pass.contains("type=\"password\""));
        assert!(pass.contains("name=\"password\""));
        assert!(pass.contains("autocomplete=\"current-password\""));
        assert!(pass.contains(" required"));
        assert!(!pass.contains("autofocus"));
        assert!(empty.contains("<label for=\"username\">"));
        assert!(empty.contains("<label for=\"password\">"));
        assert!(empty.contains("<button type=\"submit\" id=\"sign-in\""));
        assert!(empty.contains(">Sign in</button>"));
        assert!(!empty.contains("role=\"alert\""));
        assert!(!user.contains("aria-invalid"));
        assert!(!pass.contains("aria-describedby"));
        assert_hidden_fields_plain(&empty, "tok");

        let prefilled = login(&LoginPage {
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
        let html = consent(&ConsentPage {
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
        assert!(html.contains("<li>Confirm your identity</li>"));
        assert!(html.contains("<li>Your name and username</li>"));
        assert!(html.contains("<li>Your e-mail address</li>"));
        assert!(html.contains("<li>Stay signed in (access while you are away)</li>"));
        assert!(html.contains("<li><code>orders:read</code></li>"));
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
        let html = logout_confirm(&LogoutPage {
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

        let anonymous = logout_confirm(&LogoutPage {
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
        let out = logged_out();
        assert_common(&out, "Signed out");
        assert!(out.contains("<h1 id=\"logged-out\">You are signed out.</h1>"));

        let err = error(HOSTILE, HOSTILE);
        assert_no_raw_hostile(&err);
        assert!(err.contains(&format!("<title>{HOSTILE_ESCAPED} · auth-server</title>")));
        assert!(err.contains(&format!("<h1 id=\"error-title\">{HOSTILE_ESCAPED}</h1>")));
        assert!(!err.contains("<form"));
        assert!(!err.contains("<input"));

        let plain = error("Invalid request", "The client is unknown.");
        assert_common(&plain, "Invalid request");
        assert!(plain.contains("The client is unknown."));
    }

    #[test]
    fn html_sets_every_header() {
        let res = html(StatusCode::BAD_REQUEST, logged_out());
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
}
