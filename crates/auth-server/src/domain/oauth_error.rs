//! OAuth 2.0 error responses (RFC 6749 §5.2, RFC 8707 §2), independent of the HTTP framework.

use std::borrow::Cow;

/// An error code from RFC 6749 §5.2 and its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// §5.2: "The request is missing a required parameter, includes an unsupported parameter value
    /// (other than grant type), repeats a parameter, includes multiple credentials, utilizes more than
    /// one mechanism for authenticating the client, or is otherwise malformed."
    InvalidRequest,
    /// §5.2: "Client authentication failed (e.g., unknown client, no client authentication included,
    /// or unsupported authentication method)." HTTP 401.
    InvalidClient,
    /// §5.2: the grant or refresh token is invalid, expired, revoked or mismatched.
    InvalidGrant,
    /// §5.2: "The authenticated client is not authorized to use this authorization grant type."
    UnauthorizedClient,
    /// §5.2: "The authorization grant type is not supported by the authorization server."
    UnsupportedGrantType,
    /// §5.2: "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the
    /// resource owner."
    InvalidScope,
    /// RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."
    InvalidTarget,
    /// §4.1.2.1: "The authorization server does not support obtaining an authorization code using
    /// this method."
    UnsupportedResponseType,
    /// §4.1.2.1: "The resource owner or authorization server denied the request."
    AccessDenied,
    /// OIDC Core §3.1.2.6: `prompt=none` and the user is not signed in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: `prompt=none` and consent is needed.
    ConsentRequired,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// OIDC Core §3.1.2.6: "The request_uri in the Authorization Request returns an error or
    /// contains invalid data" (a pushed request that expired or was used, RFC 9126 §4).
    InvalidRequestUri,
    /// RFC 7009 §2.2.1: "The authorization server does not support the revocation of the presented
    /// token type."
    UnsupportedTokenType,
    /// RFC 9449 §5: "If the DPoP proof is invalid, the authorization server issues an error
    /// response ... with `invalid_dpop_proof`".
    InvalidDpopProof,
    /// RFC 9449 §8: the proof must carry the server nonce sent in `DPoP-Nonce`.
    UseDpopNonce,
    /// An unexpected failure (HTTP 500); details are logged, never returned.
    ServerError,
    /// A dependency (the database) is down; retry later (HTTP 503).
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status RFC 6749 §5.2 prescribes (400, or 401 for `invalid_client`).
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error to answer an OAuth endpoint with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The code.
    pub code: ErrorCode,
    /// Human-readable, safe to show: never internals.
    pub description: Option<Cow<'static, str>>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: Some(description.into()),
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`. One description for every cause, so the answer does not tell which part
    /// was wrong.
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// `temporarily_unavailable` (HTTP 503).
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; retry later",
        )
    }

    /// `server_error` (HTTP 500). The cause must be logged by the caller.
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "internal error")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// RFC 8707 §2 / RFC 9068 §3: a token with no audience is not issued.
impl From<super::values::NoAudience> for OAuthError {
    fn from(_: super::values::NoAudience) -> Self {
        OAuthError::new(
            ErrorCode::InvalidTarget,
            "this client has no resource registered to issue a token for",
        )
    }
}
