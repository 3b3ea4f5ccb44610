//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1) and its validation.

use std::sync::Arc;

use crate::domain::clients::{Client, redirect_uri_matches};
use crate::domain::oauth_error::{ErrorCode, OAuthError};
use crate::domain::values::{Resources, ScopeError, Scopes};

pub use super::params::AuthorizeParams;
pub use super::redirect::{code_redirect, error_redirect, with_query};

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: never show a page; answer `login_required` / `consent_required` instead.
    pub none: bool,
    /// `login`: ask for the password even with a session.
    pub login: bool,
    /// `consent`: ask for consent even when remembered.
    pub consent: bool,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client.
    pub client: Arc<Client>,
    /// The exact, registered redirect URI.
    pub redirect_uri: String,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// Requested scopes (deduplicated, in order).
    pub scopes: Scopes,
    /// `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// Resource indicators.
    pub resources: Resources,
    /// RFC 9449 §10 `dpop_jkt`: the code may only be redeemed with a proof by this key.
    pub dpop_jkt: Option<String>,
    /// The original parameters (for the forms).
    pub params: AuthorizeParams,
}

/// Why a request cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// RFC 6749 §4.1.2.1: "If the request fails due to a missing, invalid, or mismatching redirection
    /// URI, or if the client identifier is missing or invalid, the authorization server SHOULD inform
    /// the resource owner of the error and MUST NOT automatically redirect the user-agent to the
    /// invalid redirection URI." An error page, with this message.
    Page(&'static str),
    /// Any other error goes back to the client by redirect.
    Redirect(String),
}

/// Why a request cannot be answered at its redirect URI (RFC 6749 §4.1.2.1): the client or the
/// redirect URI is missing or invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    /// No such client, or it is disabled.
    Client,
    /// No `redirect_uri`.
    NoRedirectUri,
    /// A `redirect_uri` the client has not registered.
    UnregisteredRedirectUri,
}

impl Untrusted {
    /// The error page's message, for the user.
    pub fn page(self) -> &'static str {
        match self {
            Self::Client => "The application that sent you here is not registered or is disabled.",
            Self::NoRedirectUri => {
                "The application did not say where to return you (redirect_uri is missing)."
            }
            Self::UnregisteredRedirectUri => {
                "The application asked to return you to an address it has not registered."
            }
        }
    }

    /// The `error_description` of the `invalid_request` that answers a pushed request (RFC 9126
    /// §2.3: "the invalid_request error code can be used as the default error code"), for the
    /// client's developer.
    pub fn description(self) -> &'static str {
        match self {
            Self::Client => "the client is unknown or disabled",
            Self::NoRedirectUri => "redirect_uri is required",
            Self::UnregisteredRedirectUri => "redirect_uri is not registered for this client",
        }
    }
}

/// Why a request is refused, before the refusal is shaped for its endpoint: an error page or
/// redirect at `/authorize` ([`validate`]), a JSON error at `/par`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The redirect URI cannot be trusted.
    Untrusted(Untrusted),
    /// Any other error, for the client (its registered `redirect_uri` and `state`).
    Client {
        /// The registered redirect URI the request named.
        redirect_uri: String,
        /// `state`, to echo.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
}

/// Longest accepted `state` / `nonce` / `login_hint`.
const MAX_PARAM_LEN: usize = 2048;

/// Validates `params` against `client` (already looked up by `client_id`; `None` when unknown).
pub fn validate(
    params: AuthorizeParams,
    client: Option<Arc<Client>>,
    issuer: &str,
    require_pkce: bool,
) -> Result<AuthorizeRequest, RequestError> {
    check(params, client, require_pkce).map_err(|r| match r {
        Refusal::Untrusted(u) => RequestError::Page(u.page()),
        Refusal::Client {
            redirect_uri,
            state,
            error,
        } => RequestError::Redirect(error_redirect(
            &redirect_uri,
            &error,
            state.as_deref(),
            issuer,
        )),
    })
}

