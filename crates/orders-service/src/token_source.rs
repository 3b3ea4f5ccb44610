//! This service's own access token for calling another service: the client-credentials grant
//! (RFC 6749 §4.4) with `client_secret_basic`, one `resource` (RFC 8707), cached until shortly
//! before it expires. One refresh at a time: concurrent callers wait for it and share its token.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

/// Default margin: a cached token is replaced this long before it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// What to ask the token endpoint for.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The IdP's token endpoint, e.g. `http://127.0.0.1:8080/token`.
    pub token_endpoint: String,
    /// This service's client id.
    pub client_id: String,
    /// Its secret (never logged: `Debug` hides it).
    pub client_secret: String,
    /// The audience of the service to call (`resource`).
    pub resource: String,
    /// The scope to request (space-separated).
    pub scope: String,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("resource", &self.resource)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Getting a token failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Connection failure or timeout.
    #[error("token endpoint unreachable: {0}")]
    Unreachable(#[from] reqwest::Error),
    /// The IdP refused (its RFC 6749 `error` code, if it sent one).
    #[error("token endpoint answered {status} ({error})")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code, or `-`.
        error: String,
    },
    /// The response is not a bearer token response.
    #[error("unexpected token response: {0}")]
    Invalid(&'static str),
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

struct Cached {
    token: String,
    refresh_at: Instant,
}

/// A cached client-credentials token. Share one per process (it is `Sync`).
pub struct TokenSource {
    http: reqwest::Client,
    creds: ClientCredentials,
    margin: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("creds", &self.creds)
            .field("margin", &self.margin)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

/// How long a token with this lifetime is reused: until `margin` before it expires, or for half its
/// lifetime if that is shorter than the margin.
fn reuse_for(expires_in: Duration, margin: Duration) -> Duration {
    if expires_in > margin {
        expires_in - margin
    } else {
        expires_in / 2
    }
}

impl TokenSource {
    /// A source using `http` (which should have timeouts and no redirects).
    pub fn new(http: reqwest::Client, creds: ClientCredentials) -> Self {
        Self {
            http,
            creds,
            margin: DEFAULT_REFRESH_MARGIN,
            cached: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// Replaces tokens this long before they expire (default 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How many tokens have been fetched from the IdP.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a fresh one.
    pub async fn token(&self) -> Result<String, TokenError> {
        // Held across the fetch: a second caller waits for this refresh instead of starting its own.
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `token` if it is the cached one (the service it was sent to refused it).
    pub async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, TokenError> {
        let c = &self.creds;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        // RFC 6749 §2.3.1: id and secret are form-encoded before going into Basic.
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let res = self
            .http
            .post(&c.token_endpoint)
            .basic_auth(enc(&c.client_id), Some(enc(&c.client_secret)))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", c.resource.as_str()),
                ("scope", c.scope.as_str()),
            ])
            .send()
            .await?;
        let status = res.status();
        if !status.is_success() {
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            let error = body["error"].as_str().unwrap_or("-").to_owned();
            return Err(TokenError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        let body: TokenResponse = res
            .json()
            .await
            .map_err(|_| TokenError::Invalid("not a token response"))?;
        if !body.token_type.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::Invalid("token_type is not Bearer"));
        }
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(0));
        tracing::debug!(client_id = %c.client_id, resource = %c.resource, expires_in = lifetime.as_secs(), "fetched a service token");
        Ok(Cached {
            token: body.access_token,
            // Counted from when the request was sent: the IdP's clock started no earlier.
            refresh_at: started + reuse_for(lifetime, self.margin),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_window() {
        let s = Duration::from_secs;
        assert_eq!(reuse_for(s(900), s(60)), s(840));
        assert_eq!(reuse_for(s(60), s(60)), s(30));
        assert_eq!(reuse_for(s(0), s(60)), s(0));
    }
}
