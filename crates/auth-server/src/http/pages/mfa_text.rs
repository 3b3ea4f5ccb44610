//! The words of the second-factor and `/account/mfa` pages, in English and German.

use super::lang::Lang;

/// Every string of the MFA pages in one language.
#[derive(Debug)]
pub struct MfaText {
    /// Title and heading of the second-factor page.
    pub title: &'static str,
    /// "Signed in as {user}".
    pub signed_in_as: (&'static str, &'static str),
    /// Asks for the code.
    pub enter_code: &'static str,
    /// The code label.
    pub code: &'static str,
    /// The recovery-code label.
    pub recovery_code: &'static str,
    /// The hint about recovery codes.
    pub recovery_hint: &'static str,
    /// The verify button.
    pub verify: &'static str,
    /// Explains the enrollment during sign-in.
    pub must_enroll: &'static str,
    /// Scan or type the key.
    pub scan: &'static str,
    /// The key label.
    pub key: &'static str,
    /// A wrong or reused code.
    pub rejected: &'static str,
    /// Too many wrong codes.
    pub locked: &'static str,
    /// Account page title.
    pub account_title: &'static str,
    /// "Authenticator app".
    pub app: &'static str,
    /// "On".
    pub on: &'static str,
    /// "Off".
    pub off: &'static str,
    /// "Recovery codes left".
    pub codes_left: &'static str,
    /// "Your administrator requires ...".
    pub required: &'static str,
    /// Set-up button.
    pub set_up: &'static str,
    /// Remove button.
    pub remove: &'static str,
    /// New recovery codes button.
    pub new_codes: &'static str,
    /// Shown above new codes.
    pub save_codes: &'static str,
    /// Back to the account page.
    pub back: &'static str,
    /// After confirmation.
    pub enrolled: &'static str,
    /// After removal.
    pub removed: &'static str,
    /// A change refused to a session without a second factor.
    pub needs_factor: &'static str,
}

/// English.
pub static EN: MfaText = MfaText {
    title: "Two-step verification",
    signed_in_as: ("Signing in as ", ""),
    enter_code: "Enter the 6-digit code from your authenticator app.",
    code: "Code",
    recovery_code: "Recovery code",
    recovery_hint: "Lost your phone? Use one of your recovery codes instead.",
    verify: "Verify",
    must_enroll: "Your account needs two-step verification. Set up an authenticator app to continue.",
    scan: "Scan this QR code with your authenticator app, or type the key below.",
    key: "Key",
    rejected: "That code is not valid. Wait for a new code and try again.",
    locked: "Too many wrong codes. Wait a few minutes, then try again.",
    account_title: "Two-step verification",
    app: "Authenticator app",
    on: "On",
    off: "Off",
    codes_left: "Recovery codes left",
    required: "Your administrator requires two-step verification for your account.",
    set_up: "Set up authenticator app",
    remove: "Remove authenticator app",
    new_codes: "New recovery codes",
    save_codes: "Save these recovery codes now: each works once, and they are shown only this time.",
    back: "Back to your account",
    enrolled: "Two-step verification is on.",
    removed: "The authenticator app was removed.",
    needs_factor: "To change your two-step verification, sign in with your authenticator app first.",
};

/// German.
pub static DE: MfaText = MfaText {
    title: "Zweistufige Anmeldung",
    signed_in_as: ("Anmeldung als ", ""),
    enter_code: "Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.",
    code: "Code",
    recovery_code: "Wiederherstellungscode",
    recovery_hint: "Telefon verloren? Verwenden Sie stattdessen einen Ihrer Wiederherstellungscodes.",
    verify: "Bestätigen",
    must_enroll: "Ihr Konto erfordert eine zweistufige Anmeldung. Richten Sie eine Authenticator-App ein, um fortzufahren.",
    scan: "Scannen Sie diesen QR-Code mit Ihrer Authenticator-App oder geben Sie den Schlüssel unten ein.",
    key: "Schlüssel",
    rejected: "Dieser Code ist ungültig. Warten Sie auf einen neuen Code und versuchen Sie es erneut.",
    locked: "Zu viele falsche Codes. Warten Sie einige Minuten und versuchen Sie es dann erneut.",
    account_title: "Zweistufige Anmeldung",
    app: "Authenticator-App",
    on: "An",
    off: "Aus",
    codes_left: "Verbleibende Wiederherstellungscodes",
    required: "Ihr Administrator verlangt für Ihr Konto eine zweistufige Anmeldung.",
    set_up: "Authenticator-App einrichten",
    remove: "Authenticator-App entfernen",
    new_codes: "Neue Wiederherstellungscodes",
    save_codes: "Speichern Sie diese Wiederherstellungscodes jetzt: Jeder gilt einmal, und sie werden nur dieses eine Mal angezeigt.",
    back: "Zurück zu Ihrem Konto",
    enrolled: "Die zweistufige Anmeldung ist aktiv.",
    removed: "Die Authenticator-App wurde entfernt.",
    needs_factor: "Um die zweistufige Anmeldung zu ändern, melden Sie sich zuerst mit Ihrer Authenticator-App an.",
};

impl MfaText {
    /// The words of `lang`.
    pub fn of(lang: Lang) -> &'static MfaText {
        match lang {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }
}
