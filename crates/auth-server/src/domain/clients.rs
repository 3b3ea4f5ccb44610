//! The client registry: creation, lookup through an in-memory cache, and authentication.
//!
//! Client secrets are generated here (256 random bits), shown once, and stored only as a SHA-256
//! digest. They are not human passwords, so a fast digest compared in constant time is as strong as a
//! slow hash and costs microseconds; authenticating a client does no database write.
//!
//! A *public* client (RFC 6749 §2.1: a browser or native app that cannot keep a secret) gets no
//! secret at all: its stored digest is empty, [`ClientRegistry::authenticate`] always refuses it, and
//! it takes part only in the authorization-code flow, with PKCE.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Alg, Clock};
use moka::future::Cache;

use crate::domain::random;
use crate::store::entities::client;
use crate::store::{Store, StoreError};

/// Bytes of randomness in a generated client secret.
pub const SECRET_BYTES: usize = 32;
/// Longest client secret accepted for comparison; anything longer is refused unhashed.
pub const MAX_SECRET_LEN: usize = 512;
/// Longest client id accepted for lookup.
pub const MAX_CLIENT_ID_LEN: usize = 255;
/// Longest redirect URI accepted (RFC 8252 leaves it open; browsers cope with 2048 everywhere).
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// A registered client, parsed from its row.
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
    pub allowed_scopes: Vec<String>,
    /// Scopes granted when it asks for none.
    pub default_scopes: Vec<String>,
    /// Resource indicators it may ask for.
    pub allowed_resources: Vec<String>,
    /// Redirection URIs for the authorization-code flow (RFC 6749 §3.1.2), each valid by
    /// [`validate_redirect_uri`]; a request's `redirect_uri` must equal one of them exactly.
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
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl TryFrom<client::Model> for Client {
    type Error = StoreError;

    fn try_from(m: client::Model) -> Result<Self, Self::Error> {
        let alg = m
            .signing_alg
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("client {}: {e}", m.client_id)))?;
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect();
        Ok(Self {
            alg,
            allowed_scopes: words(&m.allowed_scopes),
            default_scopes: words(&m.default_scopes),
            allowed_resources: words(&m.allowed_resources),
            redirect_uris: words(&m.redirect_uris),
            post_logout_redirect_uris: words(&m.post_logout_redirect_uris),
            public: m.public,
            first_party: m.first_party,
            always_refresh: m.always_refresh,
            id: m.client_id,
            name: m.name,
            secret_sha256: m.secret_sha256,
            enabled: m.enabled,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// What an operator asks for when registering a client.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// A chosen id, or `None` for a random one.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Token algorithm.
    pub alg: Alg,
    /// Scopes it may be granted.
    pub allowed_scopes: Vec<String>,
    /// Scopes granted by default (must be a subset of the allowed ones).
    pub default_scopes: Vec<String>,
    /// Resource indicators it may ask for.
    pub allowed_resources: Vec<String>,
    /// Redirection URIs (each must pass [`validate_redirect_uri`]; duplicates are dropped).
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs (same rules).
    pub post_logout_redirect_uris: Vec<String>,
    /// Register a public client: no secret is generated, PKCE is required.
    pub public: bool,
    /// Skip the consent screen for this client.
    pub first_party: bool,
    /// Issue a refresh token from the code grant even without `offline_access`.
    pub always_refresh: bool,
}

/// Why client authentication failed (all become `invalid_client` on the wire).
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// No such client, wrong secret, or disabled.
    #[error("client authentication failed")]
    Rejected,
    /// Storage is down.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's request was not valid.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Invalid input, with a message for the operator.
    #[error("{0}")]
    Invalid(String),
    /// The client id is taken.
    #[error("a client with id {0:?} already exists")]
    Exists(String),
    /// The client is public and has no secret (refused by [`ClientRegistry::rotate_secret`]).
    #[error(
        "client {0:?} is public: it has no secret to rotate (it authenticates with PKCE, not a secret)"
    )]
    PublicClient(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Clients, cached.
#[derive(Debug, Clone)]
pub struct ClientRegistry {
    store: Store,
    clock: Arc<dyn Clock>,
    cache: Cache<String, Option<Arc<Client>>>,
}

impl ClientRegistry {
    /// A registry whose cache entries live `ttl`: the bound on how long a change made elsewhere
    /// (CLI, another replica) takes to be seen. Unknown ids are cached too, so a flood of made-up
    /// ids does not reach the database more than once per id and `ttl`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            store,
            clock,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The client `id`, from the cache or the database.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        // An id no client can have is answered without a lookup (and a NUL byte never reaches
        // PostgreSQL, which would refuse the query).
        if validate_client_id(id).is_err() {
            return Ok(None);
        }
        if let Some(hit) = self.cache.get(id).await {
            return Ok(hit);
        }
        let store = self.store.clone();
        let key = id.to_owned();
        self.cache
            .try_get_with(key.clone(), async move {
                match store.find_client(&key).await? {
                    Some(row) => Ok(Some(Arc::new(Client::try_from(row)?))),
                    None => Ok(None),
                }
            })
            .await
            .map_err(|e: Arc<StoreError>| match &*e {
                StoreError::Unavailable(db) => {
                    StoreError::Unavailable(sea_orm::DbErr::Custom(db.to_string()))
                }
                StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
                StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
            })
    }

    /// Authenticates with a client secret (RFC 6749 §2.3.1).
    pub async fn authenticate(&self, id: &str, secret: &str) -> Result<Arc<Client>, AuthnError> {
        if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN || secret.len() > MAX_SECRET_LEN {
            return Err(AuthnError::Rejected);
        }
        let Some(client) = self.get(id).await? else {
            // Same work as a wrong secret, so timing does not separate the two.
            let _ = random::secret_matches(secret, &[0u8; 32]);
            return Err(AuthnError::Rejected);
        };
        // Hashed even for a public client, so timing does not tell it apart either. A public
        // client's digest is empty and a 32-byte digest never equals it, but it is refused explicitly.
        let secret_ok = random::secret_matches(secret, &client.secret_sha256);
        if secret_ok && client.enabled && !client.public && !client.secret_sha256.is_empty() {
            Ok(client)
        } else {
            Err(AuthnError::Rejected)
        }
    }

    /// Registers a client; returns it with its secret, which is not stored and cannot be shown again.
    /// A public client gets no secret (`None`) and an empty stored digest.
    pub async fn create(&self, new: NewClient) -> Result<(Client, Option<String>), RegistryError> {
        let id = match new.id {
            Some(id) => id,
            None => random::token(16),
        };
        validate_client_id(&id)?;
        // Client-credentials tokens carry the client id as `sub`, user tokens the user id: the two
        // must never meet, or a client could obtain tokens that name a user as their subject.
        if self
            .store
            .find_user(&id)
            .await
            .map_err(RegistryError::Store)?
            .is_some()
        {
            return Err(RegistryError::Invalid(format!(
                "client id {id:?} is the subject id of a user; choose another"
            )));
        }
        for s in new.allowed_scopes.iter().chain(&new.default_scopes) {
            validate_scope_token(s)?;
        }
        if let Some(extra) = new
            .default_scopes
            .iter()
            .find(|s| !new.allowed_scopes.contains(s))
        {
            return Err(RegistryError::Invalid(format!(
                "default scope {extra:?} is not among the allowed scopes"
            )));
        }
        for r in &new.allowed_resources {
            validate_resource(r)
                .map_err(|p| RegistryError::Invalid(format!("resource {r:?} {p}")))?;
        }
        let redirect_uris = checked_uris("redirect URI", new.redirect_uris)?;
        let post_logout_redirect_uris =
            checked_uris("post-logout redirect URI", new.post_logout_redirect_uris)?;
        let (secret, secret_sha256) = if new.public {
            (None, Vec::new())
        } else {
            let secret = random::token(SECRET_BYTES);
            let digest = random::sha256(secret.as_bytes());
            (Some(secret), digest)
        };
        let now = self.clock.now();
        let row = client::Model {
            client_id: id.clone(),
            name: new.name,
            secret_sha256,
            enabled: true,
            signing_alg: new.alg.as_str().to_owned(),
            allowed_scopes: new.allowed_scopes.join(" "),
            default_scopes: new.default_scopes.join(" "),
            allowed_resources: new.allowed_resources.join(" "),
            redirect_uris: redirect_uris.join(" "),
            post_logout_redirect_uris: post_logout_redirect_uris.join(" "),
            public: new.public,
            first_party: new.first_party,
            always_refresh: new.always_refresh,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_client(row.clone()).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(RegistryError::Exists(id)),
            Err(e) => return Err(RegistryError::Store(e)),
        }
        self.cache.invalidate(&id).await;
        let client = Client::try_from(row).map_err(RegistryError::Store)?;
        Ok((client, secret))
    }

    /// Every client.
    pub async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.store
            .list_clients()
            .await?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    /// Enables or disables; false if no such client.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<bool, StoreError> {
        let found = self
            .store
            .set_client_enabled(id, enabled, self.clock.now())
            .await?;
        self.cache.invalidate(id).await;
        Ok(found)
    }

    /// Issues a new secret (the old one stops working); `None` if no such client.
    /// [`RegistryError::PublicClient`] for a public client, which never has a secret.
    pub async fn rotate_secret(&self, id: &str) -> Result<Option<String>, RegistryError> {
        let Some(row) = self
            .store
            .find_client(id)
            .await
            .map_err(RegistryError::Store)?
        else {
            return Ok(None);
        };
        if row.public {
            return Err(RegistryError::PublicClient(id.to_owned()));
        }
        let secret = random::token(SECRET_BYTES);
        let digest = random::sha256(secret.as_bytes());
        let found = self
            .store
            .set_client_secret(id, digest, self.clock.now())
            .await
            .map_err(RegistryError::Store)?;
        self.cache.invalidate(id).await;
        Ok(found.then_some(secret))
    }
}

