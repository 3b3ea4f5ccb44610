//! The verified claim set, parsed with strict JSON types.

use crate::error::VerifyError;

/// The claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: Option<String>,
    /// Audiences.
    pub aud: Vec<String>,
    /// Expiry.
    pub exp: i64,
    /// Not before.
    pub nbf: Option<i64>,
    /// Issued at.
    pub iat: Option<i64>,
    /// Token id.
    pub jti: Option<String>,
    /// Client the token was issued to.
    pub client_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Every claim, for custom ones (roles, tenant, ...).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The thumbprint the token is bound to, `cnf.jkt` (RFC 9449 §6.1): such a token is accepted
    /// only with the `DPoP` scheme and a proof by that key. [`parse`] refused any other `cnf`
    /// (a confirmation method this library cannot check, e.g. RFC 8705 `x5t#S256`).
    pub fn jkt(&self) -> Option<&str> {
        self.extra.get("cnf")?.get("jkt")?.as_str()
    }

    /// A custom claim holding a list of strings (e.g. `roles`), if present and of that type.
    pub fn string_list(&self, claim: &str) -> Option<Vec<&str>> {
        match self.extra.get(claim)? {
            serde_json::Value::Array(items) => items.iter().map(|v| v.as_str()).collect(),
            serde_json::Value::String(s) => Some(s.split(' ').collect()),
            _ => None,
        }
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number, possibly with a fraction.
fn numeric_date(v: &serde_json::Value) -> Option<i64> {
    let n = v.as_number()?;
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.is_finite() && f.abs() < 1e15).then(|| f.floor() as i64)
    })
}

/// Parses the payload. Every registered claim must have its JSON type (a string `exp` is an error,
/// never "absent"); `iss` and `exp` must be present.
pub(crate) fn parse(payload: &[u8]) -> Result<Claims, VerifyError> {
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(payload)
        .map_err(|_| VerifyError::Malformed("payload is not a JSON object"))?;
    let string = |name: &'static str| -> Result<Option<String>, VerifyError> {
        match extra.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(VerifyError::InvalidClaim(name)),
        }
    };
    let date = |name: &'static str| -> Result<Option<i64>, VerifyError> {
        match extra.get(name) {
            None => Ok(None),
            Some(v) => numeric_date(v)
                .map(Some)
                .ok_or(VerifyError::InvalidClaim(name)),
        }
    };
    let aud = match extra.get("aud") {
        None => Vec::new(),
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(VerifyError::InvalidClaim("aud"))?,
        Some(_) => return Err(VerifyError::InvalidClaim("aud")),
    };
    // RFC 7800 §3.1 `cnf`: only a non-empty `jkt` (RFC 9449 §6.1) is understood; a token bound
    // some other way is refused rather than accepted as a bearer token (fail closed).
    match extra.get("cnf") {
        None => {}
        Some(serde_json::Value::Object(cnf))
            if cnf.len() == 1
                && cnf
                    .get("jkt")
                    .and_then(|j| j.as_str())
                    .is_some_and(|j| !j.is_empty()) => {}
        Some(_) => return Err(VerifyError::InvalidClaim("cnf")),
    }
    Ok(Claims {
        iss: string("iss")?.ok_or(VerifyError::InvalidClaim("iss"))?,
        sub: string("sub")?,
        aud,
        exp: date("exp")?.ok_or(VerifyError::InvalidClaim("exp"))?,
        nbf: date("nbf")?,
        iat: date("iat")?,
        jti: string("jti")?,
        client_id: string("client_id")?,
        scopes: string("scope")?
            .map(|s| {
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_types() {
        let ok = parse(br#"{"iss":"i","exp":10,"aud":["a","b"],"scope":"x y","iat":1.5}"#);
        let c = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.exp, c.iat, c.aud.len()), (10, Some(1), 2));
        assert!(c.has_scope("y") && !c.has_scope("z"));
        assert_eq!(
            parse(br#"{"iss":"i","exp":"10"}"#),
            Err(VerifyError::InvalidClaim("exp"))
        );
        assert_eq!(
            parse(br#"{"iss":"i"}"#),
            Err(VerifyError::InvalidClaim("exp"))
        );
        assert_eq!(
            parse(br#"{"exp":1}"#),
            Err(VerifyError::InvalidClaim("iss"))
        );
        assert_eq!(
            parse(br#"{"iss":"i","exp":1,"aud":[1]}"#),
            Err(VerifyError::InvalidClaim("aud"))
        );
        assert_eq!(
            parse(br#"{"iss":"i","exp":1,"scope":["a"]}"#),
            Err(VerifyError::InvalidClaim("scope"))
        );
        assert_eq!(
            parse(br#"{"iss":"i","exp":1,"nbf":null}"#),
            Err(VerifyError::InvalidClaim("nbf"))
        );
        assert!(parse(b"[1]").is_err());
        let bound = parse(br#"{"iss":"i","exp":1,"cnf":{"jkt":"abc"}}"#);
        assert_eq!(bound.ok().as_ref().and_then(Claims::jkt), Some("abc"));
        for cnf in [
            r#""abc""#,
            r#"{"jkt":""}"#,
            r#"{"jkt":1}"#,
            r#"{"x5t#S256":"h"}"#,
            "{}",
            r#"{"jkt":"a","x5t#S256":"h"}"#,
        ] {
            let payload = format!(r#"{{"iss":"i","exp":1,"cnf":{cnf}}}"#);
            assert_eq!(
                parse(payload.as_bytes()),
                Err(VerifyError::InvalidClaim("cnf")),
                "{cnf}"
            );
        }
        let unbound = parse(br#"{"iss":"i","exp":1}"#);
        assert_eq!(unbound.ok().as_ref().and_then(Claims::jkt), None);
    }
}
