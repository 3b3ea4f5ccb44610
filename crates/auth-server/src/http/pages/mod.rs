//! Server-rendered HTML for the identity provider's browser pages: sign-in, consent, sign-out and
//! errors.
//!
//! The pages are askama templates (`templates/`, checked at compile time) with every `{{ }}`
//! HTML-escaped ([`escape()`]). They use no JavaScript (but the `response_mode=form_post` page's one
//! hashed script, [`form_post`]) and load nothing but an optional configured logo: one inline
//! `<style>` block, system fonts, a CSS-only product mark.
//!
//! [`Pages`] is built once from `[branding]`; per request, [`Pages::ui`] picks the language
//! ([`lang`]) and gives a [`Ui`] whose methods render the pages, and [`Ui::html`] adds the headers
//! that keep them out of caches and frames.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub mod account;
pub mod account_text;
pub mod escape;
pub mod form_post;
pub mod lang;
pub mod mfa;
mod mfa_text;
mod text;
mod theme;
mod views;
pub mod webauthn;
mod webauthn_text;

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_branding;

use askama::Template;

use super::form::Form;
use crate::config::BrandingConfig;
pub use escape::escape;
use lang::{Choice, Lang};
use text::Text;
use views::{Chrome, ScopeLine, View};

/// A hidden form field carrying one parameter of the original authorization request.
pub type Hidden = [(String, String)];

/// What the sign-in page shows.
#[derive(Debug, Clone, Copy)]
pub struct LoginPage<'a> {
    /// The client's display name: "Sign in to continue to {client_name}".
    pub client_name: &'a str,
    /// Prefilled user name (the `login_hint`, or what was typed before); may be empty.
    pub username: &'a str,
    /// An error shown above the form, in English (translated on the page), e.g. "Invalid
    /// username or password.".
    pub error: Option<&'a str>,
    /// The CSRF token, sent back in the hidden field `csrf`.
    pub csrf: &'a str,
    /// The form's action URL; the form is posted.
    pub action: &'a str,
    /// Extra hidden fields, emitted in order after `csrf`.
    pub hidden: &'a Hidden,
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

/// The pages with this server's branding; built once from `[branding]`.
#[derive(Debug, Clone)]
pub struct Pages {
    product: String,
    logo: Option<String>,
    accent_css: String,
    csp: HeaderValue,
    /// The "busy" page in each language, rendered once: a sign-in refused under load costs no
    /// rendering (see `http::authorize::login`).
    busy: [String; Lang::ALL.len()],
}

impl Default for Pages {
    fn default() -> Self {
        Self::new(&BrandingConfig::default())
    }
}

impl Pages {
    /// The pages for `branding` (validated with the configuration).
    pub fn new(branding: &BrandingConfig) -> Self {
        let logo = branding.logo().map(str::to_owned);
        let csp = HeaderValue::from_str(&theme::csp(logo.as_deref()))
            .unwrap_or(HeaderValue::from_static(theme::CSP));
        let mut pages = Self {
            product: branding.product_name.trim().to_owned(),
            logo,
            accent_css: theme::accent_css(branding.accent(), branding.accent_dark()),
            csp,
            busy: Default::default(),
        };
        pages.busy = Lang::ALL.map(|lang| {
            pages.in_lang(lang).error(
                "The service is busy",
                "The service is busy. Please go back and try again in a moment.",
            )
        });
        pages
    }

    /// The pages for one request: in the language of `ui_locales` (a request parameter, when the
    /// request has one), else of the `Accept-Language` header, else English.
    pub fn ui(&self, headers: &HeaderMap, ui_locales: Option<&str>) -> Ui<'_> {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ui {
            pages: self,
            choice: lang::choose(ui_locales, accept),
        }
    }

    /// As [`Pages::ui`], with the `ui_locales` of a request's query or form (a repeated one is
    /// ignored).
    pub fn for_form(&self, headers: &HeaderMap, form: &Form) -> Ui<'_> {
        self.ui(headers, form.single("ui_locales").ok().flatten())
    }

    /// The pages with the default branding, in English: for the rare answer that has neither the
    /// configuration nor the request at hand (a redirect whose URL is not a valid header).
    pub fn fallback() -> Ui<'static> {
        static FALLBACK: std::sync::LazyLock<Pages> = std::sync::LazyLock::new(Pages::default);
        FALLBACK.in_lang(Lang::En)
    }

    /// The pages in `lang`, whatever the request asked for.
    pub fn in_lang(&self, lang: Lang) -> Ui<'_> {
        Ui {
            pages: self,
            choice: Choice {
                lang,
                from_ui_locales: false,
            },
        }
    }
}

