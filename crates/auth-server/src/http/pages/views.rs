//! The templates' contexts: [`View`] has one variant per page template in `templates/`, and askama
//! checks each template against its variant's fields at compile time.

use askama::Template;

use super::text::Text;
use super::{ConsentPage, LoginPage, LogoutPage};

/// What `base.html` needs: the page's language, branding and title.
#[derive(Debug, Clone, Copy)]
pub(super) struct Chrome<'a> {
    /// `<html lang>`.
    pub lang: &'static str,
    /// The product name.
    pub product: &'a str,
    /// The logo URL, if any.
    pub logo: Option<&'a str>,
    /// Accent overrides appended to the stylesheet.
    pub accent_css: &'a str,
    /// The page title (before " · {product}").
    pub title: &'a str,
    /// The language tag to carry in the forms, when `ui_locales` chose it.
    pub ui_locales: Option<&'static str>,
}

/// One line of the consent list: a description, or a raw scope shown as code.
#[derive(Debug)]
pub(super) struct ScopeLine<'a> {
    pub text: &'a str,
    pub raw: bool,
}

/// A page: each variant is rendered by its template, with its fields in scope. `c` is the chrome
/// for `base.html`, `t` the words in the page's language, `p` what the handler asked to show.
#[derive(Template)]
pub(super) enum View<'a> {
    #[template(path = "login.html")]
    Login {
        c: Chrome<'a>,
        t: &'static Text,
        p: &'a LoginPage<'a>,
        /// The translated error.
        error: Option<&'a str>,
    },
    #[template(path = "consent.html")]
    Consent {
        c: Chrome<'a>,
        t: &'static Text,
        p: &'a ConsentPage<'a>,
        /// The scopes, described and deduplicated.
        scopes: Vec<ScopeLine<'a>>,
    },
    #[template(path = "logout.html")]
    Logout {
        c: Chrome<'a>,
        t: &'static Text,
        p: &'a LogoutPage<'a>,
    },
    #[template(path = "logged_out.html")]
    LoggedOut { c: Chrome<'a>, t: &'static Text },
    #[template(path = "error.html")]
    Error {
        c: Chrome<'a>,
        /// The translated message.
        message: &'a str,
    },
}
