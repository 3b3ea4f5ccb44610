//! Client secret rotation with overlap. A rotation issues a new secret and keeps the one it
//! replaced accepted for an overlap (the configured default, `clients.secret_rotation_overlap_secs`,
//! or the operator's choice), so a partner can deploy the new secret without downtime; an operator
//! can end the overlap at once. At any time at most two secrets are accepted: the current one and
//! the one it replaced, until its expiry. Both are conditional updates (on the digest being
//! replaced, on a previous secret still being accepted) with their audit event in the same
//! transaction, so concurrent rotations on any number of replicas are serialised by the database.
//!
//! Authentication compares the presented secret with both digests in constant time, whether or
//! not there is a previous one, and counts each use of the previous secret
//! (`auth_server_client_previous_secret_used_total{client_id}`), so operators see when a partner
//! has switched.

use subtle::{Choice, ConstantTimeEq};

use super::{Client, ClientError, ClientRegistry, SECRET_BYTES};
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::random;

pub use crate::model::values::MAX_SECRET_OVERLAP_SECS;

/// A new secret, and until when the one it replaced is still accepted.
#[derive(Debug, Clone)]
pub struct RotatedSecret {
    /// The new secret, shown once.
    pub secret: String,
    /// When the previous secret stops being accepted (`None`: it already has).
    pub previous_valid_until: Option<i64>,
}

/// What ending the previous secret did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousSecret {
    /// This call ended it.
    Expired,
    /// There was no previous secret still accepted; nothing written, no event.
    NoneValid,
    /// No such client.
    NotFound,
}

/// Which of a client's secrets a presented one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretMatch {
    /// The current secret.
    Current,
    /// The previous secret, within its overlap.
    Previous,
    /// Neither.
    None,
}

impl Client {
    /// Until when its previous secret is accepted, if it is at `now`.
    pub fn previous_secret_valid_until(&self, now: i64) -> Option<i64> {
        match (
            &self.previous_secret_sha256,
            self.previous_secret_expires_at,
        ) {
            (Some(d), Some(until)) if !d.is_empty() && until > now => Some(until),
            _ => None,
        }
    }
}

/// Compares `presented` with `client`'s current and previous digests at `now`: one SHA-256, two
/// constant-time comparisons whatever the client has (a missing previous digest is compared as
/// zeroes), no early exit, so timing tells neither which secret matched nor whether there is a
/// previous one. An empty stored digest (a public client) never matches.
pub(super) fn match_secret(client: &Client, presented: &str, now: i64) -> SecretMatch {
    let digest = random::sha256(presented.as_bytes());
    let zeroes = [0u8; 32];
    let previous = client.previous_secret_sha256.as_deref().unwrap_or(&zeroes);
    let current_ok = digest.as_slice().ct_eq(&client.secret_sha256);
    let previous_ok = digest.as_slice().ct_eq(previous)
        & Choice::from(u8::from(client.previous_secret_valid_until(now).is_some()));
    if bool::from(current_ok) && !client.secret_sha256.is_empty() {
        SecretMatch::Current
    } else if bool::from(previous_ok) {
        SecretMatch::Previous
    } else {
        SecretMatch::None
    }
}

impl ClientRegistry {
    /// Sets the overlap a rotation keeps the previous secret for when the operator names none
    /// (`clients.secret_rotation_overlap_secs`; 0 unless set).
    pub fn with_secret_overlap(mut self, secs: i64) -> Self {
        self.secret_overlap_secs = secs.clamp(0, MAX_SECRET_OVERLAP_SECS);
        self
    }

    /// The overlap a rotation uses when the operator names none.
    pub fn default_secret_overlap(&self) -> i64 {
        self.secret_overlap_secs
    }

