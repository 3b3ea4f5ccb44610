//! The records the domain keeps in storage, as plain data: the repositories in `store` take and
//! return these, and convert them to and from their sea-orm entities, so no domain code sees a
//! database row. Lists that the database holds as space-separated columns are typed here
//! ([`Scopes`], [`Resources`], `amr` words) and encoded by the store alone. Times are Unix
//! seconds.

use auth_core::Alg;

pub use super::auth_method::AuthMethod;
use super::values::{DpopPolicy, Resources, Scopes};

/// Declares a record from its field list (one of the `with_*_fields!` macros below, which
/// `store::entities` also declares each row's `Model` from): the `[...]` column attributes are the
/// store's business and `as` names the column type of a list kept as space-separated words; the
/// record takes each field with its own type.
macro_rules! record_struct {
    (
        $(#[doc = $doc:literal])*
        $record:ident {
            $(
                $(#[doc = $field_doc:literal])*
                $([$($column_attr:tt)*])?
                $field:ident: $ty:ty $(as $column_ty:ty)?
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $record {
            $(
                $(#[doc = $field_doc])*
                pub $field: $ty,
            )*
        }
    };
}

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
    /// Web origins (`scheme://host[:port]`) allowed to call the token, revocation and userinfo
    /// endpoints from a browser (CORS), besides the origins of its redirect URIs.
    pub allowed_origins: Vec<String>,
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
    /// OpenID Connect Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed when a session
    /// in which it received tokens ends (`None`: it is not told).
    pub backchannel_logout_uri: Option<String>,
    /// §2.2 `backchannel_logout_session_required`: its logout tokens must carry `sid` (ours always do).
    pub backchannel_logout_session_required: bool,
    /// Every sign-in to it needs a second factor (see `domain::mfa`).
    pub require_mfa: bool,
    /// SHA-256 of the secret the last rotation replaced, still accepted until
    /// `previous_secret_expires_at` (`None`: there is none).
    pub previous_secret_sha256: Option<Vec<u8>>,
    /// When the previous secret stops being accepted.
    pub previous_secret_expires_at: Option<i64>,
    /// Its own rate limit at the token, introspection and revocation endpoints (`None`: the
    /// configured default).
    pub rate_limit: Option<super::values::RateLimit>,
    /// How it authenticates at the token, introspection and revocation endpoints (RFC 7591 §2).
    pub token_endpoint_auth_method: AuthMethod,
    /// Its public keys for `private_key_jwt` (RFC 7517 JWK Set, JSON text), if registered inline.
    pub jwks: Option<String>,
    /// Where its public keys for `private_key_jwt` are fetched from, if registered by URL.
    pub jwks_uri: Option<String>,
    /// Whether its token requests may, must or must not carry a DPoP proof (RFC 9449).
    pub dpop: DpopPolicy,
    /// RFC 9126 §6 `require_pushed_authorization_requests`: its authorization requests must come
    /// through `/par`; a plain one is refused with `invalid_request`.
    pub require_pushed_authorization_requests: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// The fields of [`UserRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_user_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// The subject identifier (`sub`): random, stable, never reused.
            [primary_key, auto_increment = false] id: String,
            /// The login name, unique.
            [unique] username: String,
            /// E-mail address, if known.
            email: Option<String>,
            /// Name to display.
            display_name: String,
            /// argon2id PHC string; `None` until a password is set.
            password_hash: Option<String>,
            /// Sign-in refused.
            disabled: bool,
            /// Registration time.
            created_at: i64,
            /// Last change.
            updated_at: i64,
            /// Moves with every change of credentials or standing (see [`crate::domain::users`]).
            security_stamp: i64,
        } }
    };
}
pub(crate) use with_user_fields;

with_user_fields!(record_struct
/// A user, with the password hash.
UserRecord);

/// The fields of [`KeyRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_key_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// RFC 7638 thumbprint of the public key.
            [primary_key, auto_increment = false] kid: String,
            /// `RS256` or `ES256`.
            alg: String,
            /// 1 for an algorithm's first key, then one more per rotation; unique per algorithm.
            generation: i64,
            /// The public JWK, as published.
            public_jwk: String,
            /// The PKCS#8 private key sealed with AES-256-GCM under the key-encryption key: nonce ||
            /// ciphertext || tag (empty once revoked).
            private_key_sealed: Vec<u8>,
            /// Which key-encryption key sealed it (first bytes of its SHA-256).
            kek_id: String,
            /// In the JWKS from.
            published_at: i64,
            /// May sign from.
            activates_at: i64,
            /// Its successor signs from.
            retires_at: Option<i64>,
            /// Out of the JWKS from.
            removed_at: Option<i64>,
            /// The associated data of the sealing ([`crate::domain::keys::binding`]): 1 = `kid|alg` (rows
            /// from before migration m0007, re-sealed at the next reload), 2 = `kid|alg|` + the public
            /// key's RFC 7638 canonical JSON.
            aad_version: i32,
            /// An operator's emergency revocation.
            revoked_at: Option<i64>,
        } }
    };
}
pub(crate) use with_key_fields;

