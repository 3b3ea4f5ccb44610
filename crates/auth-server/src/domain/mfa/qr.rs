//! The enrollment QR code, drawn on the server as an inline SVG: the page needs no script, and the
//! strict CSP (`default-src 'none'`) applies to no inline `<svg>` element. qrcodegen (Nayuki's
//! reference encoder, no dependencies) does the encoding; this draws the modules.

use qrcodegen::{QrCode, QrCodeEcc};

/// Quiet zone around the code, in modules (ISO/IEC 18004 asks for 4).
const BORDER: i32 = 4;

/// An SVG drawing of `text` as a QR code (error correction M), or `None` if the text is too long
/// for a QR code. The SVG holds only numbers and fixed markup, so it is safe to embed unescaped.
pub fn svg(text: &str, label: &str) -> Option<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let full = size + 2 * BORDER;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + BORDER, y + BORDER));
            }
        }
    }
    // The label is the page's own text; escape it anyway.
    let label = crate::domain::mfa::qr::escape_attr(label);
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" role=\"img\" aria-label=\"{label}\" \
         viewBox=\"0 0 {full} {full}\" width=\"220\" height=\"220\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

fn escape_attr(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg() {
        let s = svg("otpauth://totp/x:y?secret=AAAA", "a \"b\"").unwrap_or_default();
        assert!(s.starts_with("<svg ") && s.ends_with("</svg>"));
        assert!(s.contains("aria-label=\"a &quot;b&quot;\""));
        assert!(s.contains("M4,4h1v1h-1z"), "finder pattern corner");
        assert!(svg(&"x".repeat(5000), "l").is_none());
    }
}
