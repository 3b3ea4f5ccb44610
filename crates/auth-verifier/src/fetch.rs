//! Fetching discovery documents, JWKS and revocation feeds: one pooled client, timeouts, no
//! redirects, a size cap on the decoded body (gzip is accepted and decoded as it streams, so a
//! small compressed body cannot expand past the cap), and conditional requests (`If-None-Match`,
//! RFC 9110 §13.1.2) for documents fetched again and again.

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
    /// The `ETag`, if any, to send back as `If-None-Match`.
    pub etag: Option<String>,
}

/// The answer to a conditional GET.
#[derive(Debug)]
pub enum Conditional {
    /// 200: a new body.
    Modified(Fetched),
    /// 304: the body last fetched under the `ETag` sent is still current. RFC 9111 §4.3.4: the
    /// stored response is updated with the 304's header fields, so `max_age` is its
    /// `Cache-Control`.
    NotModified {
        /// `Cache-Control: max-age` of the 304.
        max_age: Option<u64>,
    },
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
        // Sends `Accept-Encoding: gzip` and decodes; `get` caps the decoded bytes.
        .gzip(true)
        .build()
        .map_err(|e| e.to_string())
}

/// GETs `url`, reading at most `max_bytes` (decoded).
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    match get_if_none_match(client, url, max_bytes, None).await? {
        Conditional::Modified(fetched) => Ok(fetched),
        // Only an `If-None-Match` can make a server answer 304.
        Conditional::NotModified { .. } => Err(FetchError::Status(304)),
    }
}

/// GETs `url` with `If-None-Match: etag` when given, reading at most `max_bytes` (decoded).
pub async fn get_if_none_match(
    client: &reqwest::Client,
    url: &str,
    max_bytes: usize,
    etag: Option<&str>,
) -> Result<Conditional, FetchError> {
    let mut req = client.get(url).header(
        reqwest::header::ACCEPT,
        "application/json, application/jwk-set+json",
    );
    if let Some(etag) = etag {
        req = req.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    let mut res = req
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let header = |name| {
        res.headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
    };
    let max_age = header(reqwest::header::CACHE_CONTROL).and_then(parse_max_age);
    let new_etag = header(reqwest::header::ETAG)
        .filter(|e| e.len() <= 256)
        .map(str::to_owned);
    if res.status() == reqwest::StatusCode::NOT_MODIFIED && etag.is_some() {
        return Ok(Conditional::NotModified { max_age });
    }
    if res.status() != reqwest::StatusCode::OK {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    // With gzip the length is the compressed one (reqwest then reports none): the loop below
    // counts decoded bytes.
    if res.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(FetchError::TooLarge(max_bytes));
    }
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
    Ok(Conditional::Modified(Fetched {
        body,
        max_age,
        etag: new_etag,
    }))
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

/// `jwks_uri` and auth-server's `revocation_feed_endpoint` (if listed) from an OpenID Connect
/// discovery document, checking its `issuer` (OpenID Connect Discovery 1.0 §4.3: it MUST be
/// identical to the issuer the document was fetched for).
pub fn urls_from_discovery(
    body: &[u8],
    issuer: &str,
) -> Result<(String, Option<String>), FetchError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        issuer: String,
        jwks_uri: String,
        revocation_feed_endpoint: Option<String>,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|e| FetchError::Invalid(e.to_string()))?;
    if doc.issuer != issuer {
        return Err(FetchError::Invalid(format!(
            "discovery names issuer {:?}, expected {issuer:?}",
            doc.issuer
        )));
    }
    Ok((doc.jwks_uri, doc.revocation_feed_endpoint))
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
            urls_from_discovery(doc, "https://a")
                .ok()
                .map(|u| u.0)
                .as_deref(),
            Some("https://a/jwks")
        );
        assert!(urls_from_discovery(doc, "https://b").is_err());
        assert_eq!(
            urls_from_discovery(doc, "https://a").ok().and_then(|u| u.1),
            None
        );
        let doc = br#"{"issuer":"https://a","jwks_uri":"https://a/jwks","revocation_feed_endpoint":"https://a/r"}"#;
        assert_eq!(
            urls_from_discovery(doc, "https://a")
                .ok()
                .and_then(|u| u.1)
                .as_deref(),
            Some("https://a/r")
        );
    }
}
