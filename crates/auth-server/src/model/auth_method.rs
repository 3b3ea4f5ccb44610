//! A client's `token_endpoint_auth_method` (RFC 7591 §2, OpenID Connect Core §9).

/// How a client authenticates at the token, introspection and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// A secret in HTTP Basic (RFC 6749 §2.3.1). The secret may also come in the body, as before
    /// the method was recorded: both are the same shared secret.
    #[default]
    ClientSecretBasic,
    /// A secret in the request body (RFC 6749 §2.3.1); Basic is accepted too, as for
    /// [`AuthMethod::ClientSecretBasic`].
    ClientSecretPost,
    /// A JWT signed with one of its registered keys (RFC 7523 §2.2); no secret.
    PrivateKeyJwt,
    /// A public client (RFC 6749 §2.1): no authentication, `client_id` alone.
    None,
}

impl AuthMethod {
    /// Every method, by its registered name.
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    /// The registered name (RFC 7591 §2).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    /// Whether the client holds a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown token_endpoint_auth_method {s:?} (client_secret_basic, \
                     client_secret_post, private_key_jwt or none)"
                )
            })
    }
}