/// Validates each URI (`what` names them in the error) and drops exact duplicates, keeping order.
fn checked_uris(what: &str, uris: Vec<String>) -> Result<Vec<String>, RegistryError> {
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        validate_redirect_uri(&uri)
            .map_err(|p| RegistryError::Invalid(format!("{what} {uri:?} {p}")))?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

/// Checks a redirection URI (or a post-logout redirect URI) at registration.
///
/// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI as defined by
/// [RFC3986] Section 4.3. ... The endpoint URI MUST NOT include a fragment component."
///
/// Which schemes and hosts, following RFC 8252 (OAuth 2.0 for Native Apps):
/// - `https` with any (non-empty) host: web applications, and claimed "https" scheme URIs (§7.2);
/// - `http` only on the loopback interface, host exactly `127.0.0.1`, `[::1]` or `localhost`, any
///   port (§7.3: "Loopback redirect URIs use the "http" scheme and are constructed with the
///   loopback IP literal and whatever port the client is listening on"; §8.3: they are safe
///   because the traffic never leaves the device);
/// - a private-use scheme containing a `.`, such as `com.example.app:/oauth2redirect` (§7.1:
///   "apps MUST use a URI scheme based on a domain name under their control, expressed in reverse
///   order").
///
/// Always refused: `javascript:`, `data:`, `file:` and `vbscript:` (they would run code or read
/// files in the browser instead of redirecting), a fragment, whitespace, control or non-ASCII
/// characters, user information (`user@host`, which hides the real host from a reader), and more
/// than [`MAX_REDIRECT_URI_LEN`] (2048) bytes. Scheme names are case-insensitive; hosts are compared
/// as written. The error is a phrase that follows the URI in a message ("must not ...").
pub fn validate_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err("must be at most 2048 bytes");
    }
    if uri.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err("must not contain whitespace, control or non-ASCII characters");
    }
    if uri.contains('#') {
        return Err("must not include a fragment (RFC 6749 §3.1.2)");
    }
    if !uri_chars_valid(uri) {
        return Err("contains characters not allowed in a URI (RFC 3986)");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err("must be an absolute URI (RFC 6749 §3.1.2)");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() {
        return Err("must be an absolute URI (RFC 6749 §3.1.2)");
    }
    match scheme.to_ascii_lowercase().as_str() {
        "javascript" | "data" | "file" | "vbscript" => {
            Err("must not use the javascript:, data:, file: or vbscript: scheme")
        }
        "https" => authority_host(rest).map(|_| ()),
        "http" => match authority_host(rest)? {
            "127.0.0.1" | "[::1]" | "localhost" => Ok(()),
            _ => Err(
                "must use https; http is allowed only on the loopback host 127.0.0.1, [::1] or localhost (RFC 8252 §7.3)",
            ),
        },
        s if s.contains('.') => Ok(()),
        _ => Err(
            "must use https, http on a loopback host, or a private-use scheme in reverse-domain form such as com.example.app: (RFC 8252 §7.1)",
        ),
    }
}

