//! Pushed authorization requests (RFC 9126) from a client's side: pushing to `/par`, and the
//! `/authorize` URL that carries only `client_id` and the `request_uri` (§4).

use serde_json::Value;

use crate::TestServer;
use crate::oauth::{WebClient, encode_form};
use crate::sso_support::{Params, assert_error, field, refs};

/// `urn:ietf:params:oauth:request_uri:` (RFC 9126 §2.2).
pub const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// `POST /par` as `client` (Basic for a confidential client, `client_id` for a public one) with
/// `params`: status and JSON body.
pub async fn push(s: &TestServer, client: &WebClient, params: &Params) -> (u16, Value) {
    let mut pairs = refs(params);
    if client.secret.is_none() {
        // A public client identifies itself with the request's client_id, which
        // `endpoint_as` adds.
        pairs.retain(|(k, _)| *k != "client_id");
    }
    s.endpoint_as("/par", client, &pairs).await
}

/// Pushes `params` as `client`, asserting `201 Created`; returns the `request_uri`.
pub async fn pushed(s: &TestServer, client: &WebClient, params: &Params) -> String {
    let (status, body) = push(s, client, params).await;
    assert_eq!(status, 201, "{body}");
    let uri = field(&body, "request_uri");
    assert!(uri.starts_with(URN), "{uri}");
    uri
}

/// Asserts `/par` refused `params` pushed by `client` with `400` and `error`.
pub async fn assert_push_refused(s: &TestServer, client: &WebClient, params: &Params, error: &str) {
    assert_error(&push(s, client, params).await, 400, error);
}

/// `/authorize?client_id=..&request_uri=..` (RFC 9126 §4), with `extra` query parameters.
pub fn par_authorize(s: &TestServer, client_id: &str, uri: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![("client_id", client_id), ("request_uri", uri)];
    pairs.extend_from_slice(extra);
    format!("{}/authorize?{}", s.base, encode_form(&pairs))
}
