//! The client-credentials grant (RFC 6749 §4.4).

use super::super::clients::Client;
use super::super::oauth_error::{ErrorCode, OAuthError};
use super::super::tokens::{AccessTokenRequest, TokenIssuer};
use super::super::values::{ResourceError, Resources, ScopeError, Scopes};

/// The grant's parameters, already parsed from the form.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentialsRequest {
    /// `scope` (RFC 6749 §3.3), if sent.
    pub scope: Option<String>,
    /// Every `resource` parameter (RFC 8707 §2; may repeat).
    pub resources: Vec<String>,
    /// The thumbprint of the request's checked DPoP proof key (RFC 9449 §5): the token is bound
    /// to it.
    pub dpop_jkt: Option<String>,
}

/// The successful response body fields (RFC 6749 §5.1). `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The JWT.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Granted scopes, space-separated, if any.
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// What the client may have: the scopes and audiences of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Granted scopes.
    pub scopes: Scopes,
    /// Audiences.
    pub audience: Vec<String>,
}

/// Checks the request against the client's registration.
///
/// - RFC 6749 §4.4.2 / §3.3: "If the client omits the scope parameter when requesting authorization,
///   the authorization server MUST either process the request using a pre-defined default value or
///   fail the request": we use the client's default scopes. A scope it may not have is `invalid_scope`.
/// - RFC 8707 §2: each `resource` must be an absolute URI without fragment and one the client may
///   use, else `invalid_target`. Without `resource`, the audience is every resource the client may
///   use; a client with none registered cannot obtain a token (RFC 9068 §3 requires `aud`).
pub fn decide(client: &Client, req: &ClientCredentialsRequest) -> Result<Decision, OAuthError> {
    let scopes = match &req.scope {
        None => client.default_scopes.clone(),
        Some(s) => Scopes::parse_allowed(s, &client.allowed_scopes).map_err(|e| match e {
            ScopeError::Malformed => OAuthError::new(ErrorCode::InvalidScope, "malformed scope"),
            ScopeError::NotAllowed(token) => OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {token:?} is not allowed for this client"),
            ),
        })?,
    };
    let resources = Resources::parse_allowed(&req.resources, &client.allowed_resources).map_err(
        |e| match e {
            ResourceError::Invalid(problem) => {
                OAuthError::new(ErrorCode::InvalidTarget, format!("resource {problem}"))
            }
            ResourceError::NotAllowed => OAuthError::new(
                ErrorCode::InvalidTarget,
                "the requested resource is not allowed for this client",
            ),
        },
    )?;
    let audience = resources.audience(&client.allowed_resources, None)?;
    Ok(Decision { scopes, audience })
}

/// Runs the grant for an authenticated client.
pub async fn grant(
    issuer: &TokenIssuer,
    client: &Client,
    req: &ClientCredentialsRequest,
) -> Result<TokenGrant, OAuthError> {
    let decision = decide(client, req)?;
    let scope = decision.scopes.to_optional_string();
    let signed = issuer
        .access_token(AccessTokenRequest {
            alg: client.alg,
            sub: client.id.clone(),
            client_id: client.id.clone(),
            audience: decision.audience,
            scopes: decision.scopes,
            jkt: req.dpop_jkt.clone(),
        })
        .await
        .map_err(super::issue_error)?;
    Ok(TokenGrant {
        access_token: signed.token,
        expires_in: signed.expires_in,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::Alg;

    fn client() -> Client {
        Client {
            id: "c1".into(),
            name: "c".into(),
            secret_sha256: vec![],
            enabled: true,
            alg: Alg::Es256,
            allowed_scopes: Scopes::from(&["a", "b"][..]),
            default_scopes: Scopes::from(&["a"][..]),
            allowed_resources: ["https://api.one", "https://api.two"].into_iter().collect(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            public: false,
            first_party: false,
            always_refresh: false,
            introspect_any: false,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            require_mfa: false,
            previous_secret_sha256: None,
            previous_secret_expires_at: None,
            rate_limit: None,
            token_endpoint_auth_method: Default::default(),
            jwks: None,
            jwks_uri: None,
            dpop: Default::default(),
            require_pushed_authorization_requests: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn req(scope: Option<&str>, resources: &[&str]) -> ClientCredentialsRequest {
        ClientCredentialsRequest {
            scope: scope.map(str::to_owned),
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            dpop_jkt: None,
        }
    }

    fn code(r: Result<Decision, OAuthError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn defaults_apply_when_omitted() {
        let d = decide(&client(), &req(None, &[])).ok();
        assert_eq!(
            d.as_ref().map(|d| d.scopes.to_vec()),
            Some(vec!["a".to_owned()])
        );
        assert_eq!(d.map(|d| d.audience.len()), Some(2));
    }

    #[test]
    fn requested_scopes_and_resources_are_checked() {
        let d = decide(&client(), &req(Some("b a b"), &["https://api.two"])).ok();
        assert_eq!(
            d,
            Some(Decision {
                scopes: Scopes::from(&["b", "a"][..]),
                audience: vec!["https://api.two".into()]
            })
        );
        assert_eq!(
            code(decide(&client(), &req(Some("c"), &[]))),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            code(decide(&client(), &req(Some("a  b"), &[]))),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            code(decide(&client(), &req(Some(""), &[]))),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            code(decide(&client(), &req(None, &["https://evil"]))),
            Some(ErrorCode::InvalidTarget)
        );
        assert_eq!(
            code(decide(&client(), &req(None, &["relative"]))),
            Some(ErrorCode::InvalidTarget)
        );
    }

    #[test]
    fn no_audience_no_token() {
        let mut c = client();
        c.allowed_resources = Resources::default();
        assert_eq!(
            code(decide(&c, &req(None, &[]))),
            Some(ErrorCode::InvalidTarget)
        );
    }
}
