//! The pages' words: one [`Text`] per language, and the translations of the messages that
//! handlers and the domain pass in English (error titles and messages, sign-in problems).
//!
//! A sentence around a dynamic value is split into the pieces before and after it (`.0`, `.1`,
//! `.2`), so each language keeps its own word order. Messages are looked up by their English text,
//! as gettext does with its msgids; one without a translation is shown in English.

use super::lang::Lang;

/// Every string of every page in one language.
#[derive(Debug)]
pub struct Text {
    /// Sign-in page title, heading and button.
    pub sign_in: &'static str,
    /// "Sign in to continue to {client}".
    pub continue_to: (&'static str, &'static str),
    /// The user-name label.
    pub username: &'static str,
    /// The password label.
    pub password: &'static str,
    /// Consent page title.
    pub consent_title: &'static str,
    /// Consent page heading.
    pub consent_heading: &'static str,
    /// "{client} wants to access your account."
    pub wants_access: (&'static str, &'static str),
    /// "Signed in as {user}".
    pub signed_in_as: (&'static str, &'static str),
    /// Heading of the scope list.
    pub requested_access: &'static str,
    /// The deny button.
    pub deny: &'static str,
    /// The allow button.
    pub allow: &'static str,
    /// Descriptions of the well-known scopes: `openid`, `profile`, `email`, `offline_access`.
    pub scopes: [&'static str; 4],
    /// Sign-out title and button.
    pub sign_out: &'static str,
    /// Sign-out heading.
    pub sign_out_heading: &'static str,
    /// "{client} asked to sign you out of {product}."
    pub asked_sign_out: (&'static str, &'static str, &'static str),
    /// "Do you want to sign out of {product}?"
    pub want_sign_out: (&'static str, &'static str),
    /// Signed-out title.
    pub signed_out: &'static str,
    /// Signed-out heading.
    pub signed_out_heading: &'static str,
    /// Signed-out text.
    pub close_window: &'static str,
    /// Translations of English messages: (English, this language). Empty for English.
    messages: &'static [(&'static str, &'static str)],
}

impl Text {
    /// The words of `lang`.
    pub fn of(lang: Lang) -> &'static Text {
        match lang {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }

    /// `english` in this language (itself when there is no translation).
    pub fn message<'a>(&self, english: &'a str) -> &'a str {
        self.messages
            .iter()
            .find(|(en, _)| *en == english)
            .map_or(english, |(_, t)| t)
    }

    /// The description of a well-known scope, `None` for others.
    pub fn scope(&self, scope: &str) -> Option<&'static str> {
        let i = ["openid", "profile", "email", "offline_access"]
            .iter()
            .position(|s| *s == scope)?;
        Some(self.scopes[i])
    }
}

/// Both catalogues from one table, each string beside its translation: a string without one does
/// not compile.
macro_rules! catalogues {
    ($($field:ident: $en:expr, $de:expr;)*) => {
        static EN: Text = Text { $($field: $en,)* messages: &[] };
        static DE: Text = Text { $($field: $de,)* messages: &DE_MESSAGES };
    };
}

catalogues! {
    sign_in: "Sign in", "Anmelden";
    continue_to: ("Sign in to continue to ", ""), ("Melden Sie sich an, um mit ", " fortzufahren");
    username: "Username", "Benutzername";
    password: "Password", "Passwort";
    consent_title: "Allow access", "Zugriff erlauben";
    consent_heading: "Allow access?", "Zugriff erlauben?";
    wants_access: ("", " wants to access your account."), ("", " möchte auf Ihr Konto zugreifen.");
    signed_in_as: ("Signed in as ", ""), ("Angemeldet als ", "");
    requested_access: "Requested access", "Angeforderter Zugriff";
    deny: "Deny", "Ablehnen";
    allow: "Allow", "Erlauben";
    scopes: [
        "Confirm your identity",
        "Your name and username",
        "Your e-mail address",
        "Stay signed in (access while you are away)",
    ], [
        "Ihre Identität bestätigen",
        "Ihr Name und Benutzername",
        "Ihre E-Mail-Adresse",
        "Angemeldet bleiben (Zugriff auch während Ihrer Abwesenheit)",
    ];
    sign_out: "Sign out", "Abmelden";
    sign_out_heading: "Sign out?", "Abmelden?";
    asked_sign_out: ("", " asked to sign you out of ", "."),
        ("", " hat darum gebeten, Sie von ", " abzumelden.");
    want_sign_out: ("Do you want to sign out of ", "?"), ("Möchten Sie sich von ", " abmelden?");
    signed_out: "Signed out", "Abgemeldet";
    signed_out_heading: "You are signed out.", "Sie sind abgemeldet.";
    close_window: "You can close this window.", "Sie können dieses Fenster schließen.";
}

/// The English messages handlers and the domain show on pages, with their German text.
pub(super) const DE_MESSAGES: [(&str, &str); 20] = [
    // Error titles.
    (
        "This sign-in link is not valid",
        "Dieser Anmeldelink ist ungültig",
    ),
    (
        "This sign-out link is not valid",
        "Dieser Abmeldelink ist ungültig",
    ),
    ("This request is not valid", "Diese Anfrage ist ungültig"),
    ("This form has expired", "Dieses Formular ist abgelaufen"),
    ("Temporarily unavailable", "Vorübergehend nicht verfügbar"),
    ("The service is busy", "Der Dienst ist ausgelastet"),
    // Error messages.
    (
        "The service is busy. Please go back and try again in a moment.",
        "Der Dienst ist ausgelastet. Bitte gehen Sie zurück und versuchen Sie es gleich noch einmal.",
    ),
    (
        "The request could not be read. Go back to the application and try again.",
        "Die Anfrage konnte nicht gelesen werden. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.",
    ),
    (
        "For your security, the form could not be accepted. Go back to the application and sign in again.",
        "Zu Ihrer Sicherheit konnte das Formular nicht angenommen werden. Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.",
    ),
    (
        "The service is temporarily unavailable. Please try again in a moment.",
        "Der Dienst ist vorübergehend nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.",
    ),
    (
        "The sign-out request could not be read.",
        "Die Abmeldeanfrage konnte nicht gelesen werden.",
    ),
    (
        "The application sent a sign-out request that is not valid.",
        "Die Anwendung hat eine ungültige Abmeldeanfrage gesendet.",
    ),
    (
        "The application asked to return you to an address it has not registered.",
        "Die Anwendung wollte Sie an eine Adresse zurückleiten, die sie nicht registriert hat.",
    ),
    (
        "The application that sent you here is not registered or is disabled.",
        "Die Anwendung, die Sie hierher geschickt hat, ist nicht registriert oder deaktiviert.",
    ),
    (
        "The application did not say where to return you (redirect_uri is missing).",
        "Die Anwendung hat nicht angegeben, wohin Sie zurückkehren sollen (redirect_uri fehlt).",
    ),
    (
        "This consent page has expired or was already answered. Go back to the application and start again.",
        "Diese Zustimmungsseite ist abgelaufen oder wurde bereits beantwortet. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.",
    ),
    // Sign-in problems.
    (
        "Invalid username or password.",
        "Benutzername oder Passwort ist falsch.",
    ),
    (
        "Too many failed attempts. Wait a few minutes, then try again.",
        "Zu viele fehlgeschlagene Versuche. Warten Sie einige Minuten und versuchen Sie es dann erneut.",
    ),
    (
        "This account has had many failed sign-ins. Please try again in a moment.",
        "Für dieses Konto gab es viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es gleich noch einmal.",
    ),
    (
        "The service is busy. Please try again in a moment.",
        "Der Dienst ist ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
    ),
];
