//! OAuth 2.0 Form Post Response Mode (OpenID Foundation, 2015): with `response_mode=form_post` the
//! authorization response (a code, or an error, with `state` and RFC 9207 `iss`) is not put in the
//! redirect URI's query but sent as an HTML form that the browser POSTs to the redirect URI
//! ("the Authorization Server ... returns ... an HTML form ... that auto-submits itself"; §2).
//!
//! The page is the one IdP page with script: a fixed inline script that submits the form, allowed
//! by its SHA-256 hash in this page's own `Content-Security-Policy` (the global policy stays
//! without scripts). Without JavaScript the page shows a "Continue" button that submits the same
//! form. There is no `form-action` directive, as on the other pages: Chrome applies `form-action`
//! to the redirects that follow a form submission as well, so a client whose callback redirects
//! on to another origin (its app, a CDN) would be blocked after the POST; the action is the
//! validated redirect URI, and no other script can run on the page to change it.
//!
//! Every value is HTML-escaped ([`escape`]), the action included.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::Ui;
use super::escape::escape;
use super::lang::Lang;

/// The page's only script: submit the form as soon as it is parsed.
const SCRIPT: &str = r#"document.getElementById("form-post").submit();"#;

/// The page's CSP: the global one plus `script-src` for exactly [`SCRIPT`].
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'"))
});

/// The texts of the page.
struct Texts {
    title: &'static str,
    noscript: &'static str,
    button: &'static str,
}

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &Texts {
            title: "Returning to the application",
            noscript: "JavaScript is turned off. Select Continue to return to the application.",
            button: "Continue",
        },
        Lang::De => &Texts {
            title: "Zurück zur Anwendung",
            noscript: "JavaScript ist ausgeschaltet. Wählen Sie „Weiter“, um zur Anwendung zurückzukehren.",
            button: "Weiter",
        },
    }
}

/// The parts of a redirect built by `domain::sso::redirect` (`code_redirect`, `error_redirect`):
/// the redirect URI (with its own query, if it has one) and the response parameters appended to
/// it, decoded. The appended part starts at the last `?code=`, `&code=`, `?error=` or `&error=`:
/// the appended values are percent-encoded (no `&`, `=` or `?` survives in them), so that is
/// where the response begins even when the registered URI has a `code` or `error` parameter of
/// its own. `None` for anything else.
pub fn split_response(url: &str) -> Option<(&str, Vec<(String, String)>)> {
    let start = ["?code=", "&code=", "?error=", "&error="]
        .iter()
        .filter_map(|m| url.rfind(m))
        .max()?;
    let (action, query) = (&url[..start], &url[start + 1..]);
    let mut fields = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=')?;
        let v = percent_decode_str(v).decode_utf8().ok()?;
        fields.push((k.to_owned(), v.into_owned()));
    }
    Some((action, fields))
}

/// The auto-submitting form for the redirect `url`, or `None` if `url` is not an authorization
/// response (the caller then redirects as usual).
pub fn form_post(ui: &Ui<'_>, url: &str) -> Option<Response> {
    let (action, fields) = split_response(url)?;
    let mut res = ui.html(StatusCode::OK, page(ui.lang(), action, &fields));
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    Some(res)
}

/// The page's HTML.
fn page(lang: Lang, action: &str, fields: &[(String, String)]) -> String {
    let t = texts(lang);
    let mut inputs = String::new();
    for (name, value) in fields {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n\
         <form id=\"form-post\" method=\"post\" action=\"{action}\">\n{inputs}\
         <noscript><p>{noscript}</p></noscript>\n\
         <button type=\"submit\" id=\"continue\">{button}</button>\n</form>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        lang = lang.tag(),
        title = escape(t.title),
        action = escape(action),
        noscript = escape(t.noscript),
        button = escape(t.button),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::oauth_error::{ErrorCode, OAuthError};
    use crate::domain::sso::request::{code_redirect, error_redirect};

    #[test]
    fn responses_split_back_into_their_fields() {
        let url = code_redirect(
            "https://a.example/cb",
            "c0de",
            Some("s &\"<"),
            "https://idp",
        );
        let (action, fields) = split_response(&url).unwrap_or_default();
        assert_eq!(action, "https://a.example/cb");
        let want = [
            ("code", "c0de"),
            ("state", "s &\"<"),
            ("iss", "https://idp"),
        ];
        assert_eq!(
            fields,
            want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }

    #[test]
    fn a_registered_query_stays_in_the_action() {
        let cb = "https://a.example/cb?code=mine&error=x";
        let e = OAuthError::new(ErrorCode::AccessDenied, "no");
        let url = error_redirect(cb, &e, Some("error=1&code=2"), "https://idp");
        let (action, fields) = split_response(&url).unwrap_or_default();
        assert_eq!(action, cb);
        assert_eq!(fields[0], ("error".to_owned(), "access_denied".to_owned()));
        assert!(fields.contains(&("state".to_owned(), "error=1&code=2".to_owned())));
        assert_eq!(split_response("https://a.example/elsewhere"), None);
    }

    #[test]
    fn the_page_escapes_every_value() {
        let fields = [("state".to_owned(), "\"><script>x</script>".to_owned())];
        let html = page(Lang::De, "https://a.example/cb?a=1&b=\"'", &fields);
        assert!(html.contains(
            "<form id=\"form-post\" method=\"post\" action=\"https://a.example/cb?a=1&amp;b=&quot;&#39;\">"
        ));
        assert!(html.contains(
            "<input type=\"hidden\" name=\"state\" value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">"
        ));
        assert_eq!(html.matches("<script>").count(), 1, "only the fixed script");
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(html.contains("<html lang=\"de\">") && html.contains(">Weiter</button>"));
    }

    #[test]
    fn the_page_allows_only_its_own_script() {
        let pages = super::super::Pages::default();
        let ui = pages.in_lang(Lang::En);
        let url = code_redirect("https://a.example/cb", "c", Some("s"), "i");
        let Some(res) = form_post(&ui, &url) else {
            panic!("an authorization response gets a page")
        };
        assert!(form_post(&ui, "https://a.example/cb").is_none());
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let expected = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        assert!(
            csp.contains(&format!("script-src 'sha256-{expected}'")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline'; script") && !csp.contains("form-action"));
    }
}
