//! Why a service token could not be had: the token endpoint's RFC 6749 §5.2 error, typed.

use std::fmt;

/// Getting a token failed. Cheap to clone (concurrent callers waiting for one request all get its
/// error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceTokenError {
    /// The source's configuration is unusable (a token endpoint or issuer that is not https, or
    /// http on loopback).
    #[error("invalid token source configuration: {0}")]
    Config(String),
    /// The token endpoint (or the discovery document) could not be reached: connection failure or
    /// timeout.
    #[error("token endpoint unreachable: {0}")]
    Unreachable(String),
    /// The issuer's discovery document is unusable (status, size, JSON, `issuer` mismatch, no
    /// `token_endpoint`, a `token_endpoint` that is not https).
    #[error("token endpoint discovery failed: {0}")]
    Discovery(String),
    /// The token endpoint refused, with its RFC 6749 §5.2 error.
    #[error("token endpoint refused: {0}")]
    Refused(OAuthError),
    /// The answer is not a usable token response (RFC 6749 §5.1, RFC 8693 §2.2.1).
    #[error("unexpected token response: {0}")]
    Invalid(String),
    /// The subject token of an exchange has already expired: nothing was sent.
    #[error("the subject token has expired")]
    SubjectExpired,
}

/// An error response of the token endpoint (RFC 6749 §5.2; RFC 8707 §2 adds `invalid_target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The HTTP status.
    pub status: u16,
    /// The `error` code; [`OAuthErrorCode::Other`] when absent or not JSON.
    pub code: OAuthErrorCode,
    /// `error_description`, if any (text from the IdP, for logs).
    pub description: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.code.as_str())?;
        if let Some(d) = &self.description {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// The `error` codes of RFC 6749 §5.2 and RFC 8707 §2.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`: this service's credentials were refused.
    InvalidClient,
    /// `invalid_grant`: for an exchange, the subject token is expired, revoked or not this IdP's.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant (no exchange policy).
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`: a scope outside what may be granted.
    InvalidScope,
    /// `invalid_target`: a `resource` outside what may be granted (RFC 8707 §2).
    InvalidTarget,
    /// Any other code (kept as sent, at most 64 characters), or `-` without one.
    Other(String),
}

impl OAuthErrorCode {
    /// From the `error` member of the response.
    pub fn parse(code: Option<&str>) -> Self {
        match code {
            Some("invalid_request") => Self::InvalidRequest,
            Some("invalid_client") => Self::InvalidClient,
            Some("invalid_grant") => Self::InvalidGrant,
            Some("unauthorized_client") => Self::UnauthorizedClient,
            Some("unsupported_grant_type") => Self::UnsupportedGrantType,
            Some("invalid_scope") => Self::InvalidScope,
            Some("invalid_target") => Self::InvalidTarget,
            Some(other) => Self::Other(other.chars().take(64).collect()),
            None => Self::Other("-".into()),
        }
    }

    /// The code as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::Other(s) => s,
        }
    }
}