with_key_fields!(record_struct
/// A signing key and where it stands in its lifecycle (see [`crate::domain::keys`]).
KeyRecord);

/// The fields of [`SessionRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_session_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// Session id, the `sid` claim.
            [primary_key, auto_increment = false] id: String,
            /// SHA-256 of the cookie secret; the secret itself is never stored.
            [unique] secret_sha256: Vec<u8>,
            /// The signed-in user.
            user_id: String,
            /// When the password was entered (`auth_time`).
            auth_time: i64,
            /// Authentication methods (RFC 8176).
            amr: Vec<String> as String,
            /// Sign-in time.
            created_at: i64,
            /// Last use (idle timeout).
            last_seen_at: i64,
            /// Absolute end.
            expires_at: i64,
            /// Ended by logout, a new password or a disabled user.
            ended_at: Option<i64>,
            /// The browser's `User-Agent` at sign-in (bounded), for the account page.
            user_agent: Option<String>,
            /// The client address at sign-in, for the account page.
            client_addr: Option<String>,
        } }
    };
}
pub(crate) use with_session_fields;

with_session_fields!(record_struct
/// A single sign-on session; the browser holds only the secret whose digest is here.
SessionRecord);

/// The fields of [`CodeRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_code_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// SHA-256 of the code.
            [primary_key, auto_increment = false] code_sha256: Vec<u8>,
            /// Issued to.
            client_id: String,
            /// Authorized by.
            user_id: String,
            /// Under the session.
            session_id: String,
            /// The authorization request's exact `redirect_uri`.
            redirect_uri: String,
            /// Granted scopes.
            scope: Scopes as String,
            /// Resource indicators asked for.
            resources: Resources as String,
            /// OIDC `nonce`.
            nonce: Option<String>,
            /// PKCE S256 challenge (RFC 7636 §4.2).
            code_challenge: Option<String>,
            /// RFC 9449 §10 `dpop_jkt`: only a proof by this key may redeem it.
            dpop_jkt: Option<String>,
            /// When the user authenticated.
            auth_time: i64,
            /// How (RFC 8176).
            amr: Vec<String> as String,
            /// Issue time.
            created_at: i64,
            /// Expiry.
            expires_at: i64,
            /// Redemption time (a second redemption is refused and revokes what the first issued).
            used_at: Option<i64>,
            /// The refresh-token family its redemption created.
            family_id: Option<String>,
            /// The access token its redemption reserved.
            access_jti: Option<String>,
            /// That token's `exp`.
            access_exp: Option<i64>,
        } }
    };
}
pub(crate) use with_code_fields;

with_code_fields!(record_struct
/// An authorization code (RFC 6749 §4.1.2), known by its digest, and what its redemption issued.
CodeRecord);

