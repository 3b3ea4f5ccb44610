//! The HTTP side of the token source: one token request (RFC 6749 §4.4.2, RFC 8693 §2.1) and the
//! discovery of the token endpoint (OpenID Connect Discovery 1.0 §3).

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::error::{OAuthError, OAuthErrorCode, ServiceTokenError};
use super::{ACCESS_TOKEN_TYPE, ClientAuth, Grant, TOKEN_EXCHANGE_GRANT, TokenRequest};

/// Largest discovery document read.
const MAX_DISCOVERY_BYTES: usize = 256 * 1024;
/// Largest token response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).
#[derive(Debug, Deserialize)]
pub(super) struct Answer {
    pub access_token: String,
    token_type: String,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
    issued_token_type: Option<String>,
}

fn unreachable(e: reqwest::Error) -> ServiceTokenError {
    // Without the URL: it may carry nothing secret, but keep logs to the point.
    ServiceTokenError::Unreachable(e.without_url().to_string())
}

/// Reads at most `max` bytes of `res`'s body.
async fn body(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, ServiceTokenError> {
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(unreachable)? {
        if out.len() + chunk.len() > max {
            return Err(ServiceTokenError::Invalid(format!(
                "response larger than {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Sends `request` to `endpoint`, authenticated as `auth`.
pub(super) async fn send(
    http: &reqwest::Client,
    endpoint: &str,
    auth: &ClientAuth,
    request: &TokenRequest<'_>,
) -> Result<Answer, ServiceTokenError> {
    let mut form: Vec<(&str, &str)> = Vec::with_capacity(5);
    match request.grant {
        Grant::ClientCredentials => form.push(("grant_type", "client_credentials")),
        Grant::Exchange { subject_token, .. } => {
            form.push(("grant_type", TOKEN_EXCHANGE_GRANT));
            form.push(("subject_token", subject_token));
            form.push(("subject_token_type", ACCESS_TOKEN_TYPE));
        }
    }
    form.push(("resource", request.resource));
    if !request.scope.is_empty() {
        form.push(("scope", request.scope));
    }
    let mut req = http.post(endpoint).form(&form);
    match auth {
        ClientAuth::SecretBasic {
            client_id,
            client_secret,
        } => {
            // RFC 6749 §2.3.1: id and secret are form-encoded before going into Basic.
            let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
            req = req.basic_auth(enc(client_id), Some(enc(client_secret)));
        }
    }
    let res = req.send().await.map_err(unreachable)?;
    let status = res.status();
    let bytes = body(res, MAX_RESPONSE_BYTES).await?;
    if !status.is_success() {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: Option<String>,
            error_description: Option<String>,
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let (code, description) = parsed.map_or((None, None), |b| (b.error, b.error_description));
        return Err(ServiceTokenError::Refused(OAuthError {
            status: status.as_u16(),
            code: OAuthErrorCode::parse(code.as_deref()),
            description: description.map(|d| d.chars().take(256).collect()),
        }));
    }
    let answer: Answer = serde_json::from_slice(&bytes)
        .map_err(|_| ServiceTokenError::Invalid("not a token response".into()))?;
    // RFC 6750: only a bearer token can be sent as one (a DPoP-bound token would need a proof).
    if !answer.token_type.eq_ignore_ascii_case("bearer") {
        return Err(ServiceTokenError::Invalid(format!(
            "token_type {:?} is not Bearer",
            answer.token_type.chars().take(32).collect::<String>()
        )));
    }
    if answer.access_token.is_empty() {
        return Err(ServiceTokenError::Invalid("empty access_token".into()));
    }
    // RFC 8693 §2.2.1: an exchange answers with the type it issued; we asked for an access token.
    if let Grant::Exchange { .. } = request.grant
        && answer.issued_token_type.as_deref() != Some(ACCESS_TOKEN_TYPE)
    {
        return Err(ServiceTokenError::Invalid(
            "issued_token_type is not an access token".into(),
        ));
    }
    Ok(answer)
}

/// The `token_endpoint` of `issuer`'s discovery document (whose `issuer` must be exactly it).
pub(super) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<String, ServiceTokenError> {
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
        token_endpoint: Option<String>,
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let res = http.get(&url).send().await.map_err(unreachable)?;
    let status = res.status();
    if !status.is_success() {
        return Err(ServiceTokenError::Discovery(format!("status {status}")));
    }
    let bytes = body(res, MAX_DISCOVERY_BYTES).await?;
    let doc: Discovery = serde_json::from_slice(&bytes)
        .map_err(|e| ServiceTokenError::Discovery(format!("not a discovery document: {e}")))?;
    if doc.issuer != issuer {
        return Err(ServiceTokenError::Discovery(
            "the document names another issuer".into(),
        ));
    }
    let endpoint = doc
        .token_endpoint
        .ok_or_else(|| ServiceTokenError::Discovery("no token_endpoint".into()))?;
    crate::fetch::check_url(&endpoint).map_err(ServiceTokenError::Discovery)?;
    Ok(endpoint)
}
