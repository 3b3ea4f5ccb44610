//! The verified claim set, parsed with strict JSON types, and the actor chain of a delegated token
//! (RFC 8693 §4.1).

use crate::error::VerifyError;

/// Deepest `act` chain accepted (RFC 8693 §4.1 nests one `act` per delegation step); a deeper one
/// is refused as [`VerifyError::InvalidClaim`]`("act")`.
pub const MAX_ACT_DEPTH: usize = 8;

/// The claims of a verified access token.
///
/// The service's own claims, typed, come with [`crate::Verified`] (parsed once per token, when it
/// is verified in full); [`Claims::extra`] holds every claim as JSON.
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
    /// only with the `DPoP` scheme and a proof by that key. Parsing refused any other `cnf`
    /// (a confirmation method this library cannot check, e.g. RFC 8705 `x5t#S256`).
    pub fn jkt(&self) -> Option<&str> {
        self.extra.get("cnf")?.get("jkt")?.as_str()
    }

    /// The party acting on the subject's behalf: `act.sub` (RFC 8693 §4.1), e.g. the service that
    /// exchanged the user's token; `None` for a token used by its subject itself.
    pub fn actor(&self) -> Option<&str> {
        self.actors().next()
    }

    /// The whole delegation chain, the current actor first: `act.sub`, then `act.act.sub`, ...
    /// (RFC 8693 §4.1: "the least recent actor is the most deeply nested"). Parsing checked its
    /// shape (objects with a string `sub`, at most [`MAX_ACT_DEPTH`] deep).
    pub fn actors(&self) -> impl Iterator<Item = &str> {
        let mut next = self.extra.get("act");
        std::iter::from_fn(move || {
            let act = next?.as_object()?;
            next = act.get("act");
            act.get("sub")?.as_str()
        })
    }

    /// The `act` claim as sent (RFC 8693 §4.1), for a caller that needs more than the `sub`s.
    pub fn act(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.extra.get("act")?.as_object()
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

/// RFC 8693 §4.1 `act`: a JSON object with a string `sub`, possibly a nested `act` of the same
/// shape, at most [`MAX_ACT_DEPTH`] deep.
fn check_act(act: Option<&serde_json::Value>) -> Result<(), VerifyError> {
    let mut next = act;
    let mut depth = 0;
    while let Some(v) = next {
        depth += 1;
        let obj = v.as_object().filter(|_| depth <= MAX_ACT_DEPTH);
        let obj = obj.ok_or(VerifyError::InvalidClaim("act"))?;
        let sub = obj.get("sub").and_then(serde_json::Value::as_str);
        if sub.is_none_or(str::is_empty) {
            return Err(VerifyError::InvalidClaim("act"));
        }
        next = obj.get("act");
    }
    Ok(())
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
    check_act(extra.get("act"))?;
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

    #[test]
    fn act_chain() {
        let c = parse(
            br#"{"iss":"i","exp":1,"sub":"u","act":{"sub":"orders","act":{"sub":"gateway"}}}"#,
        );
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.actor(), Some("orders"));
        assert_eq!(c.actors().collect::<Vec<_>>(), ["orders", "gateway"]);
        assert!(c.act().is_some_and(|a| a.contains_key("act")));
        let own = parse(br#"{"iss":"i","exp":1,"sub":"u"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((own.actor(), own.actors().count()), (None, 0));
        let deep = (0..MAX_ACT_DEPTH).fold(String::from(r#"{"sub":"a"}"#), |inner, _| {
            format!(r#"{{"sub":"a","act":{inner}}}"#)
        });
        for act in [
            r#""orders""#,
            "{}",
            r#"{"sub":1}"#,
            r#"{"sub":""}"#,
            r#"{"sub":"a","act":"b"}"#,
            r#"{"sub":"a","act":{"iss":"x"}}"#,
            deep.as_str(),
        ] {
            let payload = format!(r#"{{"iss":"i","exp":1,"act":{act}}}"#);
            assert_eq!(
                parse(payload.as_bytes()),
                Err(VerifyError::InvalidClaim("act")),
                "{act}"
            );
        }
    }
}
