//! Clients' `jwks_uri` (RFC 7591 §2), fetched and cached with auth-verifier's key-store discipline:
//! https only (plain http only on a loopback host), no redirects, connect and total timeouts, a cap
//! on the body and on the number of keys; the cache lifetime is the response's `Cache-Control:
//! max-age` clamped to `[min_cache_secs, max_cache_secs]`; a `kid` not in the cached set causes at
//! most one refetch per `cooldown_secs` (the cooldown also follows failed fetches), and concurrent
//! callers for one URI share one fetch. When a refetch fails, the keys already held keep serving
//! until `max_stale_secs` after their expiry. Unusable keys are skipped.
//!
//! A dynamically registered client's URI is fetched with [`Reach::PublicOnly`]: it must be https
//! and resolve to public addresses only ([`super::public_net`]), so that whoever holds an initial
//! access token cannot make the IdP send requests inside the operator's network.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Clock;
use moka::future::Cache;
use tokio::sync::Mutex;

use super::client_keys::{ClientKey, parse_client_jwks};

/// Limits and lifetimes of the `jwks_uri` cache.
#[derive(Debug, Clone, Copy)]
pub struct JwksSettings {
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub total_timeout: Duration,
    /// Largest body read.
    pub max_bytes: usize,
    /// Most keys in one set.
    pub max_keys: usize,
    /// Shortest cache lifetime, whatever `max-age` says.
    pub min_cache_secs: i64,
    /// Longest cache lifetime, and the lifetime when the response gives no `max-age`.
    pub max_cache_secs: i64,
    /// Least time between two fetches of one URI caused by an unknown `kid` or a failure.
    pub cooldown_secs: i64,
    /// How long after their expiry keys keep serving while refetches fail.
    pub max_stale_secs: i64,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            total_timeout: Duration::from_secs(5),
            max_bytes: 64 * 1024,
            max_keys: 20,
            min_cache_secs: 60,
            max_cache_secs: 3600,
            cooldown_secs: 30,
            max_stale_secs: 3600,
        }
    }
}

/// Why keys could not be had from a `jwks_uri`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksFetchError {
    /// Not https (or http on loopback), or carries userinfo.
    #[error("jwks_uri {0}")]
    Url(String),
    /// Connection, timeout or protocol error.
    #[error("jwks_uri could not be fetched: {0}")]
    Http(String),
    /// A status other than 200 (a redirect included: they are not followed).
    #[error("jwks_uri answered status {0}")]
    Status(u16),
    /// The body exceeds the cap.
    #[error("jwks_uri document is larger than {0} bytes")]
    TooLarge(usize),
    /// Not a JWK Set, or too many keys.
    #[error("jwks_uri document refused: {0}")]
    Invalid(String),
    /// A recent fetch failed and the cooldown has not passed.
    #[error("jwks_uri failed recently; retrying after the cooldown")]
    CoolingDown,
}

/// Which addresses a fetch may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reach {
    /// Any: a URI an operator registered (a partner inside the network, a loopback test server).
    Any,
    /// https to public addresses only: a URI registered dynamically by an outsider (RFC 7591).
    PublicOnly,
}

