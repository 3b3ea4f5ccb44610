//! The pages' HTML escaper, used by askama for every `{{ }}` in a `.html` template (see
//! `askama.toml`): `&`, `<`, `>`, `"` and `'` become named entities (`&#39;` for the quote), so a
//! value is inert both as element text and inside a quoted attribute.
//!
//! Askama's own escaper writes numeric references (`&#60;`); this one keeps the entities the pages
//! have always used, which clients and tests that read the hidden fields expect.

use std::fmt;

/// The escaper named in `askama.toml`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut last = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[last..i])?;
            dest.write_str(entity)?;
            last = i + 1;
        }
        dest.write_str(&s[last..])
    }
}

/// `s` escaped as the templates escape it.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    // Writing to a String cannot fail.
    let _ = askama::filters::Escaper::write_escaped_str(&Html, &mut out, s);
    out
}
