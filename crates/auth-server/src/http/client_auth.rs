//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2),
//! or a public client's `client_id` alone. The client's registered `token_endpoint_auth_method` is
//! enforced: a `private_key_jwt` client cannot use a secret, a secret client cannot use an assertion.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::form::{Form, decode_component};
use crate::domain::clients::assertion::{AssertionError, JWT_BEARER};
use crate::domain::clients::{AuthMethod, Client, ClientError, ClientRegistry};
use crate::domain::oauth_error::{ErrorCode, OAuthError};

/// Identifies the client: with a signed assertion (RFC 7523 §2.2), with its secret (RFC 6749
/// §2.3.1), or, for a public client, by `client_id` alone (§2.1, §3.2.1: "A client MAY use the
/// "client_id" request parameter to identify itself when sending requests to the token
/// endpoint"). A confidential client must authenticate, with the method it is registered for.
pub async fn authenticate_client(
    clients: &ClientRegistry,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Arc<Client>, OAuthError> {
    let assertion_type = form.single("client_assertion_type")?;
    let assertion = form.single("client_assertion")?;
    if assertion_type.is_some() || assertion.is_some() {
        return by_assertion(clients, headers, form, assertion_type, assertion).await;
    }
    let has_secret =
        headers.contains_key(header::AUTHORIZATION) || form.single("client_secret")?.is_some();
    if !has_secret && let Some(id) = form.single("client_id")? {
        return match clients.get(id).await? {
            Some(c) if c.public && c.enabled => Ok(c),
            _ => Err(OAuthError::invalid_client()),
        };
    }
    let creds = credentials(headers, form)?;
    // One client lookup on success; the method is looked up (from the cache) only to explain a
    // refusal.
    let client = match clients.authenticate(&creds.client_id, &creds.secret).await {
        Ok(c) => c,
        Err(ClientError::Rejected) => {
            if let Some(c) = clients.get(&creds.client_id).await?
                && c.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt
            {
                return Err(OAuthError::new(
                    ErrorCode::InvalidClient,
                    "this client authenticates with private_key_jwt, not with a secret",
                ));
            }
            return Err(OAuthError::invalid_client());
        }
        Err(e) => return Err(e.into()),
    };
    // The registry refuses a client without a secret; this holds even if one were left behind.
    if !client.token_endpoint_auth_method.uses_secret() {
        return Err(OAuthError::invalid_client());
    }
    Ok(client)
}

/// RFC 7521 §4.2: `client_assertion_type` and `client_assertion`, and no other credentials.
async fn by_assertion(
    clients: &ClientRegistry,
    headers: &HeaderMap,
    form: &Form,
    assertion_type: Option<&str>,
    assertion: Option<&str>,
) -> Result<Arc<Client>, OAuthError> {
    if headers.contains_key(header::AUTHORIZATION) || form.single("client_secret")?.is_some() {
        return Err(OAuthError::invalid_request(
            "more than one client authentication method was used",
        ));
    }
    let (Some(kind), Some(assertion)) = (assertion_type, assertion) else {
        return Err(OAuthError::invalid_request(
            "client_assertion and client_assertion_type go together",
        ));
    };
    if kind != JWT_BEARER {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "unsupported client_assertion_type (only urn:ietf:params:oauth:client-assertion-type:jwt-bearer)",
        ));
    }
    clients
        .authenticate_assertion(form.single("client_id")?, assertion)
        .await
        .map_err(assertion_error)
}

/// RFC 7521 §4.2.1: a refused assertion is `invalid_client`, with what was wrong; a storage
/// failure is 503, logged.
fn assertion_error(e: AssertionError) -> OAuthError {
    match e {
        AssertionError::Store(e) => {
            tracing::warn!(error = %e, "client assertion check failed");
            OAuthError::unavailable()
        }
        AssertionError::Keys(k) => {
            tracing::info!(error = %k, "client keys unavailable");
            OAuthError::new(
                ErrorCode::InvalidClient,
                "the client's registered keys could not be used",
            )
        }
        AssertionError::Client => OAuthError::invalid_client(),
        other => OAuthError::new(ErrorCode::InvalidClient, other.to_string()),
    }
}

