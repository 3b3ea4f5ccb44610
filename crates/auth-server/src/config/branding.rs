//! `[branding]`: the product name, logo and accent colour of the sign-in, consent, sign-out and
//! error pages. Every key is optional; the defaults render the pages as shipped.
//!
//! Values are checked when the configuration loads, so a page never has to: the colours are
//! `#rrggbb` (they go into the page's stylesheet), the logo is an `https:` or `data:image/` URL
//! made only of characters that are safe in an attribute and in a `Content-Security-Policy`
//! source (it is added to `img-src`, see `http::pages`).

use serde::Deserialize;

/// The product name when none is configured.
pub const DEFAULT_PRODUCT_NAME: &str = "auth-server";

/// `[branding]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandingConfig {
    /// Shown at the top of every page and in every `<title>`, and in "sign out of {name}".
    pub product_name: String,
    /// A logo shown instead of the built-in mark: `https://...` or `data:image/...`; empty for
    /// the built-in mark.
    pub logo_url: String,
    /// The accent colour (buttons, links, focus rings) as `#rrggbb`; empty for the built-in blue.
    pub accent_color: String,
    /// The accent colour in dark mode (`prefers-color-scheme: dark`); empty for `accent_color`,
    /// or the built-in light blue when that is empty too.
    pub accent_color_dark: String,
}

impl Default for BrandingConfig {
    fn default() -> Self {
        Self {
            product_name: DEFAULT_PRODUCT_NAME.to_owned(),
            logo_url: String::new(),
            accent_color: String::new(),
            accent_color_dark: String::new(),
        }
    }
}

/// A colour `#rrggbb`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// Parses `#rrggbb` (either case); nothing else.
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Self([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl BrandingConfig {
    /// The configured accent colour, if any (validated at load).
    pub fn accent(&self) -> Option<Rgb> {
        Rgb::parse(&self.accent_color)
    }

    /// The configured dark-mode accent colour, else the configured accent colour.
    pub fn accent_dark(&self) -> Option<Rgb> {
        Rgb::parse(&self.accent_color_dark).or_else(|| self.accent())
    }

    /// The logo URL, if one is configured.
    pub fn logo(&self) -> Option<&str> {
        Some(self.logo_url.as_str()).filter(|u| !u.is_empty())
    }

    /// Checks every value; the error names the key and says what is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let name = self.product_name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err((
                "branding.product_name",
                "must be 1 to 64 characters, without control characters".to_owned(),
            ));
        }
        for (key, value) in [
            ("branding.accent_color", &self.accent_color),
            ("branding.accent_color_dark", &self.accent_color_dark),
        ] {
            if !value.is_empty() && Rgb::parse(value).is_none() {
                return Err((
                    key,
                    format!("must be a colour written #rrggbb (e.g. \"#1d4ed8\"), not {value:?}"),
                ));
            }
        }
        if let Some(url) = self.logo()
            && let Err(problem) = check_logo_url(url)
        {
            return Err(("branding.logo_url", problem.to_owned()));
        }
        Ok(())
    }
}

