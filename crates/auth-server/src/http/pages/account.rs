//! The account pages: the account itself (`/account`: password, sign-in methods, sessions, apps),
//! its sign-in page and the re-authentication page. Server-rendered like the other pages (no
//! JavaScript, the same stylesheet and CSP), each form with its CSRF field.

use askama::Template;

use super::account_text::{AccountText, Notice};
use super::text::Text;
use super::views::Chrome;
use super::{Hidden, Ui};
use crate::domain::account::{AppLine, Overview, POLICY, SessionLine};

/// Extra rules of the account pages, appended to the stylesheet: a wider card, the lists.
const ACCOUNT_CSS: &str = "\
.shell { max-width: 640px; }
section { border-top: 1px solid var(--line); margin-top: 24px; padding-top: 4px; }
.items { list-style: none; margin: 0; padding: 0; }
.items li { padding: 12px 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.items li:last-child { border-bottom: 0; }
.meta { color: var(--muted); font-size: 14px; margin: 2px 0 8px; }
.badge { font-size: 13px; font-weight: 600; padding: 1px 8px; border-radius: 999px;
  background: var(--code-bg); margin-left: 6px; }
.status { margin: 0 0 16px; padding: 10px 12px; border-radius: 8px; font-size: 15px;
  background: var(--code-bg); border: 1px solid var(--line); border-left: 4px solid var(--accent); }
a { color: var(--accent); }
.inline { display: inline; }
";

/// The URLs the account page's forms and links go to.
#[derive(Debug, Clone)]
pub struct AccountLinks {
    /// `POST` a new password.
    pub password: String,
    /// `POST` to end a session (field `session`).
    pub end_session: String,
    /// `POST` to withdraw an app's access (field `client`).
    pub withdraw: String,
    /// The sign-in methods page.
    pub methods: String,
    /// The sign-out page.
    pub logout: String,
}

/// What the account page shows.
#[derive(Debug, Clone, Copy)]
pub struct AccountPage<'a> {
    /// The user, sessions and apps.
    pub overview: &'a Overview,
    /// The CSRF token of the forms.
    pub csrf: &'a str,
    /// Where the forms go.
    pub links: &'a AccountLinks,
    /// A notice at the top (success or failure of the last action).
    pub notice: Option<Notice>,
    /// A problem with the password form, shown beside it.
    pub password_problem: Option<Notice>,
}

/// What the account sign-in and re-authentication pages show.
#[derive(Debug, Clone, Copy)]
pub struct AccountLoginPage<'a> {
    /// Prefilled user name (sign-in), or the signed-in user's (re-authentication, read-only).
    pub username: &'a str,
    /// Why the last attempt failed.
    pub problem: Option<Notice>,
    /// The CSRF token.
    pub csrf: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    /// Hidden fields (`next`).
    pub hidden: &'a Hidden,
}

/// One session as the template shows it.
struct SessionRow<'a> {
    line: &'a SessionLine,
    device: &'a str,
    created: Stamp,
    last: Stamp,
}

/// One app as the template shows it.
struct AppRow<'a> {
    line: &'a AppLine,
    scopes: Vec<&'a str>,
    allowed: Option<Stamp>,
    since: Option<Stamp>,
}

/// A time shown as `2026-11-30 14:05 UTC`, with its machine-readable form for `<time>`.
struct Stamp {
    text: String,
    iso: String,
}

impl Stamp {
    fn of(unix: i64) -> Self {
        match time::OffsetDateTime::from_unix_timestamp(unix) {
            Ok(t) => {
                let (date, hm) = (
                    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
                    format!("{:02}:{:02}", t.hour(), t.minute()),
                );
                Self {
                    text: format!("{date} {hm} UTC"),
                    iso: format!("{date}T{hm}Z"),
                }
            }
            Err(_) => Self {
                text: unix.to_string(),
                iso: String::new(),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountTemplate<'a> {
    c: Chrome<'a>,
    a: &'static AccountText,
    p: &'a AccountPage<'a>,
    notice: Option<(&'static str, bool)>,
    password_problem: Option<&'static str>,
    min_chars: usize,
    sessions: Vec<SessionRow<'a>>,
    apps: Vec<AppRow<'a>>,
}

#[derive(Template)]
#[template(path = "account_login.html")]
struct AccountLoginTemplate<'a> {
    c: Chrome<'a>,
    t: &'static Text,
    a: &'static AccountText,
    p: &'a AccountLoginPage<'a>,
    problem: Option<&'static str>,
    reauth: bool,
}

impl Ui<'_> {
    /// The chrome of an account page: the accent overrides plus the account rules.
    fn account_css(&self) -> String {
        format!("{}{ACCOUNT_CSS}", self.pages.accent_css)
    }

    /// The account page: sections `password` (form `password-form`), `methods`, `sessions` (one
    /// form per session, button `end-<n>`) and `apps` (one form per app, button `withdraw-<n>`).
    pub fn account(&self, p: &AccountPage<'_>) -> String {
        let (t, a, lang) = (self.text(), AccountText::of(self.lang()), self.lang());
        let css = self.account_css();
        let mut c = self.chrome(a.title);
        c.accent_css = &css;
        let sessions = p
            .overview
            .sessions
            .iter()
            .map(|s| SessionRow {
                line: s,
                device: s.device.as_deref().unwrap_or(a.unknown_device),
                created: Stamp::of(s.created_at),
                last: Stamp::of(s.last_seen_at),
            })
            .collect();
        let apps = p
            .overview
            .apps
            .iter()
            .map(|app| AppRow {
                line: app,
                scopes: app
                    .scopes
                    .iter()
                    .map(|s| t.scope(s).unwrap_or(s.as_str()))
                    .collect(),
                allowed: app.consented_at.map(Stamp::of),
                since: app.grant_since.map(Stamp::of),
            })
            .collect();
        super::render_any(&AccountTemplate {
            c,
            a,
            p,
            notice: p.notice.map(|n| (n.text(lang), n.is_success())),
            password_problem: p.password_problem.map(|n| n.text(lang)),
            min_chars: POLICY.0,
            sessions,
            apps,
        })
    }

    /// The account sign-in page (`reauth` false: form `account-login-form` with `username` and
    /// `password`) or the re-authentication page (`reauth` true: form `reauth-form` with
    /// `password` only); the button is `sign-in`.
    pub fn account_login(&self, p: &AccountLoginPage<'_>, reauth: bool) -> String {
        let (t, a) = (self.text(), AccountText::of(self.lang()));
        let css = self.account_css();
        let mut c = self.chrome(if reauth { a.reauth_title } else { t.sign_in });
        c.accent_css = &css;
        super::render_any(&AccountLoginTemplate {
            c,
            t,
            a,
            p,
            problem: p.problem.map(|n| n.text(self.lang())),
            reauth,
        })
    }
}
