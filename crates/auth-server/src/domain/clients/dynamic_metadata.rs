//! Client metadata of dynamic registration (RFC 7591 §2) checked against what this server supports
//! and against the scope policy of the initial access token, and the metadata a registered client
//! is answered with (RFC 7591 §3.2.1, RFC 7592 §3).

use serde::{Deserialize, Serialize};

use super::validate::validate_redirect_uri;
use super::{Client, validate_scope_token};
use crate::model::records::AuthMethod;
use crate::model::values::DpopPolicy;

/// The most entries a list of metadata (redirect URIs, scopes...) may have.
pub const MAX_METADATA_LIST: usize = 50;
/// The longest `client_name`, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Grant types a dynamically registered client may name (what the token endpoint implements).
const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// Client metadata as sent (RFC 7591 §2). Unknown fields are ignored (§2: "The authorization
/// server MUST ignore any client metadata sent by the client that it does not understand"), and so
/// are `logo_uri`, `client_uri`, `contacts`, `tos_uri` and `policy_uri`, which this server does not
/// store.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    /// `redirect_uris`.
    pub redirect_uris: Option<Vec<String>>,
    /// `token_endpoint_auth_method` (default `client_secret_basic`, §2).
    pub token_endpoint_auth_method: Option<String>,
    /// `grant_types` (default `["authorization_code"]`, §2).
    pub grant_types: Option<Vec<String>>,
    /// `response_types` (default `["code"]` with the authorization-code grant, §2).
    pub response_types: Option<Vec<String>>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// `scope`: space-separated.
    pub scope: Option<String>,
    /// OpenID Connect RP-Initiated Logout `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// OpenID Connect Back-Channel Logout `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: Option<bool>,
    /// `jwks` (RFC 7591 §2): the client's public keys, for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// `jwks_uri`: where its public keys are fetched from, for `private_key_jwt`.
    pub jwks_uri: Option<serde_json::Value>,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: `true` makes DPoP required for the client.
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9126 §6 `require_pushed_authorization_requests`.
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 7592 §2.2: the client's id, required in an update.
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: if present in an update, it must be the current secret.
    pub client_secret: Option<String>,
}

/// Why metadata was refused (RFC 7591 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// `invalid_redirect_uri`: "The value of one or more redirection URIs is invalid."
    #[error("{0}")]
    RedirectUri(String),
    /// `invalid_client_metadata`: "The value of one of the client metadata fields is invalid".
    #[error("{0}")]
    Metadata(String),
}

/// Metadata checked and mapped onto the client registry's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMetadata {
    /// `token_endpoint_auth_method` `none`.
    pub public: bool,
    /// `token_endpoint_auth_method`.
    pub auth_method: AuthMethod,
    /// `jwks`, as JSON text (checked by the registry like an operator's registration).
    pub jwks: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2): `Required` when true, else `Allowed`.
    pub dpop: DpopPolicy,
    /// `require_pushed_authorization_requests` (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
    /// `client_name` (`None`: the client id is shown).
    pub name: Option<String>,
    /// Allowed (and default) scopes: `scope`, or the whole policy when omitted.
    pub scopes: Vec<String>,
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Vec<String>,
    /// `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: bool,
}

fn bad(message: impl Into<String>) -> MetadataError {
    MetadataError::Metadata(message.into())
}

fn list(name: &str, v: Option<Vec<String>>) -> Result<Vec<String>, MetadataError> {
    let v = v.unwrap_or_default();
    if v.len() > MAX_METADATA_LIST {
        return Err(bad(format!(
            "{name} may have at most {MAX_METADATA_LIST} entries"
        )));
    }
    Ok(v)
}

