//! Unit tests of what needs no database: the relying party from the issuer, names, bindings.

use super::*;

#[test]
fn rp_id_and_origin_come_from_the_issuer() {
    let rp = |issuer: &str| {
        Url::parse(issuer)
            .ok()
            .and_then(|u| u.domain().map(str::to_owned))
    };
    assert_eq!(
        rp("https://idp.example.com/realm").as_deref(),
        Some("idp.example.com")
    );
    assert_eq!(rp("http://localhost:8080").as_deref(), Some("localhost"));
    // An IP address is not a valid RP ID (§5.1.4): WebAuthn is off for such an issuer.
    assert_eq!(rp("http://127.0.0.1:8080"), None);
}

#[test]
fn names_are_trimmed_and_bounded() {
    assert_eq!(valid_name("  YubiKey 5 ").ok(), Some("YubiKey 5"));
    assert!(matches!(valid_name("   "), Err(WebauthnFailure::BadName)));
    assert!(matches!(
        valid_name("a\u{0}b"),
        Err(WebauthnFailure::BadName)
    ));
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    assert!(matches!(valid_name(&long), Err(WebauthnFailure::BadName)));
    assert!(valid_name(&long[1..]).is_ok());
}

#[test]
fn bindings_of_different_kinds_never_collide() {
    let a = Binding::Session("x").digest();
    let b = Binding::Browser("x").digest();
    let c = Binding::Pending("x").digest();
    assert_ne!(a, b);
    assert_ne!(b, c);
    assert_ne!(a, c);
    assert_eq!(a, Binding::Session("x").digest());
}

#[test]
fn user_handles_are_stable_opaque_and_distinct() {
    let a = Passkeys::user_handle("user-1");
    assert_eq!(a, Passkeys::user_handle("user-1"));
    assert_ne!(a, Passkeys::user_handle("user-2"));
    assert!(!a.as_bytes().windows(6).any(|w| w == b"user-1"));
}

#[test]
fn oversized_or_malformed_responses_are_not_read() {
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_RESPONSE_BYTES));
    assert!(parse_response::<serde_json::Value>(&big).is_none());
    assert!(parse_response::<serde_json::Value>("{not json").is_none());
    assert!(parse_response::<serde_json::Value>("{}").is_some());
}

#[test]
fn credential_ids_are_base64url_without_padding() {
    assert_eq!(cred_id_text(&[0xfb, 0xff]), "-_8");
}