/// Checks a dynamically registered `jwks_uri` before anything is fetched: [`validate_jwks_uri`],
/// https, and a host that is not an internal IP literal or `localhost` (names are checked when
/// resolved, at each fetch).
pub fn validate_public_jwks_uri(uri: &str) -> Result<(), String> {
    validate_jwks_uri(uri)?;
    let url = reqwest::Url::parse(uri).map_err(|e| format!("is not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err("must be https".into());
    }
    match url
        .host_str()
        .and_then(super::public_net::literal_host_is_public)
    {
        Some(false) => Err("must not point at a loopback, private or link-local address".into()),
        _ => Ok(()),
    }
}

/// Checks a `jwks_uri`: https, or http on a loopback host only; no userinfo, no fragment.
pub fn validate_jwks_uri(uri: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(uri).map_err(|e| format!("is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry userinfo".into());
    }
    if url.fragment().is_some() {
        return Err("must not carry a fragment".into());
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https (plain http only on a loopback host)".into()),
    }
}

#[derive(Default)]
struct State {
    keys: Option<Arc<Vec<ClientKey>>>,
    /// When the keys stop being fresh.
    expires_at: i64,
    /// The last fetch attempt, successful or not.
    attempted_at: Option<i64>,
    last_failed: bool,
}

/// The `jwks_uri` key cache, one entry per URI.
#[derive(Clone)]
pub struct JwksSource {
    http: reqwest::Client,
    /// The same, resolving names to public addresses only ([`Reach::PublicOnly`]).
    public_http: reqwest::Client,
    clock: Arc<dyn Clock>,
    settings: JwksSettings,
    entries: Cache<String, Arc<Mutex<State>>>,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksSource")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl JwksSource {
    /// A cache with `settings`.
    pub fn new(clock: Arc<dyn Clock>, settings: JwksSettings) -> Result<Self, String> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(settings.connect_timeout)
                .timeout(settings.total_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(2)
                .user_agent(concat!("auth-server/", env!("CARGO_PKG_VERSION")))
        };
        let http = builder().build().map_err(|e| e.to_string())?;
        // No proxy: a proxy would resolve the name itself, past the resolver's check.
        let public_http = builder()
            .no_proxy()
            .dns_resolver(Arc::new(super::public_net::PublicOnlyResolver))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            public_http,
            clock,
            settings,
            entries: Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(86_400))
                .build(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &JwksSettings {
        &self.settings
    }

    /// The keys at `uri`, fetched within `reach`; `want_kid`, when the cached set lacks it, asks
    /// for a refetch (at most one per cooldown). Concurrent callers for one URI wait for one fetch.
    pub async fn keys(
        &self,
        uri: &str,
        want_kid: Option<&str>,
        reach: Reach,
    ) -> Result<Arc<Vec<ClientKey>>, JwksFetchError> {
        let checked = match reach {
            Reach::Any => validate_jwks_uri(uri),
            Reach::PublicOnly => validate_public_jwks_uri(uri),
        };
        checked.map_err(JwksFetchError::Url)?;
        // One entry per reach: keys cached by an operator's client are not served to an outsider's.
        let key = match reach {
            Reach::Any => format!("any {uri}"),
            Reach::PublicOnly => format!("public {uri}"),
        };
        let entry = self
            .entries
            .get_with(key, async { Arc::new(Mutex::new(State::default())) })
            .await;
        let mut state = entry.lock().await;
        let now = self.clock.now();
        let cooled = state
            .attempted_at
            .is_none_or(|t| now - t >= self.settings.cooldown_secs);
        if let Some(keys) = &state.keys {
            let fresh = now < state.expires_at;
            let has_kid =
                want_kid.is_none_or(|kid| keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
            if (fresh && has_kid) || !cooled {
                if now < state.expires_at + self.settings.max_stale_secs {
                    return Ok(keys.clone());
                }
                if !cooled {
                    return Err(JwksFetchError::CoolingDown);
                }
            }
        } else if !cooled && state.last_failed {
            return Err(JwksFetchError::CoolingDown);
        }
        state.attempted_at = Some(now);
        match self.fetch(uri, reach).await {
            Ok((keys, max_age)) => {
                let s = &self.settings;
                let life = max_age.map_or(s.max_cache_secs, |m| {
                    i64::try_from(m)
                        .unwrap_or(i64::MAX)
                        .clamp(s.min_cache_secs, s.max_cache_secs)
                });
                let keys = Arc::new(keys);
                state.keys = Some(keys.clone());
                state.expires_at = now.saturating_add(life);
                state.last_failed = false;
                Ok(keys)
            }
            Err(e) => {
                state.last_failed = true;
                tracing::warn!(jwks_uri = uri, error = %e, "client jwks_uri fetch failed");
                match &state.keys {
                    Some(keys) if now < state.expires_at + self.settings.max_stale_secs => {
                        Ok(keys.clone())
                    }
                    _ => Err(e),
                }
            }
        }
    }

    async fn fetch(
        &self,
        uri: &str,
        reach: Reach,
    ) -> Result<(Vec<ClientKey>, Option<u64>), JwksFetchError> {
        let max = self.settings.max_bytes;
        let http = match reach {
            Reach::Any => &self.http,
            Reach::PublicOnly => &self.public_http,
        };
        let mut res = http
            .get(uri)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(|e| JwksFetchError::Http(e.to_string()))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(JwksFetchError::Status(res.status().as_u16()));
        }
        if res.content_length().is_some_and(|n| n > max as u64) {
            return Err(JwksFetchError::TooLarge(max));
        }
        let max_age = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| JwksFetchError::Http(e.to_string()))?
        {
            if body.len() + chunk.len() > max {
                return Err(JwksFetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        let (keys, skipped) = parse_client_jwks(&body, self.settings.max_keys, true)
            .map_err(|e| JwksFetchError::Invalid(e.0))?;
        if !skipped.is_empty() {
            tracing::info!(jwks_uri = uri, skipped = ?skipped, "client jwks_uri: keys skipped");
        }
        Ok((keys, max_age))
    }
}

/// `max-age` from a `Cache-Control` value; `no-store` or `no-cache` count as 0.
fn parse_max_age(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse().ok();
        }
    }
    max_age
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert!(validate_jwks_uri("https://partner.example/jwks").is_ok());
        assert!(validate_jwks_uri("http://127.0.0.1:8080/jwks").is_ok());
        assert!(validate_jwks_uri("http://localhost/jwks").is_ok());
        assert!(validate_jwks_uri("http://[::1]:9/jwks").is_ok());
        assert!(validate_jwks_uri("http://partner.example/jwks").is_err());
        assert!(validate_jwks_uri("http://127.0.0.1.evil.example/jwks").is_err());
        assert!(validate_jwks_uri("https://u:p@partner.example/jwks").is_err());
        assert!(validate_jwks_uri("https://partner.example/jwks#x").is_err());
        assert!(validate_jwks_uri("file:///etc/passwd").is_err());
    }

    #[test]
    fn dynamic_uris_must_be_public_https() {
        assert!(validate_public_jwks_uri("https://partner.example/jwks").is_ok());
        for internal in [
            "http://127.0.0.1:8080/jwks",
            "http://partner.example/jwks",
            "https://localhost/jwks",
            "https://[::1]/jwks",
            "https://192.168.0.10/jwks",
            "https://169.254.169.254/jwks",
        ] {
            assert!(validate_public_jwks_uri(internal).is_err(), "{internal}");
        }
    }

    /// A name that resolves to an internal address is refused when resolved, at each fetch (the
    /// URL check refuses the literal `localhost` earlier; here the fetch itself is tried): no
    /// connection is made. The same fetch within `Reach::Any` does connect.
    #[tokio::test]
    async fn a_name_resolving_inside_is_never_connected_to() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let server = tokio::spawn(async move {
            // Counted, then closed: the client fails fast, after the count.
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        let clock = Arc::new(auth_core::SystemClock);
        let source = JwksSource::new(clock, JwksSettings::default()).unwrap();
        let uri = format!("http://localhost:{port}/jwks");
        let public = source.fetch(&uri, Reach::PublicOnly).await;
        assert!(matches!(public, Err(JwksFetchError::Http(_))), "{public:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        let any = source.fetch(&uri, Reach::Any).await;
        assert!(any.is_err(), "{any:?}");
        assert!(accepted.load(Ordering::SeqCst) >= 1);
        server.abort();
    }

    #[test]
    fn cache_control() {
        assert_eq!(parse_max_age("public, max-age=120"), Some(120));
        assert_eq!(parse_max_age("max-age=10, no-store"), Some(0));
        assert_eq!(parse_max_age("public"), None);
    }
}
