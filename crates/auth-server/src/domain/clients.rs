//! The client registry: creation, lookup through an in-memory cache, and authentication.
//!
//! Client secrets are generated here (256 random bits), shown once, and stored only as a SHA-256
//! digest. They are not human passwords, so a fast digest compared in constant time is as strong as a
//! slow hash and costs microseconds; authenticating a client does no database write.

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

/// A registered client, parsed from its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 of the secret.
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
        let secret_ok = random::secret_matches(secret, &client.secret_sha256);
        if secret_ok && client.enabled {
            Ok(client)
        } else {
            Err(AuthnError::Rejected)
        }
    }

    /// Registers a client; returns it with its secret, which is not stored and cannot be shown again.
    pub async fn create(&self, new: NewClient) -> Result<(Client, String), RegistryError> {
        let id = match new.id {
            Some(id) => id,
            None => random::token(16),
        };
        validate_client_id(&id)?;
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
        let secret = random::token(SECRET_BYTES);
        let now = self.clock.now();
        let row = client::Model {
            client_id: id.clone(),
            name: new.name,
            secret_sha256: random::sha256(secret.as_bytes()),
            enabled: true,
            signing_alg: new.alg.as_str().to_owned(),
            allowed_scopes: new.allowed_scopes.join(" "),
            default_scopes: new.default_scopes.join(" "),
            allowed_resources: new.allowed_resources.join(" "),
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
    pub async fn rotate_secret(&self, id: &str) -> Result<Option<String>, StoreError> {
        let secret = random::token(SECRET_BYTES);
        let digest = random::sha256(secret.as_bytes());
        let found = self
            .store
            .set_client_secret(id, digest, self.clock.now())
            .await?;
        self.cache.invalidate(id).await;
        Ok(found.then_some(secret))
    }
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
}
