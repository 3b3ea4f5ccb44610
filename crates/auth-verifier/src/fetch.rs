//! Fetching discovery documents and JWKS: one pooled client, timeouts, no redirects, a size cap.

use std::time::Duration;

/// A fetch failed. Never fatal: the keys already held stay in service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connection, timeout or protocol error.
    #[error("request failed: {0}")]
    Http(String),
    /// A status other than 200.
    #[error("unexpected status {0}")]
    Status(u16),
    /// The body exceeds the cap.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not the expected document.
    #[error("invalid document: {0}")]
    Invalid(String),
}

impl FetchError {
    /// Every value [`FetchError::reason`] can take: a bounded set, fit for a metric label.
    pub const REASONS: [&'static str; 4] = ["http", "status", "too_large", "invalid"];

    /// Why, in one word from [`FetchError::REASONS`].
    pub fn reason(&self) -> &'static str {
        Self::REASONS[self.reason_index()]
    }

    pub(crate) fn reason_index(&self) -> usize {
        match self {
            FetchError::Http(_) => 0,
            FetchError::Status(_) => 1,
            FetchError::TooLarge(_) => 2,
            FetchError::Invalid(_) => 3,
        }
    }
}

/// A fetched body and the freshness the server declared.
#[derive(Debug)]
pub struct Fetched {
    /// The body.
    pub body: Vec<u8>,
    /// `Cache-Control: max-age`, if given (and no `no-store`/`no-cache`, which read as 0).
    pub max_age: Option<u64>,
}

/// Builds the one HTTP client used for every fetch.
pub fn client(
    connect_timeout: Duration,
    total_timeout: Duration,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(total_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(2)
        .user_agent(concat!("auth-verifier/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// GETs `url`, reading at most `max_bytes`.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let mut res = client
        .get(url)
        .header(
            reqwest::header::ACCEPT,
            "application/json, application/jwk-set+json",
        )
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    if res.status() != reqwest::StatusCode::OK {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    if res.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(FetchError::TooLarge(max_bytes));
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
        .map_err(|e| FetchError::Http(e.to_string()))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(FetchError::TooLarge(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, max_age })
}

/// `max-age` from a `Cache-Control` value; `no-store` or `no-cache` count as 0.
pub fn parse_max_age(value: &str) -> Option<u64> {
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

/// https, or http on loopback only; no userinfo (`http://127.0.0.1:80@evil.example` is refused).
pub fn check_url(url: &str) -> Result<(), String> {
    let bad = || Err(format!("{url:?} must be https (http only on loopback)"));
    let (scheme, rest) = match url.split_once("://") {
        Some(x) => x,
        None => return bad(),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return bad();
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    };
    match scheme {
        "https" => Ok(()),
        "http" if matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") => Ok(()),
        _ => bad(),
    }
}

/// Reads `jwks_uri` from an OpenID Connect discovery document, checking its `issuer`
/// (OpenID Connect Discovery 1.0 §4.3: it MUST be identical to the issuer the document was fetched for).
pub fn jwks_uri_from_discovery(body: &[u8], issuer: &str) -> Result<String, FetchError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        issuer: String,
        jwks_uri: String,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|e| FetchError::Invalid(e.to_string()))?;
    if doc.issuer != issuer {
        return Err(FetchError::Invalid(format!(
            "discovery names issuer {:?}, expected {issuer:?}",
            doc.issuer
        )));
    }
    Ok(doc.jwks_uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control() {
        assert_eq!(parse_max_age("public, max-age=3570"), Some(3570));
        assert_eq!(parse_max_age("max-age=10, no-cache"), Some(0));
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn urls_must_be_https_or_loopback() {
        assert!(check_url("https://idp.example.com").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://localhost").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("http://idp.example.com").is_err());
        assert!(check_url("http://127.0.0.1.evil.com").is_err());
        assert!(check_url("http://127.0.0.1:80@evil.com/jwks").is_err());
        assert!(check_url("https://user@idp.example.com").is_err());
        assert!(check_url("ftp://127.0.0.1").is_err());
    }

    #[test]
    fn discovery_issuer_must_match() {
        let doc = br#"{"issuer":"https://a","jwks_uri":"https://a/jwks"}"#;
        assert_eq!(
            jwks_uri_from_discovery(doc, "https://a").ok().as_deref(),
            Some("https://a/jwks")
        );
        assert!(jwks_uri_from_discovery(doc, "https://b").is_err());
    }
}
