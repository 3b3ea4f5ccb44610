//! The templates' contexts: one askama `Template` per file in `templates/`, checked against these
//! structs at compile time.

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

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct Login<'a> {
    pub c: Chrome<'a>,
    pub t: &'static Text,
    pub p: &'a LoginPage<'a>,
    pub error: Option<&'a str>,
}

/// One line of the consent list: a description, or a raw scope shown as code.
#[derive(Debug)]
pub(super) struct ScopeLine<'a> {
    pub text: &'a str,
    pub raw: bool,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub(super) struct Consent<'a> {
    pub c: Chrome<'a>,
    pub t: &'static Text,
    pub p: &'a ConsentPage<'a>,
    pub scopes: Vec<ScopeLine<'a>>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub(super) struct Logout<'a> {
    pub c: Chrome<'a>,
    pub t: &'static Text,
    pub p: &'a LogoutPage<'a>,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub(super) struct LoggedOut<'a> {
    pub c: Chrome<'a>,
    pub t: &'static Text,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(super) struct Error<'a> {
    pub c: Chrome<'a>,
    pub message: &'a str,
}