/// The pages for one request: branding and language. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Ui<'a> {
    pages: &'a Pages,
    choice: Choice,
}

impl<'a> Ui<'a> {
    /// The chosen language.
    pub fn lang(&self) -> Lang {
        self.choice.lang
    }

    fn text(&self) -> &'static Text {
        Text::of(self.choice.lang)
    }

    fn chrome(&self, title: &'a str) -> Chrome<'a> {
        Chrome {
            lang: self.choice.lang.tag(),
            product: &self.pages.product,
            logo: self.pages.logo.as_deref(),
            accent_css: &self.pages.accent_css,
            title,
            ui_locales: self.choice.from_ui_locales.then(|| self.choice.lang.tag()),
        }
    }

    /// The sign-in page: a form `login-form` with `username`, `password` and a `sign-in` button.
    pub fn login(&self, p: &LoginPage<'_>) -> String {
        let t = self.text();
        render(&View::Login {
            c: self.chrome(t.sign_in),
            t,
            p,
            error: p.error.map(|e| t.message(e)),
        })
    }

    /// The consent page: one form `consent-form` with two submit buttons named `decision`, `allow`
    /// (value `allow`) and `deny` (value `deny`). Scopes are listed once each, in order.
    pub fn consent(&self, p: &ConsentPage<'_>) -> String {
        let t = self.text();
        let mut scopes: Vec<ScopeLine<'_>> = Vec::with_capacity(p.scopes.len());
        let mut seen: Vec<&str> = Vec::with_capacity(p.scopes.len());
        for scope in p.scopes {
            if scope.is_empty() || seen.contains(&scope.as_str()) {
                continue;
            }
            seen.push(scope);
            scopes.push(match t.scope(scope) {
                Some(text) => ScopeLine { text, raw: false },
                None => ScopeLine {
                    text: scope,
                    raw: true,
                },
            });
        }
        render(&View::Consent {
            c: self.chrome(t.consent_title),
            t,
            p,
            scopes,
        })
    }

    /// The sign-out confirmation page: "Sign out?" and a form `logout-form` with a `logout` button.
    pub fn logout_confirm(&self, p: &LogoutPage<'_>) -> String {
        let t = self.text();
        render(&View::Logout {
            c: self.chrome(t.sign_out),
            t,
            p,
        })
    }

    /// The page shown after signing out: "You are signed out." (heading id `logged-out`).
    pub fn logged_out(&self) -> String {
        let t = self.text();
        render(&View::LoggedOut {
            c: self.chrome(t.signed_out),
            t,
        })
    }

    /// A plain error page showing `title` and `message` (English, translated when the catalogue
    /// knows them) and nothing else.
    pub fn error(&self, title: &str, message: &str) -> String {
        let t = self.text();
        render(&View::Error {
            c: self.chrome(t.message(title)),
            message: t.message(message),
        })
    }

    /// The "service is busy" page, rendered when the pages were built.
    pub fn busy(&self) -> String {
        let i = Lang::ALL
            .iter()
            .position(|l| *l == self.choice.lang)
            .unwrap_or_default();
        self.pages.busy[i].clone()
    }

    /// An HTML response with the headers every IdP page needs.
    ///
    /// `Content-Type: text/html; charset=utf-8`, `Cache-Control: no-store`, `Pragma: no-cache`,
    /// `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff`
    /// and a `Content-Security-Policy` that allows nothing but the inline style and the configured
    /// logo (see `theme::CSP` for why it has no `form-action`).
    pub fn html(&self, status: StatusCode, body: String) -> Response {
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        for (name, value) in [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        h.insert(header::CONTENT_SECURITY_POLICY, self.pages.csp.clone());
        // The language of the page, for caches and clients (RFC 9110 §8.5).
        h.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(self.choice.lang.tag()),
        );
        res
    }
}

/// Renders a template. The contexts hold only strings, so rendering cannot fail; were it to, the
/// page is empty and the failure logged.
fn render(view: &View<'_>) -> String {
    render_any(view)
}

/// [`render`] for any page template (the account, MFA and WebAuthn pages have their own).
fn render_any(view: &impl Template) -> String {
    view.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "page template failed");
        String::new()
    })
}
