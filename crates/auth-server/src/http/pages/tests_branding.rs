//! Unit tests of what `[branding]` and the language choice change on the pages.

use super::*;
use crate::config::{BrandingConfig, Rgb};

fn branded(f: impl FnOnce(&mut BrandingConfig)) -> Pages {
    let mut b = BrandingConfig::default();
    f(&mut b);
    assert_eq!(b.validate(), Ok(()));
    Pages::new(&b)
}

fn login_page<'a>(ui: &Ui<'_>, hidden: &'a Hidden, error: Option<&'a str>) -> String {
    ui.login(&LoginPage {
        client_name: "Shop",
        username: "",
        error,
        csrf: "tok",
        action: "/login",
        hidden,
    })
}

fn headers(accept_language: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(accept_language) {
        h.insert(header::ACCEPT_LANGUAGE, v);
    }
    h
}

#[test]
fn defaults_render_like_the_shipped_pages() {
    let pages = Pages::default();
    let html = login_page(&pages.in_lang(Lang::En), &[], None);
    assert!(html.contains("<title>Sign in · auth-server</title>"));
    assert!(html.contains(
        "<header class=\"brand\"><span class=\"mark\" aria-hidden=\"true\"></span>\
         <span class=\"name\">auth-server</span></header>"
    ));
    assert!(html.contains("--accent: #1d4ed8;"));
    assert!(html.contains("--accent: #8ab4ff;"));
    assert_eq!(pages.accent_css, "", "no override");
    assert_eq!(
        html.matches(":root {").count(),
        2,
        "the two built-in palettes only"
    );
    assert!(!html.contains("<img"));
    assert!(!html.contains("ui_locales"));
    let res = pages.in_lang(Lang::En).html(StatusCode::OK, html);
    assert_eq!(
        res.headers().get(header::CONTENT_SECURITY_POLICY),
        Some(&HeaderValue::from_static(theme::CSP))
    );
}

#[test]
fn configured_branding_appears_escaped() {
    let pages = branded(|b| {
        b.product_name = "Acme <ID> & Co".to_owned();
        b.accent_color = "#0F766E".to_owned();
        b.logo_url = "https://cdn.example.com/brand/logo.svg?v=2&x=1".to_owned();
    });
    let ui = pages.in_lang(Lang::En);
    let html = login_page(&ui, &[], None);
    assert!(html.contains("<title>Sign in · Acme &lt;ID&gt; &amp; Co</title>"));
    assert!(html.contains("<span class=\"name\">Acme &lt;ID&gt; &amp; Co</span>"));
    assert!(html.contains(
        "<img class=\"logo\" src=\"https://cdn.example.com/brand/logo.svg?v=2&amp;x=1\" alt=\"\">"
    ));
    assert!(!html.contains("class=\"mark\""));
    // The accent in both schemes (no dark one configured), with readable text on it.
    assert!(html.contains(
        ":root { --accent: #0f766e; --accent-hover: #0d645e; --focus: #0f766e; --on-accent: #ffffff; }"
    ));
    assert!(html.contains("@media (prefers-color-scheme: dark) { :root { --accent: #0f766e;"));
    assert_eq!(html.matches("<style>").count(), 1);
    let out = ui.logout_confirm(&LogoutPage {
        csrf: "t",
        action: "/logout",
        hidden: &[],
        client_name: None,
    });
    assert!(out.contains("Do you want to sign out of Acme &lt;ID&gt; &amp; Co?"));
    // The logo's URL (without its query) is the one image source besides data: URLs.
    let res = ui.html(StatusCode::OK, html);
    let csp = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(
        csp,
        "default-src 'none'; style-src 'unsafe-inline'; \
         img-src data: https://cdn.example.com/brand/logo.svg; \
         frame-ancestors 'none'; base-uri 'none'"
    );
}

#[test]
fn accent_text_colour_follows_contrast() {
    let pages = branded(|b| {
        b.accent_color = "#fde047".to_owned();
        b.accent_color_dark = "#1e3a8a".to_owned();
    });
    let css = &pages.accent_css;
    assert!(css.starts_with(":root { --accent: #fde047;"), "{css}");
    assert!(
        css.contains("--on-accent: #111827; }"),
        "dark text on yellow: {css}"
    );
    assert!(css.contains("dark) { :root { --accent: #1e3a8a;"), "{css}");
    assert!(
        css.contains("--on-accent: #ffffff; } }"),
        "white on navy: {css}"
    );
    assert!(theme::contrast(Rgb([0xfd, 0xe0, 0x47]), Rgb([0x11, 0x18, 0x27])) > 4.5);
    let data_logo = branded(|b| b.logo_url = "data:image/png;base64,AAAA".to_owned());
    assert_eq!(data_logo.csp, HeaderValue::from_static(theme::CSP));
}

