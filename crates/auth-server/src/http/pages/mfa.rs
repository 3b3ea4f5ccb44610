//! The second-factor page of sign-in and the `/account/mfa` page: their contexts, templates
//! (`templates/mfa_*.html`) and words (`super::mfa_text`). The QR code is an inline SVG drawn
//! by [`crate::domain::mfa::qr`], so the pages need no script and keep the strict CSP.

use askama::Template;

use super::mfa_text::MfaText;
use super::views::Chrome;
use super::{Hidden, Ui, render_any};

/// A TOTP enrollment to show: the QR code, the key as text, and the id the form sends back.
#[derive(Debug, Clone, Copy)]
pub struct EnrollView<'a> {
    /// The QR code (inline SVG made by the server, embedded unescaped).
    pub qr_svg: &'a str,
    /// The secret in base32.
    pub secret: &'a str,
    /// Sent back in the hidden field `enrollment_id`.
    pub enrollment_id: &'a str,
}

/// What the second-factor page shows: form `mfa-form` posting `code` (and `recovery_code`, when
/// the user has a factor) to `action`, with the ticket among the hidden fields.
#[derive(Debug, Clone, Copy)]
pub struct ChallengePage<'a> {
    /// Who is signing in.
    pub user_name: &'a str,
    /// Why the last answer failed.
    pub error: Option<&'a str>,
    /// The CSRF token.
    pub csrf: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    /// The request's parameters and the ticket.
    pub hidden: &'a Hidden,
    /// The enrollment, when the user has no factor yet.
    pub enroll: Option<EnrollView<'a>>,
}

/// The "Use your security key or passkey" form of the second-factor page (`key-form`, button
/// `use-key`), hidden until `webauthn.js` runs.
#[derive(Debug, Clone, Copy)]
pub struct KeyForm<'a> {
    /// Where the form posts (`/login/mfa/webauthn`).
    pub action: &'a str,
    /// Where the script fetches the options (`/login/mfa/webauthn/start`).
    pub start: &'a str,
    /// The script's URL.
    pub script: &'a str,
    /// The script's SRI value.
    pub integrity: &'a str,
}

/// What `/account/mfa` shows.
#[derive(Debug, Clone, Copy)]
pub struct AccountMfaPage<'a> {
    /// Whether TOTP is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub codes_left: u64,
    /// Whether an administrator requires MFA.
    pub required: bool,
    /// A notice at the top (in the page's language).
    pub notice: Option<&'a str>,
    /// New recovery codes, shown once.
    pub codes: Option<&'a [String]>,
    /// An enrollment waiting for its first code.
    pub enroll: Option<EnrollView<'a>>,
    /// The CSRF token.
    pub csrf: &'a str,
    /// No extra hidden fields (the shared `hidden.html` emits them).
    pub hidden: &'a Hidden,
    /// The path prefix of `/account` (the issuer's path).
    pub base: &'a str,
}

/// The MFA pages' templates.
#[derive(Template)]
enum MfaView<'a> {
    #[template(path = "mfa_challenge.html")]
    Challenge {
        c: Chrome<'a>,
        m: &'static MfaText,
        p: &'a ChallengePage<'a>,
        k: Option<KeyForm<'a>>,
        w: &'static super::webauthn_text::WebauthnText,
    },
    #[template(path = "mfa_account.html")]
    Account {
        c: Chrome<'a>,
        m: &'static MfaText,
        p: &'a AccountMfaPage<'a>,
    },
}

impl Ui<'_> {
    /// The words of the MFA pages in this page's language.
    pub fn mfa_text(&self) -> &'static MfaText {
        MfaText::of(self.lang())
    }

    /// The second-factor page.
    pub fn mfa_challenge(&self, p: &ChallengePage<'_>) -> String {
        self.mfa_challenge_with_key(p, None)
    }

    /// The second-factor page, with the security key form `k` when given.
    pub fn mfa_challenge_with_key(&self, p: &ChallengePage<'_>, k: Option<KeyForm<'_>>) -> String {
        let m = self.mfa_text();
        render_any(&MfaView::Challenge {
            c: self.chrome(m.title),
            m,
            p,
            k,
            w: self.webauthn_text(),
        })
    }

    /// The `/account/mfa` page: status, enrollment, removal and recovery codes.
    pub fn mfa_account(&self, p: &AccountMfaPage<'_>) -> String {
        let m = self.mfa_text();
        render_any(&MfaView::Account {
            c: self.chrome(m.account_title),
            m,
            p,
        })
    }
}