/// The fields of [`FamilyRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_family_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// Family id.
            [primary_key, auto_increment = false] id: String,
            /// Held by.
            client_id: String,
            /// For.
            user_id: String,
            /// The session it came from, if any (logout ends the family).
            session_id: Option<String>,
            /// Granted scopes.
            scope: Scopes as String,
            /// Resource indicators.
            resources: Resources as String,
            /// When the user authenticated.
            auth_time: i64,
            /// How (RFC 8176).
            amr: Vec<String> as String,
            /// Grant time.
            created_at: i64,
            /// Absolute end.
            expires_at: i64,
            /// Revocation time.
            revoked_at: Option<i64>,
            /// RFC 9449 §5: the JWK thumbprint its refresh tokens are bound to (public clients
            /// that used DPoP); every refresh needs a proof by that key.
            dpop_jkt: Option<String>,
        } }
    };
}
pub(crate) use with_family_fields;

with_family_fields!(record_struct
/// A refresh-token family: one user grant and the tokens rotated from it.
FamilyRecord);

/// The fields of [`RefreshRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_refresh_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// SHA-256 of the token.
            [primary_key, auto_increment = false] token_sha256: Vec<u8>,
            /// Its family.
            family_id: String,
            /// Issue time.
            created_at: i64,
            /// Idle expiry.
            expires_at: i64,
            /// Rotation time; a later use is a reuse.
            used_at: Option<i64>,
            /// The access token issued with it.
            access_jti: Option<String>,
            /// That token's `exp`.
            access_exp: Option<i64>,
        } }
    };
}
pub(crate) use with_refresh_fields;

with_refresh_fields!(record_struct
/// One refresh token of a family, known by its digest.
RefreshRecord);

/// The fields of [`ConsentRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_consent_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// The user.
            [primary_key, auto_increment = false] user_id: String,
            /// The client.
            [primary_key, auto_increment = false] client_id: String,
            /// Allowed scopes.
            scope: Scopes as String,
            /// Last change.
            updated_at: i64,
        } }
    };
}
pub(crate) use with_consent_fields;

with_consent_fields!(record_struct
/// The scopes a user has allowed a client.
ConsentRecord);

/// The fields of [`PendingConsentRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_pending_consent_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// SHA-256 of the form's ticket.
            [primary_key, auto_increment = false] ticket_sha256: Vec<u8>,
            /// Shown to the session.
            session_id: String,
            /// For the client.
            client_id: String,
            /// SHA-256 of the request's parameters.
            request_sha256: Vec<u8>,
            /// Shown at.
            created_at: i64,
            /// Answerable until.
            expires_at: i64,
            /// Answered at.
            used_at: Option<i64>,
        } }
    };
}
pub(crate) use with_pending_consent_fields;

with_pending_consent_fields!(record_struct
/// A consent page shown and not yet answered.
PendingConsentRecord);

/// The fields of [`ThrottleRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_throttle_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// The key.
            [primary_key, auto_increment = false] key: String,
            /// Attempts counted in the window.
            failures: i32,
            /// Start of the window (or the last counted attempt, for a slowed-down key).
            window_start: i64,
            /// Refused until.
            locked_until: i64,
        } }
    };
}
pub(crate) use with_throttle_fields;

with_throttle_fields!(record_struct
/// A sign-in throttling counter (`user:<name>`, `addr:<ip>`, ...).
ThrottleRecord);

/// The fields of [`AuditRecord`], passed to `$callback` (see `record_struct!`).
macro_rules! with_audit_fields {
    ($callback:ident $($head:tt)*) => {
        $callback! { $($head)* {
            /// Insertion order (0 before it is stored).
            [primary_key] id: i64,
            /// When (Unix seconds).
            at: i64,
            /// The event type, e.g. `sign_in.success`.
            event_type: String,
            /// `user`, `client`, `admin`, `system` or `anonymous`.
            actor_kind: String,
            /// The actor's id, when there is one.
            actor_id: Option<String>,
            /// The user the event is about.
            user_id: Option<String>,
            /// The client the event is about.
            client_id: Option<String>,
            /// What else it is about (a key id, a session...).
            subject: Option<String>,
            /// The client address of the request.
            client_addr: Option<String>,
            /// The request id.
            request_id: Option<String>,
            /// Event-specific details, a JSON object.
            detail: Option<String>,
        } }
    };
}
pub(crate) use with_audit_fields;

with_audit_fields!(record_struct
/// One stored audit event (see `domain::audit` for their meaning).
AuditRecord);
