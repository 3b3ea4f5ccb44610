//! Strict `application/x-www-form-urlencoded` parsing for the OAuth endpoints.
//!
//! Unlike a lenient decoder, it refuses bodies that are not UTF-8 after percent-decoding (instead of
//! replacing bytes), and it keeps every occurrence of a name so repeated parameters can be refused:
//! RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."

use std::borrow::Cow;
use std::future::poll_fn;
use std::pin::pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;

use super::error::OAuthResponse;
use crate::domain::oauth_error::OAuthError;

/// Largest form body accepted, on every endpoint that reads one.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A request's form body (RFC 6749 §3.2: "The client MUST use the HTTP "POST" method when making
/// access token requests", with `application/x-www-form-urlencoded`), at most [`MAX_FORM_BYTES`],
/// strictly parsed: the extractor of every endpoint that takes a form.
///
/// The body is read (or drained) before it is judged, so the client always receives our answer.
/// Rejected with the RFC 6749 §5.2 error; browser endpoints take `Result<OAuthForm, FormRejection>`
/// and answer with a page instead.
#[derive(Debug)]
pub struct OAuthForm(pub Form);

/// Why a form body was refused.
#[derive(Debug)]
pub enum FormRejection {
    /// Longer than [`MAX_FORM_BYTES`].
    TooLarge(BodyTooLarge),
    /// Not `application/x-www-form-urlencoded`.
    NotForm,
    /// Not a valid form (bad UTF-8, too many parameters).
    Malformed(OAuthError),
}

impl OAuthForm {
    /// Reads and parses `body`, for handlers that must decide something before reading it.
    pub async fn read(headers: &HeaderMap, body: Body) -> Result<Self, FormRejection> {
        let bytes = read_body(body, MAX_FORM_BYTES)
            .await
            .map_err(FormRejection::TooLarge)?;
        if !is_form_content_type(headers) {
            return Err(FormRejection::NotForm);
        }
        Form::parse(&bytes)
            .map(Self)
            .map_err(FormRejection::Malformed)
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = FormRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        Self::read(&parts.headers, body).await
    }
}

impl IntoResponse for FormRejection {
    /// `invalid_request`; a body too large is 413, with `Connection: close` when the rest of it
    /// was not read, so the connection cannot be reused (RFC 9110 §15.5.14).
    fn into_response(self) -> Response {
        let (error, drained) = match self {
            Self::TooLarge(e) => (
                OAuthError::invalid_request("the request body is too large"),
                Some(e.drained),
            ),
            Self::NotForm => (
                OAuthError::invalid_request(
                    "Content-Type must be application/x-www-form-urlencoded",
                ),
                None,
            ),
            Self::Malformed(e) => (e, None),
        };
        let mut res = OAuthResponse(error).into_response();
        if let Some(drained) = drained {
            *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            if !drained {
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
        res
    }
}

/// Whether the request's `Content-Type` is `application/x-www-form-urlencoded` (parameters such as
/// `charset` allowed): RFC 6749 §3.2 and the HTML form encoding.
fn is_form_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Most bytes of an over-long body that are read and thrown away before answering.
///
/// Answering before the client has finished sending makes the server close a socket with unread
/// data, which the kernel answers with a TCP reset: the client then sees "connection reset" or
/// "broken pipe" instead of our error. Reading (and discarding) a bounded rest of the body lets
/// the error reach it; anything longer than this is abuse and gets the reset.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// The request body was longer than the endpoint accepts.
#[derive(Debug)]
pub struct BodyTooLarge {
    /// Whether the whole body was read, so the connection can be kept open.
    pub drained: bool,
}

/// Reads a request body of at most `limit` bytes.
///
/// A longer body is read to its end when that end is within 1 MiB (`DRAIN_LIMIT`) so the client
/// receives the error answer; a body that fails mid-way counts as too large and not drained.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyTooLarge> {
    let mut body = pin!(body);
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return Err(BodyTooLarge { drained: false });
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT {
            return Err(BodyTooLarge { drained: false });
        }
        if seen <= limit {
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(BodyTooLarge { drained: true });
    }
    Ok(Bytes::from(buf))
}

/// The parsed body, in order.
#[derive(Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

/// The parameters' names only: values are secrets (`client_secret`, `code`, `code_verifier`,
/// `refresh_token`, `password`, `token`...) and must never reach a log.
impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Most parameters a token request may carry; more is malformed.
const MAX_PAIRS: usize = 64;

impl Form {
    /// Parses a form body.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs = Vec::new();
        for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if pairs.len() == MAX_PAIRS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// The value of a parameter that may appear at most once.
    ///
    /// RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted from
    /// the request." A repeated parameter is `invalid_request` (§3.2, §5.2).
    pub fn single(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = self.pairs.iter().filter(|(n, _)| n == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
    }

    /// The value of a required parameter that may appear at most once: `invalid_request` when it
    /// is missing (RFC 6749 §5.2: "The request is missing a required parameter").
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.single(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }

    /// Every non-empty value of a parameter that may repeat (RFC 8707 `resource`).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes)
        .map_err(|_| OAuthError::invalid_request("the request body is not valid UTF-8"))
}

/// Decodes one `application/x-www-form-urlencoded` component (for the Basic credentials, which
/// RFC 6749 §2.3.1 encodes this way).
pub fn decode_component(raw: &str) -> Result<String, OAuthError> {
    decode(raw.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent_and_keeps_order() {
        let f = Form::parse(b"grant_type=client_credentials&scope=a+b%20c&resource=x&resource=y&")
            .unwrap_or_default();
        assert_eq!(f.single("scope").ok().flatten(), Some("a b c"));
        assert_eq!(f.all("resource").collect::<Vec<_>>(), vec!["x", "y"]);
        assert_eq!(f.single("missing").ok().flatten(), None);
    }

    #[test]
    fn empty_values_count_as_omitted_but_repeats_are_refused() {
        let f = Form::parse(b"scope=&a=1&a=2").unwrap_or_default();
        assert_eq!(f.single("scope").ok().flatten(), None);
        assert!(f.single("a").is_err());
    }

    #[test]
    fn non_utf8_is_refused() {
        assert!(Form::parse(b"scope=%ff").is_err());
        assert!(Form::parse(b"sc\xffope=1").is_err());
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = read_body(Body::from("a=1&b=2"), 7).await.map_err(|_| ());
        assert_eq!(body.as_deref(), Ok(&b"a=1&b=2"[..]));
    }

    #[tokio::test]
    async fn a_long_body_is_drained_up_to_the_drain_limit() {
        let long = read_body(Body::from(vec![b'a'; 8]), 7).await;
        assert!(matches!(long, Err(BodyTooLarge { drained: true })));
        let huge = read_body(Body::from(vec![b'a'; DRAIN_LIMIT + 1]), 7).await;
        assert!(matches!(huge, Err(BodyTooLarge { drained: false })));
    }

    #[test]
    fn too_many_parameters_is_refused() {
        let body = "a=1&".repeat(MAX_PAIRS + 1);
        assert!(Form::parse(body.as_bytes()).is_err());
    }
}
