//! The authorization request's parameters as received (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), before
//! validation, and back as pairs for the forms that carry them.

/// The parameters as received (from the query or a form), each at most once (`resource` may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge` (RFC 7636 §4.3).
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `response_mode`.
    pub response_mode: Option<String>,
    /// `request` (not supported).
    pub request: Option<String>,
    /// `request_uri` (not supported).
    pub request_uri: Option<String>,
    /// `resource` (RFC 8707), repeatable.
    pub resources: Vec<String>,
    /// Whether a single-valued parameter was repeated (RFC 6749 §3.1: "MUST NOT be included more
    /// than once"), which is `invalid_request` once the redirect URI is trusted.
    pub repeated: bool,
}

impl AuthorizeParams {
    /// The names this request understands; others are ignored (OIDC Core §3.1.2.1 lets an OP ignore
    /// parameters it does not understand).
    pub const NAMES: [&'static str; 15] = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "login_hint",
        "response_mode",
        "request",
        "request_uri",
        "resource",
    ];

    /// Sets a single-valued parameter by name; false for an unknown name.
    pub fn set(&mut self, name: &str, value: String) -> bool {
        let slot = match name {
            "response_type" => &mut self.response_type,
            "client_id" => &mut self.client_id,
            "redirect_uri" => &mut self.redirect_uri,
            "scope" => &mut self.scope,
            "state" => &mut self.state,
            "nonce" => &mut self.nonce,
            "code_challenge" => &mut self.code_challenge,
            "code_challenge_method" => &mut self.code_challenge_method,
            "prompt" => &mut self.prompt,
            "max_age" => &mut self.max_age,
            "login_hint" => &mut self.login_hint,
            "response_mode" => &mut self.response_mode,
            "request" => &mut self.request,
            "request_uri" => &mut self.request_uri,
            "resource" => {
                self.resources.push(value);
                return true;
            }
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// The parameters as (name, value) pairs, to carry them through the login and consent forms.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let single = [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("response_mode", &self.response_mode),
        ];
        let mut out: Vec<(String, String)> = single
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
            .collect();
        out.extend(
            self.resources
                .iter()
                .map(|r| ("resource".to_owned(), r.clone())),
        );
        out
    }
}