    /// Issues a new secret for client `id` by `actor`, keeping the old one accepted for
    /// `overlap_secs` (`None`: the configured default; 0: the old one stops at once; at most
    /// [`MAX_SECRET_OVERLAP_SECS`]). A previous secret still in its overlap from an earlier
    /// rotation stops being accepted: only the current and the one it replaces remain. A conditional
    /// update on the digest it replaces, with its `client.secret_rotated` audit event: of two
    /// concurrent rotations one wins and the other gets [`ClientError::Conflict`] (nothing
    /// written), so every secret returned was current when returned. `None` if no such client;
    /// [`ClientError::PublicClient`] for a public client, which never has a secret.
    pub async fn rotate_secret_by(
        &self,
        id: &str,
        overlap_secs: Option<i64>,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<Option<RotatedSecret>, ClientError> {
        let overlap = overlap_secs.unwrap_or(self.secret_overlap_secs);
        if !(0..=MAX_SECRET_OVERLAP_SECS).contains(&overlap) {
            return Err(ClientError::Invalid(format!(
                "the overlap must be 0 to {MAX_SECRET_OVERLAP_SECS} seconds (30 days)"
            )));
        }
        let Some(row) = self.store.find_client(id).await? else {
            return Ok(None);
        };
        if row.public {
            return Err(ClientError::PublicClient(id.to_owned()));
        }
        let secret = random::token(SECRET_BYTES);
        let digest = random::sha256(secret.as_bytes());
        let now = self.clock.now();
        let until = now.saturating_add(overlap);
        let previous_valid_until = (overlap > 0).then_some(until);
        let audit = AuditEvent::new(EventType::ClientSecretRotated, actor.clone())
            .client(id)
            .request(request)
            .detail(serde_json::json!({ "previous_valid_until": previous_valid_until }))
            .record(now);
        let swapped = self
            .store
            .swap_client_secret(id, &row.secret_sha256, digest, (now, until), &audit)
            .await?;
        self.cache.invalidate(id).await;
        if swapped {
            crate::domain::audit::log(&audit);
            Ok(Some(RotatedSecret {
                secret,
                previous_valid_until,
            }))
        } else if self.store.client_exists(id).await? {
            Err(ClientError::Conflict(id.to_owned()))
        } else {
            Ok(None)
        }
    }

    /// Ends client `id`'s previous secret now (before its overlap runs out), by `actor`: a
    /// conditional update on a previous secret still being accepted, with its
    /// `client.previous_secret_expired` audit event only when this call ended it. Replicas that
    /// cached the client see it within `clients.cache_ttl_secs`.
    pub async fn expire_previous_secret_by(
        &self,
        id: &str,
        actor: &Actor,
        request: &RequestMeta,
    ) -> Result<PreviousSecret, ClientError> {
        let now = self.clock.now();
        let audit = AuditEvent::new(EventType::ClientPreviousSecretExpired, actor.clone())
            .client(id)
            .request(request)
            .record(now);
        let ended = self
            .store
            .expire_previous_client_secret(id, now, &audit)
            .await?;
        self.cache.invalidate(id).await;
        if ended {
            crate::domain::audit::log(&audit);
            Ok(PreviousSecret::Expired)
        } else if self.store.client_exists(id).await? {
            Ok(PreviousSecret::NoneValid)
        } else {
            Ok(PreviousSecret::NotFound)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use auth_core::ManualClock;

    use super::*;
    use crate::domain::clients::NewClient;
    use crate::store::Store;

    async fn registry(clock: &ManualClock) -> ClientRegistry {
        let store = Store::connect(&crate::config::DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 1,
            connect_wait_secs: 0,
            acquire_timeout_secs: 5,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        // A zero cache lifetime: every lookup sees the stored row.
        ClientRegistry::new(store, Arc::new(clock.clone()), Duration::ZERO).with_secret_overlap(100)
    }

    fn cli() -> (Actor, RequestMeta) {
        (Actor::Admin("test".into()), RequestMeta::default())
    }

    #[tokio::test]
    async fn moving_to_private_key_jwt_drops_the_previous_secret_too() {
        let clock = ManualClock::new(1_000);
        let reg = registry(&clock).await;
        let new = NewClient {
            id: Some("svc".into()),
            name: "svc".into(),
            ..NewClient::default()
        };
        let (_, first) = reg.create(new).await.unwrap();
        let first = first.unwrap();
        let (actor, meta) = cli();
        let r = reg
            .rotate_secret_by("svc", Some(3_600), &actor, &meta)
            .await
            .unwrap()
            .unwrap();
        assert!(reg.authenticate("svc", &first).await.is_ok(), "in overlap");
        // RFC 8037 Appendix A.2's Ed25519 public key.
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let update = crate::domain::clients::ClientUpdate {
            token_endpoint_auth_method: Some(crate::domain::clients::AuthMethod::PrivateKeyJwt),
            jwks: Some(jwks.into()),
            ..Default::default()
        };
        reg.update_by("svc", update, &actor, &meta)
            .await
            .unwrap()
            .unwrap();
        let c = reg.fresh("svc").await.unwrap().unwrap();
        assert!(c.secret_sha256.is_empty());
        assert_eq!(c.previous_secret_sha256, None);
        assert_eq!(c.previous_secret_valid_until(1_000), None);
        assert!(reg.authenticate("svc", &first).await.is_err());
        assert!(reg.authenticate("svc", &r.secret).await.is_err());
    }

    #[tokio::test]
    async fn the_previous_secret_works_until_its_overlap_ends() {
        let clock = ManualClock::new(1_000);
        let reg = registry(&clock).await;
        let new = NewClient {
            id: Some("svc".into()),
            name: "svc".into(),
            ..NewClient::default()
        };
        let (_, first) = reg.create(new).await.unwrap();
        let first = first.unwrap();
        let (actor, meta) = cli();
        let r = reg
            .rotate_secret_by("svc", None, &actor, &meta)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            r.previous_valid_until,
            Some(1_100),
            "the configured default"
        );
        assert!(reg.authenticate("svc", &r.secret).await.is_ok());
        assert!(reg.authenticate("svc", &first).await.is_ok());
        let c = reg.fresh("svc").await.unwrap().unwrap();
        assert_eq!(match_secret(&c, &first, 1_099), SecretMatch::Previous);
        assert_eq!(match_secret(&c, &r.secret, 1_099), SecretMatch::Current);
        clock.advance(100);
        assert!(
            reg.authenticate("svc", &first).await.is_err(),
            "overlap over"
        );
        assert!(reg.authenticate("svc", &r.secret).await.is_ok());
        assert_eq!(
            reg.expire_previous_secret_by("svc", &actor, &meta)
                .await
                .unwrap(),
            PreviousSecret::NoneValid
        );

        // A second rotation with its own overlap, ended early by the operator; the first secret
        // never comes back.
        let r2 = reg
            .rotate_secret_by("svc", Some(3_600), &actor, &meta)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r2.previous_valid_until, Some(1_100 + 3_600));
        assert!(reg.authenticate("svc", &r.secret).await.is_ok());
        assert!(reg.authenticate("svc", &first).await.is_err());
        assert_eq!(
            reg.expire_previous_secret_by("svc", &actor, &meta)
                .await
                .unwrap(),
            PreviousSecret::Expired
        );
        assert!(reg.authenticate("svc", &r.secret).await.is_err());
        assert!(reg.authenticate("svc", &r2.secret).await.is_ok());
        assert_eq!(
            reg.expire_previous_secret_by("nobody", &actor, &meta)
                .await
                .unwrap(),
            PreviousSecret::NotFound
        );

        // No overlap: the old secret stops at once; an overlap out of range is refused.
        let r3 = reg
            .rotate_secret_by("svc", Some(0), &actor, &meta)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r3.previous_valid_until, None);
        assert!(reg.authenticate("svc", &r2.secret).await.is_err());
        for bad in [-1, MAX_SECRET_OVERLAP_SECS + 1] {
            assert!(matches!(
                reg.rotate_secret_by("svc", Some(bad), &actor, &meta).await,
                Err(ClientError::Invalid(_))
            ));
        }
    }

    #[tokio::test]
    async fn an_empty_digest_never_matches() {
        let clock = ManualClock::new(1_000);
        let reg = registry(&clock).await;
        let new = NewClient {
            id: Some("spa".into()),
            name: "spa".into(),
            public: true,
            redirect_uris: vec!["https://app.example.com/cb".into()],
            ..NewClient::default()
        };
        let (mut c, _) = reg.create(new).await.unwrap();
        c.previous_secret_sha256 = Some(Vec::new());
        c.previous_secret_expires_at = Some(2_000);
        assert_eq!(match_secret(&c, "", 1_000), SecretMatch::None);
        assert_eq!(c.previous_secret_valid_until(1_000), None);
    }
}
