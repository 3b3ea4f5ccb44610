//! The document shell around every page (head, brand mark, card), its one stylesheet, and the
//! markup helpers the pages share: alerts and hidden form fields.

use super::{Hidden, escape};

/// The product name shown in the mark at the top of every page and in every `<title>`.
pub(super) const PRODUCT: &str = "auth-server";

/// An error message announced to assistive technology.
pub(super) fn alert(id: &str, message: &str) -> String {
    format!(
        "<div class=\"alert\" role=\"alert\" id=\"{}\">{}</div>\n",
        escape(id),
        escape(message)
    )
}

/// The `csrf` field followed by the carried-over request parameters, in order.
pub(super) fn push_hidden(out: &mut String, csrf: &str, hidden: &Hidden) {
    push_hidden_field(out, "csrf", csrf);
    for (name, value) in hidden {
        push_hidden_field(out, name, value);
    }
}

fn push_hidden_field(out: &mut String, name: &str, value: &str) {
    out.push_str("<input type=\"hidden\" name=\"");
    out.push_str(&escape(name));
    out.push_str("\" value=\"");
    out.push_str(&escape(value));
    out.push_str("\">\n");
}

/// The document around a page's card. `title` is plain text; `body` is markup built by this module
/// with every dynamic part already escaped.
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{} · {PRODUCT}</title>\n\
         <style>{STYLE}</style>\n\
         </head>\n\
         <body>\n\
         <div class=\"shell\">\n\
         <header class=\"brand\"><span class=\"mark\" aria-hidden=\"true\"></span>\
         <span class=\"name\">{PRODUCT}</span></header>\n\
         <main class=\"card\">\n{body}</main>\n\
         </div>\n\
         </body>\n\
         </html>\n",
        escape(title)
    )
}

/// The one stylesheet. Colours meet WCAG AA in both schemes: body text and button labels at least
/// 4.5:1, input borders and focus rings at least 3:1 against the card.
const STYLE: &str = r#"
:root {
  color-scheme: light dark;
  --bg: #f3f4f6; --card: #ffffff; --text: #111827; --muted: #4b5563; --line: #e5e7eb;
  --field: #6b7280; --accent: #1d4ed8; --accent-hover: #1e40af; --on-accent: #ffffff;
  --focus: #1d4ed8; --alert-bg: #fef2f2; --alert-text: #991b1b; --alert-line: #dc2626;
  --code-bg: #f3f4f6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --card: #1a1d23; --text: #f3f4f6; --muted: #b4bcc8; --line: #2e333b;
    --field: #8b95a3; --accent: #8ab4ff; --accent-hover: #a8c7ff; --on-accent: #0b1530;
    --focus: #8ab4ff; --alert-bg: #3b1518; --alert-text: #fecaca; --alert-line: #f87171;
    --code-bg: #262a31;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; background: var(--bg); color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.5;
  display: flex; align-items: center; justify-content: center; padding: 24px 16px;
}
.shell { width: 100%; max-width: 400px; }
.brand {
  display: flex; align-items: center; justify-content: center; gap: 8px;
  margin-bottom: 20px; font-weight: 600; font-size: 15px; letter-spacing: .01em;
}
.mark {
  width: 22px; height: 22px; border-radius: 6px; flex: none;
  background: radial-gradient(circle, var(--bg) 0 3px, transparent 4px), var(--accent);
}
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 32px 28px; box-shadow: 0 1px 3px rgba(0,0,0,.06), 0 8px 24px rgba(0,0,0,.06);
}
h1 { font-size: 24px; line-height: 1.25; margin: 0 0 8px; font-weight: 650; }
h2 { font-size: 15px; margin: 20px 0 8px; font-weight: 600; }
p { margin: 0 0 16px; }
.lead { color: var(--muted); overflow-wrap: anywhere; }
.lead strong, .who strong { color: var(--text); font-weight: 600; }
.who {
  font-size: 14px; color: var(--muted); padding: 8px 12px; border-radius: 8px;
  background: var(--code-bg); overflow-wrap: anywhere;
}
.alert {
  margin: 0 0 16px; padding: 10px 12px; border-radius: 8px; font-size: 15px;
  background: var(--alert-bg); color: var(--alert-text); border: 1px solid var(--alert-line);
  border-left-width: 4px;
}
.field { margin: 0 0 16px; }
label { display: block; font-weight: 600; font-size: 14px; margin: 0 0 6px; }
input[type="text"], input[type="password"] {
  display: block; width: 100%; font: inherit; font-size: 16px; color: var(--text);
  background: var(--card); border: 1px solid var(--field); border-radius: 8px;
  padding: 10px 12px; min-height: 44px;
}
input[aria-invalid="true"] { border-color: var(--alert-line); }
input:focus { border-color: var(--accent); }
input:focus-visible, button:focus-visible, a:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.scopes { list-style: none; margin: 0 0 20px; padding: 0; border-top: 1px solid var(--line); }
.scopes li {
  padding: 10px 0 10px 26px; border-bottom: 1px solid var(--line); position: relative;
  overflow-wrap: anywhere;
}
.scopes li::before {
  content: ""; position: absolute; left: 4px; top: 18px; width: 8px; height: 8px;
  border-radius: 50%; background: var(--accent);
}
code {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px;
  background: var(--code-bg); padding: 1px 6px; border-radius: 4px;
}
.button {
  display: inline-flex; align-items: center; justify-content: center; min-height: 44px;
  padding: 10px 18px; font: inherit; font-weight: 600; border-radius: 8px; cursor: pointer;
  border: 1px solid transparent;
}
.wide { width: 100%; margin-top: 8px; }
.primary { background: var(--accent); color: var(--on-accent); }
.primary:hover { background: var(--accent-hover); }
.secondary { background: transparent; color: var(--text); border-color: var(--field); }
.secondary:hover { background: var(--code-bg); }
.actions { display: flex; gap: 12px; flex-wrap: wrap; }
.actions .button { flex: 1 1 120px; }
@media (max-width: 480px) {
  body { align-items: flex-start; padding: 16px 12px; }
  .card { padding: 24px 18px; border-radius: 10px; }
}
@media (forced-colors: active) {
  .mark { forced-color-adjust: none; background: CanvasText; }
  .scopes li::before { forced-color-adjust: none; background: CanvasText; }
}
"#;
