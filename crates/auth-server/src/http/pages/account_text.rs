//! The account pages' words, in English and German (the shared ones, such as "Username", are in
//! `super::text`). Built like that catalogue: each string beside its translation.

use super::lang::Lang;

/// Every string of the account pages in one language.
#[derive(Debug)]
pub struct AccountText {
    /// Page title and heading.
    pub title: &'static str,
    /// "Signed in as {name}".
    pub signed_in_as: (&'static str, &'static str),
    /// The account sign-in page's lead.
    pub login_lead: &'static str,
    /// Password section heading and button.
    pub change_password: &'static str,
    /// Labels of the password fields.
    pub current_password: &'static str,
    /// "New password".
    pub new_password: &'static str,
    /// "Repeat the new password".
    pub repeat_password: &'static str,
    /// "At least {n} characters. ..."
    pub password_hint: (&'static str, &'static str),
    /// Sign-in methods section.
    pub methods: &'static str,
    /// Its text.
    pub methods_text: &'static str,
    /// Its link.
    pub methods_link: &'static str,
    /// Sessions section.
    pub sessions: &'static str,
    /// A session without a `User-Agent`.
    pub unknown_device: &'static str,
    /// The current session's mark.
    pub this_device: &'static str,
    /// "Address".
    pub address: &'static str,
    /// "Signed in".
    pub signed_in: &'static str,
    /// "Last active".
    pub last_active: &'static str,
    /// The button that ends another session.
    pub end_session: &'static str,
    /// The button that ends this session.
    pub sign_out_here: &'static str,
    /// Apps section.
    pub apps: &'static str,
    /// No app has access.
    pub no_apps: &'static str,
    /// "Allowed".
    pub allowed: &'static str,
    /// "Signed in since" (the oldest live grant).
    pub access_since: &'static str,
    /// The withdraw button.
    pub withdraw: &'static str,
    /// Re-authentication title and heading.
    pub reauth_title: &'static str,
    /// Its lead.
    pub reauth_lead: &'static str,
    /// Its button.
    pub continue_button: &'static str,
    /// The second-factor field of the sign-in and re-authentication forms.
    pub code_label: &'static str,
    /// The sign-out link.
    pub sign_out: &'static str,
}

impl AccountText {
    /// The words of `lang`.
    pub fn of(lang: Lang) -> &'static AccountText {
        match lang {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }
}

/// Both catalogues from one table.
macro_rules! catalogues {
    ($($field:ident: $en:expr, $de:expr;)*) => {
        static EN: AccountText = AccountText { $($field: $en,)* };
        static DE: AccountText = AccountText { $($field: $de,)* };
    };
}

catalogues! {
    title: "Your account", "Ihr Konto";
    signed_in_as: ("Signed in as ", ""), ("Angemeldet als ", "");
    login_lead: "Sign in to manage your account.", "Melden Sie sich an, um Ihr Konto zu verwalten.";
    change_password: "Change password", "Passwort ändern";
    current_password: "Current password", "Aktuelles Passwort";
    new_password: "New password", "Neues Passwort";
    repeat_password: "Repeat the new password", "Neues Passwort wiederholen";
    password_hint: (
        "At least ",
        " characters. Your other sessions end, and apps must sign you in again.",
    ), (
        "Mindestens ",
        " Zeichen. Ihre anderen Sitzungen werden beendet, und Anwendungen müssen Sie erneut anmelden.",
    );
    methods: "Sign-in methods", "Anmeldemethoden";
    methods_text: "Second factors, authenticator apps, passkeys and security keys.",
        "Zweite Faktoren, Authenticator-Apps, Passkeys und Sicherheitsschlüssel.";
    methods_link: "Manage sign-in methods", "Anmeldemethoden verwalten";
    sessions: "Where you are signed in", "Wo Sie angemeldet sind";
    unknown_device: "Unknown device", "Unbekanntes Gerät";
    this_device: "This device", "Dieses Gerät";
    address: "Address", "Adresse";
    signed_in: "Signed in", "Angemeldet";
    last_active: "Last active", "Zuletzt aktiv";
    end_session: "End session", "Sitzung beenden";
    sign_out_here: "Sign out here", "Hier abmelden";
    apps: "Apps with access", "Anwendungen mit Zugriff";
    no_apps: "No app has access to your account.", "Keine Anwendung hat Zugriff auf Ihr Konto.";
    allowed: "Allowed", "Erlaubt";
    access_since: "Signed in since", "Angemeldet seit";
    withdraw: "Withdraw access", "Zugriff entziehen";
    reauth_title: "Confirm it's you", "Bestätigen Sie Ihre Identität";
    reauth_lead: "For your security, enter your password again to continue.",
        "Geben Sie zu Ihrer Sicherheit Ihr Passwort erneut ein, um fortzufahren.";
    continue_button: "Continue", "Weiter";
    code_label: "Authenticator or recovery code (if you set up two-step sign-in)",
        "Code aus der Authenticator-App oder Wiederherstellungscode (falls eingerichtet)";
    sign_out: "Sign out", "Abmelden";
}

