//! The records the domain keeps in storage, as plain data: the repositories in `store` take and
//! return these, and convert them to and from their sea-orm entities, so no domain code sees a
//! database row. Lists that the database holds as space-separated columns are typed here
//! ([`Scopes`], [`Resources`], `amr` words) and encoded by the store alone. Times are Unix
//! seconds.

use auth_core::Alg;

use super::values::{Resources, Scopes};

/// A registered client (RFC 6749 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 of the secret; empty for a public client (which has none).
    pub secret_sha256: Vec<u8>,
    /// Whether it may authenticate.
    pub enabled: bool,
    /// Algorithm for its access tokens.
    pub alg: Alg,
    /// Scopes it may be granted.
    pub allowed_scopes: Scopes,
    /// Scopes granted when it asks for none.
    pub default_scopes: Scopes,
    /// Resource indicators it may ask for.
    pub allowed_resources: Resources,
    /// Redirection URIs for the authorization-code flow (RFC 6749 §3.1.2), each valid by
    /// [`validate_redirect_uri`](crate::domain::clients::validate_redirect_uri); a request's `redirect_uri` must equal one of them exactly.
    pub redirect_uris: Vec<String>,
    /// URIs it may be sent back to after logout, checked like the redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (RFC 6749 §2.1): no secret, `token_endpoint_auth_method` `none`, must use
    /// PKCE. It can never authenticate with a secret, so it cannot use client credentials.
    pub public: bool,
    /// A first-party client: the user is not asked for consent.
    pub first_party: bool,
    /// The authorization-code grant gives it a refresh token even without the `offline_access` scope.
    pub always_refresh: bool,
    /// May introspect any token; otherwise only tokens issued to it or meant for one of its
    /// `allowed_resources` (RFC 7662 §4).
    pub introspect_any: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A user, with the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The subject identifier (`sub`): random, stable, never reused.
    pub id: String,
    /// The login name, unique.
    pub username: String,
    /// E-mail address, if known.
    pub email: Option<String>,
    /// Name to display.
    pub display_name: String,
    /// argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Sign-in refused.
    pub disabled: bool,
    /// Registration time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Moves with every change of credentials or standing (see [`crate::domain::users`]).
    pub security_stamp: i64,
}

/// A signing key and where it stands in its lifecycle (see [`crate::domain::keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// 1 for an algorithm's first key, then one more per rotation; unique per algorithm.
    pub generation: i64,
    /// The public JWK, as published.
    pub public_jwk: String,
    /// The PKCS#8 private key sealed under the key-encryption key (empty once revoked).
    pub private_key_sealed: Vec<u8>,
    /// Which key-encryption key sealed it.
    pub kek_id: String,
    /// In the JWKS from.
    pub published_at: i64,
    /// May sign from.
    pub activates_at: i64,
    /// Its successor signs from.
    pub retires_at: Option<i64>,
    /// Out of the JWKS from.
    pub removed_at: Option<i64>,
    /// The associated data of the sealing ([`crate::domain::keys::binding`]).
    pub aad_version: i32,
    /// An operator's emergency revocation.
    pub revoked_at: Option<i64>,
}

/// A single sign-on session; the browser holds only the secret whose digest is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Session id, the `sid` claim.
    pub id: String,
    /// SHA-256 of the cookie secret.
    pub secret_sha256: Vec<u8>,
    /// The signed-in user.
    pub user_id: String,
    /// When the password was entered (`auth_time`).
    pub auth_time: i64,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// Sign-in time.
    pub created_at: i64,
    /// Last use (idle timeout).
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// Ended by logout, a new password or a disabled user.
    pub ended_at: Option<i64>,
}

/// An authorization code (RFC 6749 §4.1.2), known by its digest, and what its redemption issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// SHA-256 of the code.
    pub code_sha256: Vec<u8>,
    /// Issued to.
    pub client_id: String,
    /// Authorized by.
    pub user_id: String,
    /// Under the session.
    pub session_id: String,
    /// The authorization request's exact `redirect_uri`.
    pub redirect_uri: String,
    /// Granted scopes.
    pub scope: Scopes,
    /// Resource indicators asked for.
    pub resources: Resources,
    /// OIDC `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge (RFC 7636 §4.2).
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// How (RFC 8176).
    pub amr: Vec<String>,
    /// Issue time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Redemption time.
    pub used_at: Option<i64>,
    /// The refresh-token family its redemption created.
    pub family_id: Option<String>,
    /// The access token its redemption reserved.
    pub access_jti: Option<String>,
    /// That token's `exp`.
    pub access_exp: Option<i64>,
}

/// A refresh-token family: one user grant and the tokens rotated from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRecord {
    /// Family id.
    pub id: String,
    /// Held by.
    pub client_id: String,
    /// For.
    pub user_id: String,
    /// The session it came from, if any.
    pub session_id: Option<String>,
    /// Granted scopes.
    pub scope: Scopes,
    /// Resource indicators.
    pub resources: Resources,
    /// When the user authenticated.
    pub auth_time: i64,
    /// How (RFC 8176).
    pub amr: Vec<String>,
    /// Grant time.
    pub created_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// One refresh token of a family, known by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 of the token.
    pub token_sha256: Vec<u8>,
    /// Its family.
    pub family_id: String,
    /// Issue time.
    pub created_at: i64,
    /// Idle expiry.
    pub expires_at: i64,
    /// Rotation time; a later use is a reuse.
    pub used_at: Option<i64>,
    /// The access token issued with it.
    pub access_jti: Option<String>,
    /// That token's `exp`.
    pub access_exp: Option<i64>,
}

/// The scopes a user has allowed a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The user.
    pub user_id: String,
    /// The client.
    pub client_id: String,
    /// Allowed scopes.
    pub scope: Scopes,
    /// Last change.
    pub updated_at: i64,
}

/// A consent page shown and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingConsentRecord {
    /// SHA-256 of the form's ticket.
    pub ticket_sha256: Vec<u8>,
    /// Shown to the session.
    pub session_id: String,
    /// For the client.
    pub client_id: String,
    /// SHA-256 of the request's parameters.
    pub request_sha256: Vec<u8>,
    /// Shown at.
    pub created_at: i64,
    /// Answerable until.
    pub expires_at: i64,
    /// Answered at.
    pub used_at: Option<i64>,
}

/// A sign-in throttling counter (`user:<name>`, `addr:<ip>`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRecord {
    /// The key.
    pub key: String,
    /// Attempts counted in the window.
    pub failures: i32,
    /// Start of the window (or the last counted attempt, for a slowed-down key).
    pub window_start: i64,
    /// Refused until.
    pub locked_until: i64,
}
