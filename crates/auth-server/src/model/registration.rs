//! The records of dynamic client registration (RFC 7591, RFC 7592): initial access tokens and the
//! registration of a dynamically registered client.

/// An initial access token (RFC 7591 §3: "OAuth 2.0 access token optionally issued by an
/// authorization server to a developer or client and used to authorize calls to the client
/// registration endpoint"), as stored: its digest, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationToken {
    /// A short id that names it in listings, audit events and `revoke`.
    pub id: String,
    /// SHA-256 of the token.
    pub token_sha256: Vec<u8>,
    /// The scopes a client registered with it may be allowed (its policy).
    pub allowed_scopes: Vec<String>,
    /// The resource indicators (RFC 8707) a client registered with it may get tokens for: what
    /// the client credentials grant needs an audience from.
    pub allowed_resources: Vec<String>,
    /// How many registrations it allows (`None`: unlimited).
    pub max_uses: Option<i64>,
    /// How many registrations it has made.
    pub uses: i64,
    /// When it stops working (`None`: never).
    pub expires_at: Option<i64>,
    /// When an operator revoked it.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

impl RegistrationToken {
    /// Whether it still allows a registration at `now`.
    pub fn usable(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|e| now < e)
            && self.max_uses.is_none_or(|m| self.uses < m)
    }
}

/// A dynamically registered client's registration (RFC 7592): the digest of its registration
/// access token and the scope policy of the initial access token it was registered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The client.
    pub client_id: String,
    /// SHA-256 of its registration access token.
    pub access_token_sha256: Vec<u8>,
    /// The initial access token that registered it.
    pub registration_token_id: String,
    /// The scopes it may ever be allowed (the initial access token's policy at registration).
    pub allowed_scopes: Vec<String>,
    /// The client's `created_at`: a registration names this client, not a later one with its id.
    pub client_created_at: i64,
    /// Creation time.
    pub created_at: i64,
}
