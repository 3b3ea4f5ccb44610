//! The outbox drainer: one per replica, in the background (§2.5, "the OP sends an HTTP POST
//! request to the RP's back-channel logout URI").
//!
//! Each pass claims the due rows under a lease ([`Store::claim_outbox`]), signs and POSTs a logout
//! token for each (concurrently, each with the configured timeout), and settles each row under its
//! claim: delivered on `200 OK` or `204 No Content` (§2.8), else retried after [`backoff`] until
//! `max_attempts`, then given up with a `backchannel_logout.failed` audit event. The lease is longer
//! than the timeout, so no row is sent by two replicas at once while they work; a replica that dies
//! leaves its rows to the next claim after the lease.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Clock;
use tokio::task::JoinHandle;

use super::token::{LOGOUT_TOKEN_TYP, LogoutClaims};
use crate::config::BackchannelConfig;
use crate::domain::audit::{self, Actor, AuditEvent, EventType};
use crate::domain::clients::Client;
use crate::domain::clients::public_net::{PublicOnlyResolver, literal_host_is_public};
use crate::domain::random;
use crate::domain::tokens::TokenIssuer;
use crate::store::outbox::{OutboxItem, Retry};
use crate::store::{Store, StoreError};

/// The longest error text kept with a row.
const MAX_ERROR_LEN: usize = 300;

/// The delay before attempt `attempts + 1`, after `attempts` failed ones (at least 1): `initial`
/// doubled for each attempt after the first, at most `max`.
pub fn backoff(attempts: i32, initial: i64, max: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 62)).unwrap_or(62);
    initial
        .saturating_mul(1_i64.checked_shl(doublings).unwrap_or(i64::MAX))
        .min(max)
}

/// Delivers the outbox's logout tokens. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Drainer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    tokens: TokenIssuer,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// For dynamically registered clients: names resolved to public addresses only.
    public_http: reqwest::Client,
    config: BackchannelConfig,
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
enum Attempt {
    /// The client no longer exists: nobody to tell.
    #[error("the client is no longer registered")]
    NoClient,
    /// The token could not be signed (no key now; tried again later).
    #[error("signing failed: {0}")]
    Sign(String),
    /// The POST failed or timed out.
    #[error("request failed: {0}")]
    Http(String),
    /// The client answered something else than 200 or 204.
    #[error("the client answered HTTP {0}")]
    Status(u16),
    /// The client no longer has a `backchannel_logout_uri`: nobody to tell.
    #[error("the client no longer has a back-channel logout URI")]
    NoUri,
    /// A dynamically registered client's URI names an internal address.
    #[error("not sent: a dynamically registered client's URI must reach a public address")]
    Internal,
}

