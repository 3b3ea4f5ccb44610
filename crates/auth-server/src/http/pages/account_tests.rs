//! Unit tests of the account pages: both languages, escaping of what users and clients chose
//! (names, user agents), the ids the end-to-end tests rely on, and the "current" mark.

use super::Pages;
use super::account::{AccountLinks, AccountLoginPage, AccountPage};
use super::account_text::Notice;
use super::lang::Lang;
use crate::domain::account::{AppLine, Overview, SessionLine};
use crate::domain::users::User;

const HOSTILE: &str = "\"><script>alert('x')</script>&";
const HOSTILE_ESCAPED: &str = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;";

fn overview() -> Overview {
    let session = |id: &str, current| SessionLine {
        id: id.to_owned(),
        device: Some(HOSTILE.to_owned()),
        address: Some("192.0.2.7".to_owned()),
        created_at: 1_795_996_800,
        last_seen_at: 1_795_996_860,
        current,
    };
    Overview {
        user: User {
            id: "u1".into(),
            username: "alice".into(),
            email: None,
            display_name: HOSTILE.into(),
            disabled: false,
            has_password: true,
            created_at: 0,
            updated_at: 0,
            security_stamp: 0,
        },
        sessions: vec![session("s-current", true), session("s-other", false)],
        apps: vec![AppLine {
            client_id: "partner".into(),
            name: HOSTILE.into(),
            scopes: vec!["email".into(), "weird:scope".into()],
            consented_at: Some(1_795_996_800),
            grant_since: Some(1_795_996_900),
        }],
    }
}

fn links() -> AccountLinks {
    AccountLinks {
        password: "https://idp.test/account/password".into(),
        end_session: "https://idp.test/account/sessions/end".into(),
        withdraw: "https://idp.test/account/consents/withdraw".into(),
        methods: "https://idp.test/account/mfa".into(),
        logout: "https://idp.test/logout".into(),
    }
}

fn render(lang: Lang, notice: Option<Notice>) -> String {
    let pages = Pages::default();
    let o = overview();
    let l = links();
    pages.in_lang(lang).account(&AccountPage {
        overview: &o,
        csrf: "tok",
        links: &l,
        notice,
        password_problem: Some(Notice::Weak),
    })
}

#[test]
fn the_account_page_escapes_and_marks_the_current_session() {
    let html = render(Lang::En, Some(Notice::PasswordChanged));
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains(HOSTILE_ESCAPED));
    for id in [
        "password-form",
        "password-error",
        "methods-link",
        "current-session",
        "end-1",
        "end-2",
        "withdraw-1",
        "notice",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert_eq!(html.matches("id=\"current-session\"").count(), 1);
    assert!(html.contains("role=\"status\""));
    assert!(html.contains("<time datetime=\"2026-11-30T00:00Z\">2026-11-30 00:00 UTC</time>"));
    assert!(html.contains("Your e-mail address; weird:scope"));
    assert!(html.contains("href=\"https://idp.test/account/mfa\""));
    assert!(html.contains("name=\"csrf\" value=\"tok\""));
}

#[test]
fn the_account_pages_speak_german() {
    let html = render(Lang::De, Some(Notice::WrongPassword));
    for text in [
        "lang=\"de\"",
        "Ihr Konto",
        "Passwort ändern",
        "Anmeldemethoden",
        "Dieses Gerät",
        "Zugriff entziehen",
        "Das Passwort ist falsch.",
        "Ihre E-Mail-Adresse",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(html.contains("role=\"alert\""));
    let pages = Pages::default();
    let hidden = vec![("next".to_owned(), "/account".to_owned())];
    let page = AccountLoginPage {
        username: "alice",
        problem: None,
        csrf: "tok",
        action: "https://idp.test/account/reauth",
        hidden: &hidden,
    };
    let reauth = pages.in_lang(Lang::De).account_login(&page, true);
    assert!(reauth.contains("Bestätigen Sie Ihre Identität"));
    assert!(reauth.contains("id=\"reauth-form\""));
    assert!(reauth.contains("name=\"next\" value=\"/account\""));
    assert!(!reauth.contains("name=\"username\""));
    let login = pages.in_lang(Lang::En).account_login(&page, false);
    assert!(login.contains("id=\"account-login-form\"") && login.contains("name=\"username\""));
}