#[test]
fn german_pages_say_everything_in_german() {
    let pages = Pages::default();
    let ui = pages.ui(&headers("de-DE,de;q=0.9,en;q=0.5"), None);
    assert_eq!(ui.lang(), Lang::De);
    let html = login_page(&ui, &[], Some("Invalid username or password."));
    assert!(html.contains("<html lang=\"de\">"));
    assert!(html.contains("<title>Anmelden · auth-server</title>"));
    assert!(html.contains("Melden Sie sich an, um mit <strong>Shop</strong> fortzufahren"));
    assert!(html.contains("<label for=\"username\">Benutzername</label>"));
    assert!(html.contains("id=\"login-error\">Benutzername oder Passwort ist falsch.</div>"));
    assert!(html.contains(">Anmelden</button>"));
    let scopes = ["openid".to_owned(), "orders:read".to_owned()];
    let consent = ui.consent(&ConsentPage {
        client_name: "Shop",
        user_name: "Alice",
        scopes: &scopes,
        csrf: "t",
        action: "/consent",
        hidden: &[],
    });
    assert!(consent.contains("<strong>Shop</strong> möchte auf Ihr Konto zugreifen."));
    assert!(consent.contains("<li>Ihre Identität bestätigen</li>"));
    assert!(consent.contains("<li><code>orders:read</code></li>"));
    assert!(consent.contains(">Erlauben</button>") && consent.contains(">Ablehnen</button>"));
    let out = ui.logout_confirm(&LogoutPage {
        csrf: "t",
        action: "/logout",
        hidden: &[],
        client_name: Some("Shop"),
    });
    assert!(
        out.contains("<strong>Shop</strong> hat darum gebeten, Sie von auth-server abzumelden.")
    );
    assert!(ui.logged_out().contains("Sie sind abgemeldet."));
    let err = ui.error("This form has expired", "Unknown text stays English.");
    assert!(err.contains("<h1 id=\"error-title\">Dieses Formular ist abgelaufen</h1>"));
    assert!(err.contains("Unknown text stays English."));
    assert!(ui.busy().contains("Der Dienst ist ausgelastet."));
    assert!(
        pages
            .in_lang(Lang::En)
            .busy()
            .contains("The service is busy.")
    );
    let res = ui.html(StatusCode::OK, err);
    assert_eq!(
        res.headers().get(header::CONTENT_LANGUAGE),
        Some(&HeaderValue::from_static("de"))
    );
}

#[test]
fn ui_locales_wins_and_is_carried_in_forms() {
    let pages = Pages::default();
    let ui = pages.ui(&headers("en"), Some("fr de"));
    assert_eq!(ui.lang(), Lang::De);
    let hidden = [("state".to_owned(), "s".to_owned())];
    let html = login_page(&ui, &hidden, None);
    let state = html.find("<input type=\"hidden\" name=\"state\" value=\"s\">");
    let carried = html.find("<input type=\"hidden\" name=\"ui_locales\" value=\"de\">");
    assert!(state.is_some() && carried > state, "{html}");
    // From Accept-Language the language is not pinned in the form.
    let ui = pages.ui(&headers("de"), None);
    assert!(!login_page(&ui, &hidden, None).contains("ui_locales"));
    // Neither supported: English.
    let ui = pages.ui(&headers("fr, ja;q=0.9"), Some("es"));
    assert_eq!(ui.lang(), Lang::En);
    assert!(login_page(&ui, &hidden, None).contains("<html lang=\"en\">"));
}

#[test]
fn every_message_has_a_german_text() {
    let mut seen = std::collections::HashSet::new();
    for (en, de) in text::DE_MESSAGES {
        assert!(seen.insert(en), "twice: {en}");
        assert_ne!(en, de);
        assert_eq!(Text::of(Lang::De).message(en), de);
        assert_eq!(Text::of(Lang::En).message(en), en);
    }
}
