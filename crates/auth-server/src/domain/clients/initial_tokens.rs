//! Initial access tokens for dynamic client registration (RFC 7591 §3: "OAuth 2.0 access token
//! optionally issued by an authorization server to a developer or client and used to authorize
//! calls to the client registration endpoint"). An operator creates one with a policy (the scopes
//! and resource indicators its clients may be allowed, an optional expiry and number of uses); it is shown once and stored
//! as a SHA-256 digest, like client secrets: 256 random bits need no slow hash.

use super::validate::{validate_resource, validate_scope_token};
use super::{ClientError, ClientRegistry, Flip};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::random;
use crate::model::registration::RegistrationToken;

/// Bytes of randomness in an initial access token.
const TOKEN_BYTES: usize = 32;
/// The longest lifetime an initial access token may be given: a year.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 366 * 86_400;
/// The most scopes a token's policy may list.
const MAX_POLICY_SCOPES: usize = 100;

/// What an operator asks for when creating an initial access token.
#[derive(Debug, Clone, Default)]
pub struct NewRegistrationToken {
    /// Seconds until it expires (`None`: it never does).
    pub expires_in_secs: Option<i64>,
    /// Registrations it allows (`None`: unlimited).
    pub max_uses: Option<i64>,
    /// The scopes a client registered with it may be allowed (none: clients get no scope).
    pub allowed_scopes: Vec<String>,
    /// The resource indicators (RFC 8707) every client registered with it may get tokens for.
    pub allowed_resources: Vec<String>,
}

impl ClientRegistry {
    /// Creates an initial access token by `actor`, with its `registration_token.created` audit
    /// event in the same transaction; returns it with the token itself, which is not stored and
    /// cannot be shown again.
    pub async fn create_registration_token(
        &self,
        new: NewRegistrationToken,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<(RegistrationToken, String), ClientError> {
        if let Some(secs) = new.expires_in_secs
            && !(1..=MAX_TOKEN_LIFETIME_SECS).contains(&secs)
        {
            return Err(ClientError::Invalid(format!(
                "the lifetime must be 1 second to {MAX_TOKEN_LIFETIME_SECS} seconds"
            )));
        }
        if new.max_uses.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
            return Err(ClientError::Invalid("max uses must be 1 to 1000000".into()));
        }
        if new.allowed_scopes.len() > MAX_POLICY_SCOPES {
            return Err(ClientError::Invalid(format!(
                "at most {MAX_POLICY_SCOPES} scopes"
            )));
        }
        let mut scopes: Vec<String> = Vec::new();
        for s in new.allowed_scopes {
            validate_scope_token(&s)?;
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        if new.allowed_resources.len() > MAX_POLICY_SCOPES {
            return Err(ClientError::Invalid(format!(
                "at most {MAX_POLICY_SCOPES} resources"
            )));
        }
        let mut resources: Vec<String> = Vec::new();
        for r in new.allowed_resources {
            validate_resource(&r)
                .map_err(|p| ClientError::Invalid(format!("resource {r:?} {p}")))?;
            if !resources.contains(&r) {
                resources.push(r);
            }
        }
        let token = random::token(TOKEN_BYTES);
        let now = self.clock.now();
        let record = RegistrationToken {
            id: random::token(9),
            token_sha256: random::sha256(token.as_bytes()),
            allowed_scopes: scopes,
            allowed_resources: resources,
            max_uses: new.max_uses,
            uses: 0,
            expires_at: new.expires_in_secs.map(|s| now + s),
            revoked_at: None,
            created_at: now,
        };
        let audit = AuditEvent::new(EventType::RegistrationTokenCreated, actor.clone())
            .request(request)
            .detail(serde_json::json!({
                "token_id": record.id,
                "allowed_scopes": record.allowed_scopes,
                "allowed_resources": record.allowed_resources,
                "max_uses": record.max_uses,
                "expires_at": record.expires_at,
            }))
            .record(now);
        self.store
            .insert_registration_token(&record, &audit)
            .await?;
        crate::domain::audit::log(&audit);
        Ok((record, token))
    }

    /// Every initial access token (digests only), oldest first.
    pub async fn registration_tokens(&self) -> Result<Vec<RegistrationToken>, ClientError> {
        Ok(self.store.registration_tokens().await?)
    }

    /// Revokes initial access token `id` by `actor`: a conditional update, with its
    /// `registration_token.revoked` audit event only when this call revoked it. Clients it
    /// registered stay (delete them with `client delete` or their own registration access token).
    pub async fn revoke_registration_token(
        &self,
        id: &str,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Flip, ClientError> {
        if !crate::domain::is_plain_name(id, 64, b"-_") {
            return Ok(Flip::NotFound);
        }
        let now = self.clock.now();
        let audit = AuditEvent::new(EventType::RegistrationTokenRevoked, actor.clone())
            .request(request)
            .detail(serde_json::json!({ "token_id": id }))
            .record(now);
        if self
            .store
            .revoke_registration_token(id, now, &audit)
            .await?
        {
            crate::domain::audit::log(&audit);
            Ok(Flip::Changed)
        } else if self.store.registration_token(id).await?.is_some() {
            Ok(Flip::Unchanged)
        } else {
            Ok(Flip::NotFound)
        }
    }
}
