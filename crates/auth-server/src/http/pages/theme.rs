//! The accent colours of `[branding]` as stylesheet overrides, and the CSP that lets a configured
//! logo load.
//!
//! The built-in palette (`templates/style.css`) stays as it is; a configured accent replaces
//! `--accent`, `--focus` and the hover shade, and the text on accent buttons becomes white or dark,
//! whichever contrasts more (WCAG 2.2 relative luminance, §1.4.3).

use crate::config::Rgb;

/// `Content-Security-Policy` for every page without a logo URL.
///
/// There is deliberately no `form-action` directive: Chrome applies `form-action` to the redirect
/// that follows a form post as well, so it would block the redirect back to the client
/// application's `redirect_uri` after sign-in or consent.
pub(super) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                              frame-ancestors 'none'; base-uri 'none'";

/// The CSP for a page showing `logo`: an https logo is allowed by its URL without query or
/// fragment (CSP 3 §2.3.1 host-source with a path); a `data:` logo is already allowed.
pub(super) fn csp(logo: Option<&str>) -> String {
    match logo.filter(|l| l.starts_with("https://")) {
        Some(url) => {
            let source = url.split(['?', '#']).next().unwrap_or(url);
            CSP.replace("img-src data:", &format!("img-src data: {source}"))
        }
        None => CSP.to_owned(),
    }
}

/// The `:root` overrides for the configured accents ("" when none is configured).
pub(super) fn accent_css(light: Option<Rgb>, dark: Option<Rgb>) -> String {
    let mut css = String::new();
    if let Some(c) = light {
        css.push_str(&format!(
            ":root {{ {} }}\n",
            vars(c, mix(c, [0, 0, 0], 15), [0xff; 3], [0x11, 0x18, 0x27])
        ));
    }
    if let Some(c) = dark {
        css.push_str(&format!(
            "@media (prefers-color-scheme: dark) {{ :root {{ {} }} }}\n",
            vars(c, mix(c, [0xff; 3], 20), [0xff; 3], [0x0b, 0x15, 0x30])
        ));
    }
    css
}

fn vars(accent: Rgb, hover: Rgb, light_text: [u8; 3], dark_text: [u8; 3]) -> String {
    let on = if contrast(accent, Rgb(light_text)) >= contrast(accent, Rgb(dark_text)) {
        light_text
    } else {
        dark_text
    };
    format!(
        "--accent: {a}; --accent-hover: {h}; --focus: {a}; --on-accent: {o};",
        a = hex(accent),
        h = hex(hover),
        o = hex(Rgb(on))
    )
}

fn hex(Rgb([r, g, b]): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// `c` moved `percent` of the way towards `to`.
fn mix(Rgb(c): Rgb, to: [u8; 3], percent: u16) -> Rgb {
    let channel =
        |a: u8, b: u8| ((u16::from(a) * (100 - percent) + u16::from(b) * percent + 50) / 100) as u8;
    Rgb([
        channel(c[0], to[0]),
        channel(c[1], to[1]),
        channel(c[2], to[2]),
    ])
}

/// WCAG 2.2 contrast ratio of two colours (1 to 21).
pub(super) fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn luminance(Rgb(c): Rgb) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.040_45 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}
