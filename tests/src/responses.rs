//! The token endpoint's answers, typed: a successful token response (RFC 6749 §5.1, with the OpenID
//! Connect `id_token`) and an error response (RFC 6749 §5.2). Parsing panics with the body when a
//! required member is missing or has the wrong type, so a test reads fields, not JSON.

use serde_json::Value;

/// A successful token response (RFC 6749 §5.1): `access_token`, `token_type` (always `Bearer`
/// here), `expires_in` (seconds); `scope`, `refresh_token` and the OpenID Connect `id_token` (Core
/// §3.1.3.3) when present; and the body as received, for what the fields do not cover.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct TokenResponse {
    pub access_token: String,
    pub scope: Option<String>,
    pub token_type: String,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub id_token: Option<String>,
    pub raw: Value,
}

fn string(body: &Value, name: &str) -> Option<String> {
    body.get(name).map(|v| {
        v.as_str()
            .unwrap_or_else(|| panic!("{name} is not a string in {body}"))
            .to_owned()
    })
}

fn required(body: &Value, name: &str) -> String {
    string(body, name).unwrap_or_else(|| panic!("no {name} in {body}"))
}

impl TokenResponse {
    /// Reads a token response; panics if it is not one.
    pub fn parse(body: &Value) -> Self {
        Self {
            access_token: required(body, "access_token"),
            token_type: required(body, "token_type"),
            expires_in: body["expires_in"]
                .as_i64()
                .unwrap_or_else(|| panic!("no expires_in in {body}")),
            scope: string(body, "scope"),
            refresh_token: string(body, "refresh_token"),
            id_token: string(body, "id_token"),
            raw: body.clone(),
        }
    }

    /// The refresh token; panics if none was issued.
    pub fn refresh(&self) -> &str {
        self.refresh_token
            .as_deref()
            .unwrap_or_else(|| panic!("no refresh_token in {}", self.raw))
    }

    /// The ID token; panics if none was issued.
    pub fn id(&self) -> &str {
        self.id_token
            .as_deref()
            .unwrap_or_else(|| panic!("no id_token in {}", self.raw))
    }
}

/// An error response (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// `error`: the error code.
    pub error: String,
    /// `error_description`, if any.
    pub error_description: Option<String>,
}

impl ErrorBody {
    /// Reads an error response; panics if it is not one.
    pub fn parse(body: &Value) -> Self {
        Self {
            error: required(body, "error"),
            error_description: string(body, "error_description"),
        }
    }
}
