//! Server-rendered HTML for the identity provider's browser pages: sign-in, consent, sign-out and
//! errors.
//!
//! The pages use no JavaScript and load nothing: one inline `<style>` block, system fonts, a CSS-only
//! product mark. Every dynamic string goes through [`escape`] before it reaches the markup, and
//! [`html`] adds the headers that keep the pages out of caches and frames.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod layout;
#[cfg(test)]
mod tests;

use layout::{PRODUCT, alert, page, push_hidden};

/// A hidden form field carrying one parameter of the original authorization request.
pub type Hidden = [(String, String)];

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
/// `Content-Security-Policy` that allows nothing but the inline style (see `CSP` for why it has no
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
