//! Response helpers shared by the handlers: JSON that must not be cached, and documents served with
//! a strong `ETag`. Error responses are in [`super::error`].

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

/// JSON with `Cache-Control: no-store` and `Pragma: no-cache`. RFC 6749 §5.1: "The authorization
/// server MUST include the HTTP "Cache-Control" response header field with a value of "no-store" in
/// any response containing tokens".
pub fn no_store_json(body: &impl Serialize) -> Response {
    let mut res = axum::Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// A JSON document rendered once (the metadata), cacheable for an hour.
pub fn json_doc(body: Bytes) -> Response {
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// A document with a strong `ETag`: `304 Not Modified` when `If-None-Match` names it (RFC 9110
/// §13.1.2), else the body with its content type; `Cache-Control` on both.
pub fn conditional(
    headers: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    body: Bytes,
    cache_control: HeaderValue,
) -> Response {
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| etag_matches(v, etag));
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(body));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = res.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\"")),
    );
    h.insert(header::CACHE_CONTROL, cache_control);
    res
}

/// RFC 9110 §13.1.2: If-None-Match uses the weak comparison, and `*` matches any current representation.
fn etag_matches(header_value: &str, etag: &str) -> bool {
    header_value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn if_none_match_forms() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