/// RFC 3986 characters only (unreserved, reserved, and `%` followed by two hex digits).
fn uri_chars_valid(uri: &str) -> bool {
    let b = uri.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// The host of `//authority/...` (the part after `http:` or `https:`): non-empty, no user
/// information, an optional numeric port. An IPv6 literal keeps its brackets.
fn authority_host(rest: &str) -> Result<&str, &'static str> {
    let Some(after) = rest.strip_prefix("//") else {
        return Err("must have a host (scheme://host/...)");
    };
    let authority = after.find(['/', '?']).map_or(after, |i| &after[..i]);
    if authority.contains('@') {
        return Err("must not contain user information (user@host)");
    }
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => authority.split_at(i + 1),
            None => return Err("has a malformed IPv6 host"),
        }
    } else {
        authority
            .find(':')
            .map_or((authority, ""), |i| authority.split_at(i))
    };
    if host.is_empty() {
        return Err("must have a host (scheme://host/...)");
    }
    if !host.starts_with('[') && host.contains(['[', ']']) {
        return Err("has a malformed host");
    }
    if let Some(digits) = port.strip_prefix(':') {
        let ok = !digits.is_empty()
            && digits.len() <= 5
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.parse::<u32>().is_ok_and(|p| p <= 65_535);
        if !ok {
            return Err("has an invalid port");
        }
    } else if !port.is_empty() {
        return Err("has a malformed host");
    }
    Ok(host)
}

