//! The words of the WebAuthn parts of the pages, in English and German (one table, each string
//! beside its translation, as `text.rs` does for the other pages).

use super::lang::Lang;

/// Every WebAuthn string in one language.
#[derive(Debug)]
pub struct WebauthnText {
    /// The login page's button.
    pub sign_in_with_passkey: &'static str,
    /// The second-factor page's button.
    pub use_key: &'static str,
    /// Shown when the browser's WebAuthn call failed or was cancelled.
    pub failed: &'static str,
    /// The account page's title and heading.
    pub title: &'static str,
    /// What the page is for.
    pub intro: &'static str,
    /// Shown when no key is registered.
    pub none_yet: &'static str,
    /// Column and label texts.
    pub name: &'static str,
    /// "Added".
    pub created: &'static str,
    /// "Last used".
    pub last_used: &'static str,
    /// For a key never used yet.
    pub never: &'static str,
    /// A synced passkey.
    pub synced: &'static str,
    /// A device-bound key.
    pub device_bound: &'static str,
    /// Rename button.
    pub rename: &'static str,
    /// Remove button.
    pub remove: &'static str,
    /// The add form's heading.
    pub add_heading: &'static str,
    /// The add button.
    pub add: &'static str,
    /// The name field's default.
    pub default_name: &'static str,
    /// Shown without JavaScript.
    pub needs_script: &'static str,
    /// Notices after a change.
    pub added: &'static str,
    /// "Removed".
    pub removed: &'static str,
    /// "Renamed".
    pub renamed: &'static str,
    /// Translations of the domain's English error messages: (English, this language).
    messages: &'static [(&'static str, &'static str)],
}

impl WebauthnText {
    /// The words of `lang`.
    pub fn of(lang: Lang) -> &'static WebauthnText {
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
}

macro_rules! catalogues {
    ($($field:ident: $en:expr, $de:expr;)*) => {
        static EN: WebauthnText = WebauthnText { $($field: $en,)* messages: &[] };
        static DE: WebauthnText = WebauthnText { $($field: $de,)* messages: &DE_MESSAGES };
    };
}

catalogues! {
    sign_in_with_passkey: "Sign in with a passkey", "Mit einem Passkey anmelden";
    use_key: "Use your security key or passkey", "Sicherheitsschlüssel oder Passkey verwenden";
    failed: "The passkey or security key was not used. Try again.",
        "Der Passkey oder Sicherheitsschlüssel wurde nicht verwendet. Bitte erneut versuchen.";
    title: "Passkeys and security keys", "Passkeys und Sicherheitsschlüssel";
    intro: "Sign in without a password, or confirm a sign-in, with a passkey or security key.",
        "Melden Sie sich ohne Passwort an oder bestätigen Sie eine Anmeldung mit einem Passkey oder Sicherheitsschlüssel.";
    none_yet: "No passkey or security key is registered.",
        "Es ist kein Passkey und kein Sicherheitsschlüssel registriert.";
    name: "Name", "Name";
    created: "Added", "Hinzugefügt";
    last_used: "Last used", "Zuletzt verwendet";
    never: "never", "nie";
    synced: "synced passkey", "synchronisierter Passkey";
    device_bound: "on one device", "auf einem Gerät";
    rename: "Rename", "Umbenennen";
    remove: "Remove", "Entfernen";
    add_heading: "Add a passkey or security key", "Passkey oder Sicherheitsschlüssel hinzufügen";
    add: "Add", "Hinzufügen";
    default_name: "Passkey", "Passkey";
    needs_script: "Adding a passkey needs JavaScript in this browser.",
        "Zum Hinzufügen eines Passkeys wird JavaScript in diesem Browser benötigt.";
    added: "The passkey was added.", "Der Passkey wurde hinzugefügt.";
    removed: "The passkey was removed.", "Der Passkey wurde entfernt.";
    renamed: "The passkey was renamed.", "Der Passkey wurde umbenannt.";
}

/// The domain's refusals (`WebauthnFailure`'s messages) in German.
const DE_MESSAGES: [(&str, &str); 7] = [
    (
        "the security key request expired or was already used; try again",
        "Die Anfrage an den Sicherheitsschlüssel ist abgelaufen oder wurde schon verwendet; bitte erneut versuchen",
    ),
    (
        "the security key's answer was not accepted",
        "Die Antwort des Sicherheitsschlüssels wurde nicht akzeptiert",
    ),
    (
        "this security key is registered already",
        "Dieser Sicherheitsschlüssel ist bereits registriert",
    ),
    (
        "too many security keys are registered",
        "Es sind zu viele Sicherheitsschlüssel registriert",
    ),
    (
        "the name must be 1 to 64 characters",
        "Der Name muss 1 bis 64 Zeichen lang sein",
    ),
    (
        "no such security key",
        "Diesen Sicherheitsschlüssel gibt es nicht",
    ),
    (
        "the security key's signature counter went backwards; it may have been cloned",
        "Der Signaturzähler des Sicherheitsschlüssels ist zurückgegangen; er wurde möglicherweise kopiert",
    ),
];
