//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//!
//! A registration presents an initial access token (RFC 7591 §3); the client it creates is never
//! first-party (its users are always asked for consent) and is allowed at most the scopes of the
//! token's policy, now and after any update. Each registration spends one use of the token in the
//! transaction that inserts the client (see `Store::register_client_with_token`).
//!
//! The registration access token (RFC 7592 §1.1) is 256 random bits, shown once and stored as a
//! SHA-256 digest next to the client; it is looked up by digest and must name the client of the
//! request's path, so a token of another client, an unknown token and an unknown client all get
//! the same `invalid_token`. An update does not rotate it (RFC 7592 §2.2 leaves that to the
//! server): a lost update answer never locks the client out of its own registration.

use super::dynamic_metadata::{CheckedMetadata, ClientMetadata, MetadataError, check_metadata};
use super::{Client, ClientError, ClientRegistry, ClientUpdate, NewClient};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::random;
use crate::model::registration::ClientRegistration;
use crate::store::StoreError;
use crate::store::registration::Registered;

/// Bytes of randomness in a registration access token.
const ACCESS_TOKEN_BYTES: usize = 32;
/// The longest bearer token looked up.
const MAX_TOKEN_LEN: usize = 512;

/// Why a registration request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The initial access token or registration access token is missing, unknown, expired, used up,
    /// revoked, or belongs to another client (RFC 6750 §3.1 `invalid_token`, 401).
    #[error("the access token is missing, invalid, expired or revoked")]
    InvalidToken,
    /// The metadata was refused (RFC 7591 §3.2.2).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A concurrent change to the same client won; nothing was written.
    #[error("the client was changed concurrently; retry")]
    Conflict,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientError> for RegistrationError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid(m) => Self::Metadata(MetadataError::Metadata(m)),
            ClientError::Store(s) => Self::Store(s),
            ClientError::Conflict(_) | ClientError::Exists(_) => Self::Conflict,
            ClientError::Rejected | ClientError::PublicClient(_) => Self::InvalidToken,
        }
    }
}

/// A client just registered: its secret (confidential clients) and registration access token are
/// in this answer only.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    /// The client.
    pub client: Client,
    /// Its secret (`None` for a public client).
    pub client_secret: Option<String>,
    /// Its registration access token (RFC 7592).
    pub registration_access_token: String,
}

fn digest_of(token: &str) -> Result<Vec<u8>, RegistrationError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(RegistrationError::InvalidToken);
    }
    Ok(random::sha256(token.as_bytes()))
}

impl ClientRegistry {
    /// Registers a client (RFC 7591 §3.1) with initial access token `initial_token`.
    pub async fn register_dynamic(
        &self,
        initial_token: &str,
        metadata: ClientMetadata,
        request: &RequestMeta,
    ) -> Result<NewRegistration, RegistrationError> {
        let digest = digest_of(initial_token)?;
        let token = self
            .store
            .registration_token_by_digest(&digest)
            .await?
            .filter(|t| t.usable(self.clock.now()))
            .ok_or(RegistrationError::InvalidToken)?;
        let m = check_metadata(metadata, &token.allowed_scopes)?;
        let id = random::token(16);
        let new = new_client(id.clone(), m, token.allowed_resources.clone());
        let (client, client_secret) = self.build(new).await?;
        let registration_access_token = random::token(ACCESS_TOKEN_BYTES);
        let now = client.created_at;
        let registration = ClientRegistration {
            client_id: id.clone(),
            access_token_sha256: random::sha256(registration_access_token.as_bytes()),
            registration_token_id: token.id.clone(),
            allowed_scopes: token.allowed_scopes.clone(),
            client_created_at: now,
            created_at: now,
        };
        let audit = AuditEvent::new(EventType::ClientCreated, Actor::Client(id.clone()))
            .client(&id)
            .request(request)
            .detail(serde_json::json!({
                "allowed_scopes": client.allowed_scopes, "public": client.public,
                "registration_token": token.id,
            }))
            .record(now);
        let outcome = self
            .store
            .register_client_with_token(&token.id, now, &client, &registration, &audit)
            .await?;
        if outcome == Registered::TokenUnusable {
            return Err(RegistrationError::InvalidToken);
        }
        crate::domain::audit::log(&audit);
        self.cache.invalidate(&id).await;
        self.origins.invalidate();
        Ok(NewRegistration {
            client,
            client_secret,
            registration_access_token,
        })
    }