impl Drainer {
    /// A drainer over these services. No proxy from the environment is used for the POSTs
    /// (the clients are internal apps; and a proxy would resolve names past the public-only
    /// resolver), redirects are not followed (§2.5 names one URI).
    ///
    /// A client an operator registered may be reached anywhere (internal apps are the point). A
    /// client registered dynamically (RFC 7591, by whoever holds an initial access token) is
    /// reached at public addresses only, checked at each POST and not only at registration: an
    /// internal literal address is not sent to, and its name goes through [`PublicOnlyResolver`],
    /// so a public name later pointed inside (DNS rebinding), or a URI registered before the
    /// registration check existed, reaches nothing inside.
    pub fn new(
        store: Store,
        tokens: TokenIssuer,
        clock: Arc<dyn Clock>,
        config: BackchannelConfig,
    ) -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(config.timeout_secs))
                .connect_timeout(Duration::from_secs(config.timeout_secs))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
        };
        let http = builder().build()?;
        let public_http = builder()
            .dns_resolver(Arc::new(PublicOnlyResolver))
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                tokens,
                clock,
                http,
                public_http,
                config,
            }),
        })
    }

    /// Runs [`Drainer::drain_once`] until aborted: again at once after a pass that found work,
    /// else after `poll_interval_ms`. A failing database is logged and retried at the next poll.
    pub fn spawn(&self) -> JoinHandle<()> {
        let this = self.clone();
        let idle = Duration::from_millis(self.inner.config.poll_interval_ms);
        tokio::spawn(async move {
            loop {
                match this.drain_once().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "back-channel logout outbox pass failed"),
                }
                tokio::time::sleep(idle).await;
            }
        })
    }

    /// One pass: claims the due rows (at most `batch`), delivers them concurrently and settles
    /// each. Returns how many were claimed.
    pub async fn drain_once(&self) -> Result<usize, StoreError> {
        let c = &self.inner.config;
        let now = self.inner.clock.now();
        let claim = random::token(16);
        let items = self
            .inner
            .store
            .claim_outbox(now, c.lease_secs, c.batch, &claim)
            .await?;
        let n = items.len();
        let mut tasks = tokio::task::JoinSet::new();
        for item in items {
            let this = self.clone();
            tasks.spawn(async move { this.deliver(item).await });
        }
        let mut first_error = None;
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done
                && first_error.is_none()
            {
                first_error = Some(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    /// Sends one claimed row and settles it.
    async fn deliver(&self, item: OutboxItem) -> Result<(), StoreError> {
        let outcome = self.attempt(&item).await;
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let error = match outcome {
            Ok(()) => {
                if store.outbox_delivered(&item, now).await? {
                    crate::telemetry::backchannel_logout("delivered", 1);
                    tracing::info!(client_id = %item.client_id, attempts = item.attempts,
                        "back-channel logout delivered");
                } else {
                    tracing::warn!(client_id = %item.client_id,
                        "back-channel logout delivered after its lease ended");
                }
                return Ok(());
            }
            Err(e) => e,
        };
        let mut text = error.to_string();
        text.truncate(MAX_ERROR_LEN);
        let c = &self.inner.config;
        // Neither a client that is gone nor an internal address ever becomes deliverable.
        let give_up = item.attempts >= c.max_attempts
            || matches!(
                error,
                Attempt::NoClient | Attempt::NoUri | Attempt::Internal
            );
        let retry = if give_up {
            Retry::GiveUp(Box::new(
                AuditEvent::new(EventType::BackchannelLogoutFailed, Actor::System)
                    .user(&item.user_id)
                    .client(&item.client_id)
                    .subject(&item.session_id)
                    .detail(serde_json::json!({ "attempts": item.attempts, "error": text }))
                    .record(now),
            ))
        } else {
            let delay = backoff(item.attempts, c.backoff_initial_secs, c.backoff_max_secs);
            Retry::At(now.saturating_add(delay))
        };
        if store.outbox_failed(&item, now, &text, &retry).await? {
            match &retry {
                Retry::GiveUp(event) => {
                    crate::telemetry::backchannel_logout("failed", 1);
                    audit::log(event);
                }
                Retry::At(at) => {
                    crate::telemetry::backchannel_logout("retried", 1);
                    tracing::info!(client_id = %item.client_id, attempts = item.attempts,
                        retry_at = at, error = %text, "back-channel logout failed; will retry");
                }
            }
        }
        Ok(())
    }

    /// Signs the logout token with the algorithm of the client's ID tokens and POSTs it.
    async fn attempt(&self, item: &OutboxItem) -> Result<(), Attempt> {
        let inner = &*self.inner;
        let (client, http) = self.client_for(&item.client_id).await?;
        let uri = client
            .backchannel_logout_uri
            .clone()
            .ok_or(Attempt::NoUri)?;
        let claims = LogoutClaims::new(
            inner.tokens.issuer(),
            &client.id,
            &item.user_id,
            &item.session_id,
            inner.clock.now(),
            inner.config.token_ttl_secs,
            random::token(16),
        );
        let token = inner
            .tokens
            .sign(client.alg, LOGOUT_TOKEN_TYP, &claims)
            .await
            .map_err(|e| Attempt::Sign(e.to_string()))?;
        let res = http
            .post(&uri)
            .form(&[("logout_token", token.as_str())])
            .send()
            .await
            .map_err(|e| Attempt::Http(e.without_url().to_string()))?;
        match res.status().as_u16() {
            200 | 204 => Ok(()),
            s => Err(Attempt::Status(s)),
        }
    }

    /// Client `client_id`, read from the database (not the registry's cache: a client deleted
    /// on another replica is not told), and the HTTP client that may POST to its
    /// `backchannel_logout_uri` as registered now (see [`Drainer::new`]; the URI the row was
    /// queued with is not used: a client's URI is what its registration says at delivery, and a
    /// queued row may outlive its client, whose id an operator may reuse). Its registration is
    /// read *first*: a dynamically registered client deleted meanwhile is then gone when the
    /// client is read, so the operator's reach is never given to it (RFC 7592 lets its owner
    /// delete it, and then point its name inside).
    async fn client_for(&self, client_id: &str) -> Result<(Client, &reqwest::Client), Attempt> {
        let inner = &*self.inner;
        let lookup = |e: StoreError| Attempt::Http(format!("client lookup: {e}"));
        let dynamic = (inner.store.client_registration(client_id).await)
            .map_err(lookup)?
            .is_some();
        let client = (inner.store.find_client(client_id).await)
            .map_err(lookup)?
            .ok_or(Attempt::NoClient)?;
        if !dynamic {
            return Ok((client, &inner.http));
        }
        let uri = client.backchannel_logout_uri.as_deref().unwrap_or_default();
        let url = reqwest::Url::parse(uri).ok();
        match url.as_ref().and_then(|u| u.host_str()) {
            Some(host) if literal_host_is_public(host) != Some(false) => {
                Ok((client, &inner.public_http))
            }
            _ => Err(Attempt::Internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_initial_delay_up_to_the_cap() {
        let delays: Vec<i64> = (1..=7).map(|a| backoff(a, 10, 300)).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff(1, 0, 0), 0);
        assert_eq!(backoff(i32::MAX, 10, 600), 600);
        assert_eq!(backoff(0, 10, 600), 10);
    }
}