fn validate_client_id(id: &str) -> Result<(), RegistryError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Invalid(format!(
            "client id {id:?} must be 1-255 characters of A-Z a-z 0-9 - _ . ~"
        )))
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

fn validate_scope_token(s: &str) -> Result<(), RegistryError> {
    if is_scope_token(s) {
        Ok(())
    } else {
        Err(RegistryError::Invalid(format!(
            "{s:?} is not a valid scope token (RFC 6749 §3.3)"
        )))
    }
}

/// RFC 8707 §2: "an absolute URI ... MUST NOT include a fragment component".
pub fn validate_resource(r: &str) -> Result<(), &'static str> {
    let Some((scheme, rest)) = r.split_once(':') else {
        return Err("must be an absolute URI");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() {
        return Err("must be an absolute URI");
    }
    if r.contains('#') {
        return Err("must not contain a fragment");
    }
    if r.len() > 2048 || r.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("must be at most 2048 printable characters without spaces");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc6749() {
        assert!(is_scope_token("orders:read"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token("a b"));
        assert!(!is_scope_token("a\"b"));
        assert!(!is_scope_token("a\\b"));
        assert!(!is_scope_token("é"));
    }

    #[test]
    fn resources_are_absolute_uris_without_fragments() {
        assert_eq!(validate_resource("https://api.example.com/orders"), Ok(()));
        assert_eq!(validate_resource("urn:example:inventory"), Ok(()));
        assert!(validate_resource("/relative").is_err());
        assert!(validate_resource("https://api#frag").is_err());
        assert!(validate_resource("https://a b").is_err());
    }

    #[test]
    fn redirect_uris_accepted() {
        for uri in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?tenant=a&x=%2F",
            "https://app.example.com",
            "https://192.0.2.7/cb",
            "HTTPS://app.example.com/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/oauth2redirect",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect/example-provider",
            "com.example.app://callback",
        ] {
            assert_eq!(validate_redirect_uri(uri), Ok(()), "{uri}");
        }
        let long = format!("https://a.example/{}", "x".repeat(2048 - 18));
        assert_eq!(long.len(), 2048);
        assert_eq!(validate_redirect_uri(&long), Ok(()));
    }

    #[test]
    fn redirect_uris_refused() {
        let too_long = format!("https://a.example/{}", "x".repeat(2048));
        for uri in [
            "",
            "/callback",
            "callback",
            "app.example.com/cb",
            "https:",
            "1https://a/cb",
            // RFC 6749 §3.1.2: no fragment, not even an empty one.
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            // http only on loopback (RFC 8252 §7.3), with the host exactly as listed.
            "http://example.com/cb",
            "http://127.0.0.2/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1@evil.example/cb",
            "http://evil.example@127.0.0.1/cb",
            "http://[::2]/cb",
            "http:/127.0.0.1/cb",
            // http and https need a host.
            "https:///cb",
            "https://",
            "https:app.example.com",
            "https://:443/cb",
            "https://a.example:99999/cb",
            "https://a.example:/cb",
            "https://a.example:8x/cb",
            "http://[::1/cb",
            "http://[::1]x/cb",
            // Dangerous schemes, in any case.
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "vbscript:msgbox",
            // A private-use scheme must be in reverse-domain form.
            "myapp:/cb",
            "myapp://cb",
            // Characters.
            "https://a.example/c b",
            "https://a.example/c\tb",
            "https://a.example/c\nb",
            "https://a.example/\u{e9}",
            "https://a.example/<script>",
            "https://a.example/%zz",
            "https://a.example/%4",
            &too_long,
        ] {
            assert!(validate_redirect_uri(uri).is_err(), "{uri:?} was accepted");
        }
        assert_eq!(
            validate_redirect_uri("https://a.example/cb#x"),
            Err("must not include a fragment (RFC 6749 §3.1.2)")
        );
    }

    async fn registry() -> ClientRegistry {
        let store = Store::connect(&crate::config::DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 1,
            acquire_timeout_secs: 5,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        ClientRegistry::new(
            store,
            Arc::new(auth_core::SystemClock),
            Duration::from_secs(60),
        )
    }

    fn new_client(id: &str, public: bool) -> NewClient {
        NewClient {
            id: Some(id.into()),
            name: id.into(),
            alg: Alg::Es256,
            allowed_scopes: vec!["openid".into()],
            default_scopes: vec![],
            allowed_resources: vec![],
            redirect_uris: vec![
                "https://app.example.com/cb".into(),
                "http://127.0.0.1:9000/cb".into(),
                "https://app.example.com/cb".into(),
            ],
            post_logout_redirect_uris: vec!["https://app.example.com/".into()],
            public,
            first_party: true,
            always_refresh: public,
        }
    }

    #[tokio::test]
    async fn public_clients_have_no_secret_and_never_authenticate() {
        let reg = registry().await;
        let (c, secret) = reg.create(new_client("spa", true)).await.unwrap();
        assert_eq!(secret, None);
        assert!(c.public && c.first_party && c.always_refresh);
        assert!(c.secret_sha256.is_empty());
        assert_eq!(
            c.redirect_uris,
            ["https://app.example.com/cb", "http://127.0.0.1:9000/cb"],
            "stored in order, duplicates dropped"
        );
        let stored = reg.get("spa").await.unwrap().unwrap();
        assert_eq!(*stored, c);
        // No secret works: not the empty one, not the digest of anything.
        for s in ["", "x", random::token(SECRET_BYTES).as_str()] {
            assert!(matches!(
                reg.authenticate("spa", s).await,
                Err(AuthnError::Rejected)
            ));
        }
        // An empty stored digest never matches, even without the explicit public check.
        assert!(!random::secret_matches("", &[]));
        assert!(matches!(
            reg.rotate_secret("spa").await,
            Err(RegistryError::PublicClient(id)) if id == "spa"
        ));
        assert!(reg.rotate_secret("nobody").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn confidential_clients_keep_their_secret() {
        let reg = registry().await;
        let (c, secret) = reg.create(new_client("web", false)).await.unwrap();
        let secret = secret.unwrap();
        assert!(!c.public && c.secret_sha256.len() == 32);
        assert!(reg.authenticate("web", &secret).await.is_ok());
        let new_secret = reg.rotate_secret("web").await.unwrap().unwrap();
        assert!(reg.authenticate("web", &secret).await.is_err());
        assert!(reg.authenticate("web", &new_secret).await.is_ok());
    }

    #[tokio::test]
    async fn invalid_redirect_uris_are_refused_at_registration() {
        let reg = registry().await;
        let mut bad = new_client("bad", false);
        bad.redirect_uris.push("http://example.com/cb".into());
        let err = reg.create(bad).await.unwrap_err().to_string();
        assert!(
            err.contains("redirect URI \"http://example.com/cb\" must use https"),
            "{err}"
        );
        let mut bad = new_client("bad", true);
        bad.post_logout_redirect_uris = vec!["https://app.example.com/#x".into()];
        let err = reg.create(bad).await.unwrap_err().to_string();
        assert!(err.contains("post-logout redirect URI"), "{err}");
        assert!(reg.get("bad").await.unwrap().is_none());
    }
}