    /// The client `client_id` and its registration, if `access_token` is its registration access
    /// token and it is enabled; [`RegistrationError::InvalidToken`] for anything else.
    async fn registered(
        &self,
        client_id: &str,
        access_token: &str,
    ) -> Result<(Client, ClientRegistration), RegistrationError> {
        let digest = digest_of(access_token)?;
        let registration = self
            .store
            .client_registration_by_digest(&digest)
            .await?
            .filter(|r| r.client_id == client_id)
            .ok_or(RegistrationError::InvalidToken)?;
        let client = self
            .store
            .find_client(client_id)
            .await?
            .filter(|c| c.enabled && c.created_at == registration.client_created_at)
            .ok_or(RegistrationError::InvalidToken)?;
        Ok((client, registration))
    }

    /// Reads a registration (RFC 7592 §2.1).
    pub async fn read_dynamic(
        &self,
        client_id: &str,
        access_token: &str,
    ) -> Result<Client, RegistrationError> {
        Ok(self.registered(client_id, access_token).await?.0)
    }

    /// Replaces a registration's metadata (RFC 7592 §2.2): omitted fields take their defaults, the
    /// body's `client_id` must be the client's, and a `client_secret` in it must be the current one.
    /// A client stays public or confidential for life, and within its initial access token's scope
    /// policy.
    pub async fn update_dynamic(
        &self,
        client_id: &str,
        access_token: &str,
        mut metadata: ClientMetadata,
        request: &RequestMeta,
    ) -> Result<Client, RegistrationError> {
        let (client, registration) = self.registered(client_id, access_token).await?;
        if metadata.client_id.as_deref() != Some(client_id) {
            return Err(MetadataError::Metadata(
                "client_id must be present and be this client's id (RFC 7592 §2.2)".into(),
            )
            .into());
        }
        if let Some(secret) = metadata.client_secret.take()
            && (client.public || !random::secret_matches(&secret, &client.secret_sha256))
        {
            return Err(MetadataError::Metadata(
                "client_secret does not match the client's current secret (RFC 7592 §2.2)".into(),
            )
            .into());
        }
        let m = check_metadata(metadata, &registration.allowed_scopes)?;
        if m.public != client.public {
            return Err(MetadataError::Metadata(
                "token_endpoint_auth_method cannot change between none and a secret".into(),
            )
            .into());
        }
        let update = ClientUpdate {
            name: Some(m.name.unwrap_or_else(|| client_id.to_owned())),
            allowed_scopes: Some(m.scopes.clone()),
            default_scopes: Some(m.scopes),
            redirect_uris: Some(m.redirect_uris),
            post_logout_redirect_uris: Some(m.post_logout_redirect_uris),
            backchannel_logout_uri: Some(m.backchannel_logout_uri.unwrap_or_default()),
            backchannel_logout_session_required: Some(m.backchannel_logout_session_required),
            ..ClientUpdate::default()
        };
        self.update_by(
            client_id,
            update,
            &Actor::Client(client_id.to_owned()),
            request,
        )
        .await?
        .ok_or(RegistrationError::InvalidToken)
    }

    /// Deletes a registration (RFC 7592 §2.3) as `client delete` does: its grants and tokens end
    /// with it, and so does its registration access token.
    pub async fn delete_dynamic(
        &self,
        client_id: &str,
        access_token: &str,
        request: &RequestMeta,
    ) -> Result<(), RegistrationError> {
        self.registered(client_id, access_token).await?;
        if self
            .delete_by(client_id, &Actor::Client(client_id.to_owned()), request)
            .await?
        {
            Ok(())
        } else {
            Err(RegistrationError::InvalidToken)
        }
    }
}

/// The registry's description of a dynamically registered client `id`: never first-party, the
/// initial access token's `resources`, no extra CORS origins, default scopes equal to its allowed
/// scopes.
fn new_client(id: String, m: CheckedMetadata, resources: Vec<String>) -> NewClient {
    NewClient {
        allowed_resources: resources,
        name: m.name.unwrap_or_else(|| id.clone()),
        id: Some(id),
        allowed_scopes: m.scopes.clone(),
        default_scopes: m.scopes,
        redirect_uris: m.redirect_uris,
        post_logout_redirect_uris: m.post_logout_redirect_uris,
        public: m.public,
        first_party: false,
        backchannel_logout_uri: m.backchannel_logout_uri,
        backchannel_logout_session_required: m.backchannel_logout_session_required,
        ..NewClient::default()
    }
}