/// How the client presented itself.
#[derive(PartialEq, Eq)]
pub struct Credentials {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub secret: String,
}

/// Without the secret.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Extracts the client's credentials.
///
/// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request":
/// a secret in both the header and the body is `invalid_request`. A `client_id` in the body next to
/// Basic credentials must name the same client. No credentials at all is `invalid_client`.
pub fn credentials(headers: &HeaderMap, form: &Form) -> Result<Credentials, OAuthError> {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let header_value = auth.next();
    if auth.next().is_some() {
        return Err(OAuthError::invalid_request(
            "the Authorization header is repeated",
        ));
    }
    let body_id = form.single("client_id")?;
    let body_secret = form.single("client_secret")?;
    match header_value {
        Some(value) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "more than one client authentication method was used",
                ));
            }
            let basic = parse_basic(value.as_bytes()).ok_or_else(OAuthError::invalid_client)?;
            if body_id.is_some_and(|id| id != basic.client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            Ok(basic)
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Credentials {
                client_id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            _ => Err(OAuthError::invalid_client()),
        },
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 7617, RFC 6749 §2.3.1).
fn parse_basic(value: &[u8]) -> Option<Credentials> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let client_id = decode_component(id).ok()?;
    let secret = decode_component(secret).ok()?;
    (!client_id.is_empty()).then_some(Credentials { client_id, secret })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::oauth_error::ErrorCode;
    use axum::http::HeaderValue;

    fn headers(auth: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in auth {
            h.append(
                header::AUTHORIZATION,
                HeaderValue::from_str(a).unwrap_or(HeaderValue::from_static("x")),
            );
        }
        h
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn code(r: Result<Credentials, OAuthError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn basic_with_form_encoding() {
        let f = Form::default();
        let c = credentials(&headers(&[&basic("my%20client", "s%3Acret")]), &f).ok();
        assert_eq!(
            c,
            Some(Credentials {
                client_id: "my client".into(),
                secret: "s:cret".into()
            })
        );
    }

    #[test]
    fn post_credentials() {
        let f = Form::parse(b"client_id=a&client_secret=b").unwrap_or_default();
        let c = credentials(&HeaderMap::new(), &f).ok();
        assert_eq!(
            c,
            Some(Credentials {
                client_id: "a".into(),
                secret: "b".into()
            })
        );
    }

    #[test]
    fn refusals() {
        let both = Form::parse(b"client_id=a&client_secret=b").unwrap_or_default();
        assert_eq!(
            code(credentials(&headers(&[&basic("a", "b")]), &both)),
            Some(ErrorCode::InvalidRequest)
        );
        let other_id = Form::parse(b"client_id=z").unwrap_or_default();
        assert_eq!(
            code(credentials(&headers(&[&basic("a", "b")]), &other_id)),
            Some(ErrorCode::InvalidRequest)
        );
        let none = Form::default();
        assert_eq!(
            code(credentials(&HeaderMap::new(), &none)),
            Some(ErrorCode::InvalidClient)
        );
        assert_eq!(
            code(credentials(&headers(&["Bearer x"]), &none)),
            Some(ErrorCode::InvalidClient)
        );
        assert_eq!(
            code(credentials(&headers(&["Basic !!!"]), &none)),
            Some(ErrorCode::InvalidClient)
        );
        let two = headers(&[&basic("a", "b"), &basic("a", "b")]);
        assert_eq!(
            code(credentials(&two, &none)),
            Some(ErrorCode::InvalidRequest)
        );
        let id_only = Form::parse(b"client_id=a").unwrap_or_default();
        assert_eq!(
            code(credentials(&HeaderMap::new(), &id_only)),
            Some(ErrorCode::InvalidClient)
        );
    }
}