/// The checks of [`validate`], with the refusal unshaped (the one validation of an authorization
/// request, wherever it arrives: `/authorize` or `/par`).
pub fn check(
    params: AuthorizeParams,
    client: Option<Arc<Client>>,
    require_pkce: bool,
) -> Result<AuthorizeRequest, Refusal> {
    let Some(client) = client.filter(|c| c.enabled) else {
        return Err(Refusal::Untrusted(Untrusted::Client));
    };
    let Some(redirect_uri) = params.redirect_uri.clone() else {
        return Err(Refusal::Untrusted(Untrusted::NoRedirectUri));
    };
    // RFC 9700 §4.1.3 / OIDC Core §3.1.2.1: exact string matching, but for the port of a loopback IP
    // redirect URI (RFC 8252 §7.3).
    if !client
        .redirect_uris
        .iter()
        .any(|r| redirect_uri_matches(r, &redirect_uri))
    {
        return Err(Refusal::Untrusted(Untrusted::UnregisteredRedirectUri));
    }
    let state = params.state.clone();
    let fail = |code: ErrorCode, description: &'static str| Refusal::Client {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error: OAuthError::new(code, description),
    };
    if params.repeated {
        return Err(fail(ErrorCode::InvalidRequest, "a parameter is repeated"));
    }
    let too_long = [&params.state, &params.nonce, &params.login_hint]
        .iter()
        .any(|p| p.as_ref().is_some_and(|v| v.len() > MAX_PARAM_LEN));
    if too_long {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "state, nonce and login_hint are limited to 2048 bytes",
        ));
    }
    // Control characters (NUL above all: PostgreSQL cannot store it in the code's nonce) are never
    // meaningful here; RFC 6749 Appendix A.5 limits state to VSCHAR.
    let has_control = [&params.state, &params.nonce, &params.login_hint]
        .iter()
        .any(|p| p.as_ref().is_some_and(|v| v.chars().any(char::is_control)));
    if has_control {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "state, nonce and login_hint must not contain control characters",
        ));
    }
    if params.request.is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.request_uri.is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if params
        .response_mode
        .as_deref()
        .is_some_and(|m| m != "query" && m != "form_post")
    {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        ));
    }
    let scopes = match params.scope.as_deref() {
        None => client.default_scopes.clone(),
        Some(s) => Scopes::parse_allowed(s, &client.allowed_scopes).map_err(|e| match e {
            ScopeError::Malformed => fail(ErrorCode::InvalidScope, "malformed scope"),
            ScopeError::NotAllowed(_) => fail(
                ErrorCode::InvalidScope,
                "a requested scope is not allowed for this client",
            ),
        })?,
    };
    // RFC 7636 §4.4.1 and RFC 9700 §2.1.1: S256 only; required for public clients, and for all by default.
    let code_challenge = match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (None, None) if client.public || require_pkce => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "transform algorithm not supported: only S256 is accepted",
            ));
        }
        (Some(_), None) => {
            // RFC 7636 §4.3 would default to "plain", which is refused.
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method=S256 is required (plain is not accepted)",
            ));
        }
        (Some(c), Some(_)) => {
            if !super::pkce::is_valid_challenge(c) {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
                ));
            }
            Some(c.to_owned())
        }
    };
    let mut prompt = Prompt::default();
    if let Some(p) = params.prompt.as_deref() {
        for v in p.split(' ') {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err(fail(ErrorCode::InvalidRequest, "unknown prompt value")),
            }
        }
        // OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an error is returned."
        if prompt.none && p.split(' ').count() > 1 {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with other values",
            ));
        }
    }
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    let resources = Resources::parse_allowed(&params.resources, &client.allowed_resources)
        .map_err(|_| {
            fail(
                ErrorCode::InvalidTarget,
                "a requested resource is invalid or not allowed for this client",
            )
        })?;
    // RFC 9449 §10: a JWK SHA-256 thumbprint, base64url (43 characters).
    let dpop_jkt = params.dpop_jkt.clone();
    if dpop_jkt
        .as_deref()
        .is_some_and(|j| !super::pkce::is_valid_challenge(j))
    {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)",
        ));
    }
    Ok(AuthorizeRequest {
        dpop_jkt,
        redirect_uri,
        state,
        scopes,
        nonce: params.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.login_hint.clone(),
        resources,
        client,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::Alg;

    fn client() -> Arc<Client> {
        Arc::new(Client {
            id: "app".into(),
            name: "App".into(),
            secret_sha256: vec![1],
            enabled: true,
            alg: Alg::Es256,
            allowed_scopes: Scopes::from(&["openid", "profile"][..]),
            default_scopes: Scopes::from(&["openid"][..]),
            allowed_resources: Resources::default(),
            created_at: 0,
            updated_at: 0,
            redirect_uris: vec!["https://app.example/cb".into()],
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
        })
    }

    fn params(extra: &[(&str, &str)]) -> AuthorizeParams {
        let mut p = AuthorizeParams::default();
        for (k, v) in [
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", "https://app.example/cb"),
            ("state", "s1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .chain(extra)
        {
            p.set(k, (*v).to_owned());
        }
        p
    }

    /// The error redirect for the good request with `extra` parameters, from a PKCE-requiring
    /// `https://idp`.
    fn redirect_error(extra: &[(&str, &str)]) -> String {
        match validate(params(extra), Some(client()), "https://idp", true) {
            Err(RequestError::Redirect(u)) => u,
            other => format!("not a redirect: {other:?}"),
        }
    }

    #[test]
    fn a_good_request_passes() {
        let r = validate(params(&[]), Some(client()), "https://idp", true);
        let r = r.ok();
        assert_eq!(
            r.as_ref().map(|r| r.scopes.to_vec()),
            Some(vec!["openid".to_owned()])
        );
        assert_eq!(r.and_then(|r| r.state), Some("s1".to_owned()));
    }

    #[test]
    fn an_untrusted_redirect_is_never_followed() {
        let mut p = params(&[]);
        p.redirect_uri = Some("https://evil.example/cb".into());
        assert!(matches!(
            validate(p, Some(client()), "https://idp", true),
            Err(RequestError::Page(_))
        ));
        let mut p = params(&[]);
        p.redirect_uri = Some("https://app.example/cb/".into());
        assert!(matches!(
            validate(p, Some(client()), "https://idp", true),
            Err(RequestError::Page(_))
        ));
        assert!(matches!(
            validate(params(&[]), None, "https://idp", true),
            Err(RequestError::Page(_))
        ));
    }

    #[test]
    fn other_errors_redirect_with_state_and_iss() {
        let u = redirect_error(&[("response_type", "token")]);
        assert!(
            u.starts_with("https://app.example/cb?error=unsupported_response_type&"),
            "{u}"
        );
        assert!(u.contains("&state=s1&iss=https%3A%2F%2Fidp"), "{u}");
        let u = redirect_error(&[("scope", "openid admin")]);
        assert!(u.contains("error=invalid_scope"), "{u}");
        let u = redirect_error(&[("code_challenge_method", "plain")]);
        assert!(u.contains("error=invalid_request"), "{u}");
        let u = redirect_error(&[("prompt", "none login")]);
        assert!(u.contains("error=invalid_request"), "{u}");
    }

    #[test]
    fn control_characters_in_free_text_are_refused() {
        for name in ["state", "nonce", "login_hint"] {
            let u = redirect_error(&[(name, "a\0b")]);
            assert!(u.contains("error=invalid_request"), "{name}: {u}");
        }
        assert!(validate(params(&[("nonce", "é ü")]), Some(client()), "i", true).is_ok());
    }

    #[test]
    fn pkce_is_required_by_default_and_always_for_public_clients() {
        let mut p = params(&[]);
        p.code_challenge = None;
        p.code_challenge_method = None;
        assert!(validate(p.clone(), Some(client()), "i", true).is_err());
        assert!(validate(p.clone(), Some(client()), "i", false).is_ok());
        let mut public = (*client()).clone();
        public.public = true;
        assert!(validate(p, Some(Arc::new(public)), "i", false).is_err());
    }
}
