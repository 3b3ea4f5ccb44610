//! Kinds of second factor, the `amr` values (RFC 8176 §2) they add, and the `acr` levels.
//!
//! Two `acr` values (OIDC Core §2 asks for absolute URIs; these are URNs in this product's own
//! namespace, since no registered value says exactly "one factor" or "two factors"):
//!
//! - [`ACR_SINGLE_FACTOR`] `urn:auth-server:acr:sfa`: one factor (the password). Comparable to
//!   NIST SP 800-63B AAL1, without claiming conformance.
//! - [`ACR_MFA`] `urn:auth-server:acr:mfa`: the password and a second factor (TOTP, a recovery
//!   code, or a WebAuthn authenticator). Comparable to AAL2.
//!
//! The `acr` of an ID token is the level the session actually reached: [`ACR_MFA`] exactly when its
//! `amr` holds `mfa`.

/// The single-factor level.
pub const ACR_SINGLE_FACTOR: &str = "urn:auth-server:acr:sfa";
/// The multi-factor level.
pub const ACR_MFA: &str = "urn:auth-server:acr:mfa";

/// A kind of second factor. A sign-in asks for one of the kinds the user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactorKind {
    /// A TOTP authenticator app (RFC 6238): `amr` `otp`.
    Totp,
    /// A one-time recovery code: no RFC 8176 value fits a printed code, so it adds `mfa` only.
    RecoveryCode,
    /// A WebAuthn authenticator (security key or passkey), wired up by the WebAuthn module:
    /// `amr` `hwk` for a hardware-bound key, `swk` for a software (synced) one.
    WebAuthn {
        /// Whether the authenticator is bound to hardware (`hwk`) rather than software (`swk`).
        hardware: bool,
    },
}

impl FactorKind {
    /// The RFC 8176 method this factor adds (besides `mfa`), if any.
    pub fn amr(self) -> Option<&'static str> {
        match self {
            FactorKind::Totp => Some("otp"),
            FactorKind::RecoveryCode => None,
            FactorKind::WebAuthn { hardware: true } => Some("hwk"),
            FactorKind::WebAuthn { hardware: false } => Some("swk"),
        }
    }
}

/// The methods of a sign-in that proved `base` (e.g. `pwd`) and then `factor`: `base`, the
/// factor's method, and `mfa` (RFC 8176 §2: "Multiple-factor authentication"), each once.
pub fn amr_with(base: &[String], factor: FactorKind) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(base.len() + 2);
    let extra = factor.amr().into_iter().chain(["mfa"]);
    for m in base.iter().map(String::as_str).chain(extra) {
        if !out.iter().any(|o| o == m) {
            out.push(m.to_owned());
        }
    }
    out
}

/// The `acr` a session with methods `amr` reached.
pub fn acr_for(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        ACR_MFA
    } else {
        ACR_SINGLE_FACTOR
    }
}

/// Whether an `acr_values` request parameter (OIDC Core §3.1.2.1: space-separated, in order of
/// preference) asks for the multi-factor level. It does when it lists [`ACR_MFA`] before (or
/// without) [`ACR_SINGLE_FACTOR`]: a client that would also accept one factor first gets one.
pub fn acr_values_demand_mfa(acr_values: Option<&str>) -> bool {
    let Some(values) = acr_values else {
        return false;
    };
    for v in values.split_whitespace() {
        match v {
            ACR_MFA => return true,
            ACR_SINGLE_FACTOR => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_and_acr() {
        let pwd = vec!["pwd".to_owned()];
        assert_eq!(amr_with(&pwd, FactorKind::Totp), ["pwd", "otp", "mfa"]);
        assert_eq!(amr_with(&pwd, FactorKind::RecoveryCode), ["pwd", "mfa"]);
        assert_eq!(
            amr_with(&pwd, FactorKind::WebAuthn { hardware: true }),
            ["pwd", "hwk", "mfa"]
        );
        let twice = amr_with(&amr_with(&pwd, FactorKind::Totp), FactorKind::Totp);
        assert_eq!(twice, ["pwd", "otp", "mfa"]);
        assert_eq!(acr_for(&pwd), ACR_SINGLE_FACTOR);
        assert_eq!(acr_for(&twice), ACR_MFA);
    }

    #[test]
    fn acr_values() {
        assert!(!acr_values_demand_mfa(None));
        assert!(acr_values_demand_mfa(Some(ACR_MFA)));
        assert!(acr_values_demand_mfa(Some(&format!("x {ACR_MFA}"))));
        assert!(!acr_values_demand_mfa(Some(&format!(
            "{ACR_SINGLE_FACTOR} {ACR_MFA}"
        ))));
        assert!(acr_values_demand_mfa(Some(&format!(
            "{ACR_MFA} {ACR_SINGLE_FACTOR}"
        ))));
        assert!(!acr_values_demand_mfa(Some("urn:other")));
    }
}