/// Checks `m` against what is supported and against `policy` (the scopes the initial access token
/// allows).
pub fn check_metadata(
    m: ClientMetadata,
    policy: &[String],
) -> Result<CheckedMetadata, MetadataError> {
    let jwks = match m.jwks {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err(bad("jwks must be a JWK Set object (RFC 7517 §5)")),
    };
    let jwks_uri = match m.jwks_uri {
        None | Some(serde_json::Value::Null) => None,
        // Fetched by the IdP from inside the operator's network: https to a public host only.
        Some(serde_json::Value::String(u)) => {
            super::jwks_source::validate_public_jwks_uri(&u)
                .map_err(|p| bad(format!("jwks_uri {p}")))?;
            Some(u)
        }
        Some(_) => return Err(bad("jwks_uri must be a string")),
    };
    let auth_method = match m
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
    {
        "none" => AuthMethod::None,
        "client_secret_basic" => AuthMethod::ClientSecretBasic,
        "client_secret_post" => AuthMethod::ClientSecretPost,
        "private_key_jwt" => AuthMethod::PrivateKeyJwt,
        other => {
            return Err(bad(format!(
                "token_endpoint_auth_method {other:?} is not supported (client_secret_basic, client_secret_post, private_key_jwt or none)"
            )));
        }
    };
    let public = auth_method == AuthMethod::None;
    if auth_method != AuthMethod::PrivateKeyJwt && (jwks.is_some() || jwks_uri.is_some()) {
        return Err(bad(
            "jwks and jwks_uri are for token_endpoint_auth_method private_key_jwt only",
        ));
    }
    let grants = match m.grant_types {
        None => vec!["authorization_code".to_owned()],
        g => list("grant_types", g)?,
    };
    if let Some(g) = grants.iter().find(|g| !GRANT_TYPES.contains(&g.as_str())) {
        return Err(bad(format!(
            "grant type {g:?} is not supported (authorization_code, refresh_token, client_credentials)"
        )));
    }
    let code = grants.iter().any(|g| g == "authorization_code");
    if public && grants.iter().any(|g| g == "client_credentials") {
        return Err(bad(
            "a client with token_endpoint_auth_method none cannot use client_credentials",
        ));
    }
    if !code && grants.iter().any(|g| g == "refresh_token") {
        return Err(bad(
            "refresh_token needs authorization_code: only that grant issues refresh tokens here",
        ));
    }
    let responses = match m.response_types {
        None if code => vec!["code".to_owned()],
        r => list("response_types", r)?,
    };
    if let Some(r) = responses.iter().find(|r| *r != "code") {
        return Err(bad(format!("response type {r:?} is not supported (code)")));
    }
    // RFC 7591 §2.1: the two must be consistent.
    if code != responses.iter().any(|r| r == "code") {
        return Err(bad(
            "grant_types and response_types are inconsistent: authorization_code goes with the response type code (RFC 7591 §2.1)",
        ));
    }
    let redirect_uris = list("redirect_uris", m.redirect_uris)?;
    for uri in &redirect_uris {
        validate_redirect_uri(uri)
            .map_err(|p| MetadataError::RedirectUri(format!("redirect URI {uri:?} {p}")))?;
    }
    if code && redirect_uris.is_empty() {
        return Err(MetadataError::RedirectUri(
            "redirect_uris is required for the authorization_code grant".into(),
        ));
    }
    if !code && !redirect_uris.is_empty() {
        return Err(bad(
            "redirect_uris are only for the authorization_code grant, which grant_types does not name",
        ));
    }
    let post_logout_redirect_uris = list("post_logout_redirect_uris", m.post_logout_redirect_uris)?;
    for uri in &post_logout_redirect_uris {
        validate_redirect_uri(uri)
            .map_err(|p| bad(format!("post-logout redirect URI {uri:?} {p}")))?;
    }
    // The IdP POSTs to it from inside the operator's network: https to a host that is not an
    // internal address (the other rules are checked with the client, as for `client create`).
    let backchannel_logout_uri = m.backchannel_logout_uri.filter(|u| !u.is_empty());
    if let Some(uri) = &backchannel_logout_uri {
        let url = reqwest::Url::parse(uri)
            .map_err(|_| bad("backchannel_logout_uri must be an absolute https URL"))?;
        let internal = url
            .host_str()
            .and_then(super::public_net::literal_host_is_public)
            == Some(false);
        if url.scheme() != "https" || internal {
            return Err(bad(
                "backchannel_logout_uri must be https to a host that is not a loopback, private or link-local address",
            ));
        }
    }
    let name = match m.client_name {
        Some(n)
            if n.trim().is_empty()
                || n.chars().count() > MAX_NAME_CHARS
                || n.chars().any(char::is_control) =>
        {
            return Err(bad(
                "client_name must be 1 to 200 characters, without control characters",
            ));
        }
        n => n,
    };
    Ok(CheckedMetadata {
        public,
        auth_method,
        jwks,
        jwks_uri,
        dpop: if m.dpop_bound_access_tokens == Some(true) {
            DpopPolicy::Required
        } else {
            DpopPolicy::Allowed
        },
        require_pushed_authorization_requests: m.require_pushed_authorization_requests
            == Some(true),
        name,
        scopes: checked_scopes(m.scope.as_deref(), policy)?,
        redirect_uris,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        backchannel_logout_session_required: m.backchannel_logout_session_required.unwrap_or(false),
    })
}

/// `scope` within `policy`: each must be a scope token the policy lists; omitted, the policy.
fn checked_scopes(scope: Option<&str>, policy: &[String]) -> Result<Vec<String>, MetadataError> {
    let Some(scope) = scope else {
        return Ok(policy.to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        validate_scope_token(s).map_err(|e| bad(e.to_string()))?;
        if !policy.iter().any(|p| p == s) {
            return Err(bad(format!(
                "scope {s:?} is beyond what the initial access token allows"
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// The metadata a registered client is answered with (RFC 7591 §3.2.1), derived from what the
/// registry holds, so it says what the client can actually do: `grant_types` lists
/// `client_credentials` for every confidential client and `refresh_token` when `offline_access` is
/// allowed (the server may substitute values, §3.2.1).
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredMetadata {
    /// `client_id`.
    pub client_id: String,
    /// `client_id_issued_at`.
    pub client_id_issued_at: i64,
    /// `client_name`.
    pub client_name: String,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: &'static str,
    /// `grant_types`.
    pub grant_types: Vec<&'static str>,
    /// `response_types`.
    pub response_types: Vec<&'static str>,
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Vec<String>,
    /// `scope`.
    pub scope: String,
    /// `backchannel_logout_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: bool,
    /// `jwks`, for a `private_key_jwt` client registered with its keys inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// `jwks_uri`, for a `private_key_jwt` client registered with a key URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// `require_pushed_authorization_requests` (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
}

impl From<&Client> for RegisteredMetadata {
    fn from(c: &Client) -> Self {
        let code = !c.redirect_uris.is_empty();
        let mut grant_types = Vec::new();
        if code {
            grant_types.push("authorization_code");
            if c.allowed_scopes.contains("offline_access") || c.always_refresh {
                grant_types.push("refresh_token");
            }
        }
        if !c.public {
            grant_types.push("client_credentials");
        }
        Self {
            client_id: c.id.clone(),
            client_id_issued_at: c.created_at,
            client_name: c.name.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str(),
            grant_types,
            response_types: if code { vec!["code"] } else { Vec::new() },
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            scope: c.allowed_scopes.to_string(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            dpop_bound_access_tokens: c.dpop == DpopPolicy::Required,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "dynamic_metadata_tests.rs"]
mod tests;
