//! A client's registered authentication method and keys (RFC 7591 §2 `token_endpoint_auth_method`,
//! `jwks`, `jwks_uri`), checked when it is created or updated.

use super::ClientError;
use super::client_keys::validate_registered_jwks;
use super::jwks_source::{JwksSettings, validate_jwks_uri};
use crate::model::records::AuthMethod;

/// Largest inline `jwks` accepted (the same cap as a fetched `jwks_uri` document).
pub fn max_jwks_bytes() -> usize {
    JwksSettings::default().max_bytes
}

/// The method, `jwks` and `jwks_uri` a client is registered with: `method` defaults to `none` for
/// a public client and `client_secret_basic` otherwise; `none` is for public clients only and a
/// public client uses nothing else (RFC 6749 §2.1); `private_key_jwt` needs exactly one of an inline
/// JWK Set (public keys only, at least one usable) and an https (or loopback http) `jwks_uri`; the
/// other methods take neither. Empty strings are absent values.
pub fn checked_auth(
    public: bool,
    method: Option<AuthMethod>,
    jwks: Option<String>,
    jwks_uri: Option<String>,
) -> Result<(AuthMethod, Option<String>, Option<String>), ClientError> {
    let invalid = |m: &str| Err(ClientError::Invalid(m.to_owned()));
    let jwks = jwks.filter(|j| !j.trim().is_empty());
    let jwks_uri = jwks_uri.filter(|u| !u.is_empty());
    let method = method.unwrap_or(if public {
        AuthMethod::None
    } else {
        AuthMethod::ClientSecretBasic
    });
    match (public, method) {
        (true, AuthMethod::None)
        | (false, AuthMethod::ClientSecretBasic)
        | (false, AuthMethod::ClientSecretPost)
        | (false, AuthMethod::PrivateKeyJwt) => {}
        (true, m) => {
            return Err(ClientError::Invalid(format!(
                "a public client has token_endpoint_auth_method none, not {m}"
            )));
        }
        (false, _) => return invalid("token_endpoint_auth_method none is for public clients"),
    }
    if method != AuthMethod::PrivateKeyJwt {
        if jwks.is_some() || jwks_uri.is_some() {
            return invalid("jwks and jwks_uri are for private_key_jwt clients only");
        }
        return Ok((method, None, None));
    }
    match (&jwks, &jwks_uri) {
        (Some(_), Some(_)) => return invalid("register either jwks or jwks_uri, not both"),
        (None, None) => return invalid("a private_key_jwt client needs jwks or jwks_uri"),
        (Some(j), None) => {
            if j.len() > max_jwks_bytes() {
                return Err(ClientError::Invalid(format!(
                    "jwks is larger than {} bytes",
                    max_jwks_bytes()
                )));
            }
            validate_registered_jwks(j, JwksSettings::default().max_keys)
                .map_err(|e| ClientError::Invalid(format!("jwks: {e}")))?;
        }
        (None, Some(u)) => {
            validate_jwks_uri(u)
                .map_err(|p| ClientError::Invalid(format!("jwks_uri {u:?} {p}")))?;
        }
    }
    Ok((method, jwks, jwks_uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_fit_the_client_kind() {
        let ok = |p, m, j: Option<&str>, u: Option<&str>| {
            checked_auth(p, m, j.map(str::to_owned), u.map(str::to_owned)).is_ok()
        };
        assert!(ok(true, None, None, None));
        assert!(ok(false, None, None, None));
        assert!(!ok(true, Some(AuthMethod::ClientSecretBasic), None, None));
        assert!(!ok(false, Some(AuthMethod::None), None, None));
        assert!(!ok(false, Some(AuthMethod::PrivateKeyJwt), None, None));
        assert!(ok(
            false,
            Some(AuthMethod::PrivateKeyJwt),
            None,
            Some("https://p.example/jwks")
        ));
        assert!(!ok(
            false,
            Some(AuthMethod::PrivateKeyJwt),
            None,
            Some("http://p.example/jwks")
        ));
        assert!(!ok(false, None, None, Some("https://p.example/jwks")));
        assert!(!ok(
            false,
            Some(AuthMethod::PrivateKeyJwt),
            Some("{}"),
            None
        ));
        assert!(!ok(
            false,
            Some(AuthMethod::PrivateKeyJwt),
            Some(r#"{"keys":[]}"#),
            Some("https://p.example/jwks")
        ));
    }
}