/// A logo URL must be `https://host/...` or `data:image/...`, at most 4096 characters of
/// printable ASCII without space, quotes, `<`, `>`, `\\` or `` ` `` (it is written into an
/// attribute); an https one also without `;` or `,`, because it goes into the CSP header too, where
/// they separate directives and policies.
fn check_logo_url(url: &str) -> Result<(), &'static str> {
    if url.len() > 4096 {
        return Err("must be at most 4096 characters");
    }
    let forbidden = |b: u8| !b.is_ascii_graphic() || b"\"'<>\\`".contains(&b);
    if url.bytes().any(forbidden) {
        return Err(
            "must be printable ASCII without spaces, quotes, <, >, \\ or ` (percent-encode them)",
        );
    }
    if let Some(rest) = url.strip_prefix("https://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || host.contains('@') {
            return Err("must name a host (and no user name): https://host/path");
        }
        if url.contains([';', ',']) {
            return Err("must not contain ; or , (percent-encode them)");
        }
        return Ok(());
    }
    if url.starts_with("data:image/") {
        return Ok(());
    }
    Err("must start with https:// or data:image/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut BrandingConfig)) -> Result<(), (&'static str, String)> {
        let mut b = BrandingConfig::default();
        f(&mut b);
        b.validate()
    }

    #[test]
    fn defaults_are_valid_and_plain() {
        let b = BrandingConfig::default();
        assert_eq!(b.validate(), Ok(()));
        assert_eq!(b.product_name, "auth-server");
        assert_eq!((b.accent(), b.accent_dark(), b.logo()), (None, None, None));
    }

    #[test]
    fn colours_are_rrggbb() {
        assert_eq!(Rgb::parse("#1d4ED8"), Some(Rgb([0x1d, 0x4e, 0xd8])));
        for bad in [
            "1d4ed8", "#1d4ed", "#1d4ed8f", "#12345g", "blue", "#fff", "# 1d4ed",
        ] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
            let e = with(|b| b.accent_color = bad.to_owned());
            assert_eq!(e.map_err(|(k, _)| k), Err("branding.accent_color"), "{bad}");
            let e = with(|b| b.accent_color_dark = bad.to_owned());
            assert_eq!(e.map_err(|(k, _)| k), Err("branding.accent_color_dark"));
        }
        let mut b = BrandingConfig {
            accent_color: "#0A7f3c".to_owned(),
            ..Default::default()
        };
        assert_eq!(b.validate(), Ok(()));
        assert_eq!(b.accent_dark(), Some(Rgb([0x0a, 0x7f, 0x3c])));
        b.accent_color_dark = "#ffffff".to_owned();
        assert_eq!(b.accent_dark(), Some(Rgb([255, 255, 255])));
    }

    #[test]
    fn product_name_and_logo_are_checked() {
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(65)] {
            let e = with(|b| b.product_name = bad.to_owned());
            assert_eq!(
                e.map_err(|(k, _)| k),
                Err("branding.product_name"),
                "{bad:?}"
            );
        }
        assert_eq!(
            with(|b| b.product_name = "Ünïcode Login".to_owned()),
            Ok(())
        );
        for good in [
            "https://cdn.example.com/logo.svg",
            "https://cdn.example.com/a/logo.png?v=2",
            "data:image/png;base64,iVBORw0KGgo=",
        ] {
            assert_eq!(with(|b| b.logo_url = good.to_owned()), Ok(()), "{good}");
        }
        for bad in [
            "http://cdn.example.com/logo.png",
            "javascript:alert(1)",
            "https:///logo.png",
            "https://user@cdn.example.com/x.png",
            "https://cdn.example.com/a b.png",
            "https://cdn.example.com/x.png\"onerror=\"x",
            "https://cdn.example.com/x.png;script-src",
            "https://cdn.example.com/x.png,https://evil.example",
            "data:text/html,<script>",
        ] {
            let e = with(|b| b.logo_url = bad.to_owned());
            assert_eq!(e.map_err(|(k, _)| k), Err("branding.logo_url"), "{bad}");
        }
    }
}

#[cfg(test)]
mod load_tests {
    use crate::config::{Config, ConfigError};

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_toml_and_env(toml, env)
    }

    #[test]
    fn branding_loads_from_file_and_environment() {
        let c = load("", &[]).map(|c| c.branding);
        assert_eq!(c.ok(), Some(super::BrandingConfig::default()));
        let c = load(
            "[branding]\nproduct_name = \"Acme\"\naccent_color = \"#0f766e\"\n",
            &[(
                "AUTH_SERVER_BRANDING_LOGO_URL",
                "https://cdn.example.com/l.svg",
            )],
        )
        .map(|c| c.branding);
        let Ok(b) = c else {
            panic!("{c:?}");
        };
        assert_eq!(b.product_name, "Acme");
        assert_eq!(b.accent_color, "#0f766e");
        assert_eq!(b.logo(), Some("https://cdn.example.com/l.svg"));
    }

    #[test]
    fn bad_branding_is_a_clear_config_error() {
        let e = load("[branding]\naccent_color = \"blue\"\n", &[]).map_err(|e| e.to_string());
        assert_eq!(
            e.err().as_deref(),
            Some(
                "invalid configuration: `branding.accent_color` must be a colour written \
                 #rrggbb (e.g. \"#1d4ed8\"), not \"blue\""
            )
        );
        let e = load(
            "",
            &[("AUTH_SERVER_BRANDING_LOGO_URL", "http://x.example/l.png")],
        );
        assert!(
            matches!(
                e,
                Err(ConfigError::Invalid {
                    key: "branding.logo_url",
                    ..
                })
            ),
            "{e:?}"
        );
        let e = load("[branding]\ncolour = \"#000000\"\n", &[]);
        assert!(
            matches!(e, Err(ConfigError::Parse(_))),
            "unknown key: {e:?}"
        );
    }
}