/// What the account pages tell the user after an action, or why it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The password was changed.
    PasswordChanged,
    /// A session was ended.
    SessionEnded,
    /// An app's access was withdrawn.
    Withdrawn,
    /// The current password (or the one re-entered) was wrong.
    WrongPassword,
    /// Too many failures from here.
    Locked,
    /// The account is slowed down.
    Slowed,
    /// Too many password checks at once.
    Busy,
    /// The new password does not meet the policy.
    Weak,
    /// The two new passwords differ.
    Mismatch,
    /// The session ended or the password changed elsewhere meanwhile.
    Gone,
    /// Nothing to end or withdraw (already done, or not yours).
    NotFound,
    /// The password was right; the second factor's code is needed too.
    CodeNeeded,
    /// The second factor's code was wrong or already used.
    CodeRejected,
}

impl Notice {
    /// Every notice that reports success (shown as a status, not an alert).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Self::PasswordChanged | Self::SessionEnded | Self::Withdrawn
        )
    }

    /// The query value of a success notice carried through a redirect (`?done=`).
    pub fn code(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password",
            Self::SessionEnded => "session",
            Self::Withdrawn => "withdrawn",
            _ => "",
        }
    }

    /// The success notice of a `?done=` value.
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::PasswordChanged, Self::SessionEnded, Self::Withdrawn]
            .into_iter()
            .find(|n| n.code() == code)
    }

    /// The text in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        let (en, de) = match self {
            Self::PasswordChanged => (
                "Your password was changed. Your other sessions have ended.",
                "Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden beendet.",
            ),
            Self::SessionEnded => ("The session has ended.", "Die Sitzung wurde beendet."),
            Self::Withdrawn => (
                "The app's access was withdrawn.",
                "Der Zugriff der Anwendung wurde entzogen.",
            ),
            Self::WrongPassword => ("The password is not correct.", "Das Passwort ist falsch."),
            Self::CodeNeeded => (
                "Enter the code from your authenticator app (or a recovery code) as well.",
                "Geben Sie auch den Code aus Ihrer Authenticator-App (oder einen Wiederherstellungscode) ein.",
            ),
            Self::CodeRejected => (
                "The code is not correct or was already used.",
                "Der Code ist falsch oder wurde schon verwendet.",
            ),
            Self::Locked => (
                "Too many failed attempts. Wait a few minutes, then try again.",
                "Zu viele fehlgeschlagene Versuche. Warten Sie einige Minuten und versuchen Sie es dann erneut.",
            ),
            Self::Slowed => (
                "This account has had many failed sign-ins. Please try again in a moment.",
                "Für dieses Konto gab es viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es gleich noch einmal.",
            ),
            Self::Busy => (
                "The service is busy. Please try again in a moment.",
                "Der Dienst ist ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
            ),
            Self::Weak => (
                "The new password does not meet the rules below.",
                "Das neue Passwort erfüllt die Regeln unten nicht.",
            ),
            Self::Mismatch => (
                "The two new passwords are not the same.",
                "Die beiden neuen Passwörter stimmen nicht überein.",
            ),
            Self::Gone => (
                "Your session or password changed meanwhile. Nothing was changed; please try again.",
                "Ihre Sitzung oder Ihr Passwort hat sich inzwischen geändert. Es wurde nichts geändert; bitte versuchen Sie es erneut.",
            ),
            Self::NotFound => (
                "There was nothing to end or withdraw.",
                "Es gab nichts zu beenden oder zu entziehen.",
            ),
        };
        match lang {
            Lang::En => en,
            Lang::De => de,
        }
    }
}
