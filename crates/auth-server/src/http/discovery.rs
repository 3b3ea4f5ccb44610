//! Metadata documents and the JWKS, served from memory.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use crate::app::AppState;
use crate::config::Config;

/// Media type of a JWK Set (RFC 7517 §8.5.1).
pub const JWKS_CONTENT_TYPE: &str = "application/jwk-set+json";

/// The two metadata documents, rendered once at start (they depend only on configuration).
#[derive(Debug, Clone)]
pub struct Metadata {
    /// OpenID Connect Discovery 1.0 §3.
    pub openid: Bytes,
    /// RFC 8414 §2.
    pub oauth: Bytes,
}

impl Metadata {
    /// Renders both documents. Only what is implemented is listed.
    pub fn render(config: &Config) -> Self {
        let iss = &config.server.issuer;
        let algs = ["ES256", "RS256"];
        let base = json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/authorize"),
            "token_endpoint": format!("{iss}/token"),
            "jwks_uri": format!("{iss}/jwks"),
            "revocation_endpoint": format!("{iss}/revoke"),
            "introspection_endpoint": format!("{iss}/introspect"),
            // Not registered metadata (RFC 8414 §2 allows extensions): the revocation feed that
            // auth-verifier polls.
            "revocation_feed_endpoint": format!("{iss}/revocations"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            // RFC 9207: every authorization response carries `iss`.
            "authorization_response_iss_parameter_supported": true,
            // RFC 9068 access tokens are signed with the client's configured algorithm.
            "access_token_signing_alg_values_supported": algs,
        });
        let oauth = base.clone();
        let mut openid = base;
        if let Some(o) = openid.as_object_mut() {
            // REQUIRED by OpenID Connect Discovery 1.0 §3.
            o.insert("subject_types_supported".into(), json!(["public"]));
            o.insert("id_token_signing_alg_values_supported".into(), json!(algs));
            o.insert("userinfo_endpoint".into(), json!(format!("{iss}/userinfo")));
            o.insert(
                "end_session_endpoint".into(),
                json!(format!("{iss}/logout")),
            );
            o.insert(
                "claims_supported".into(),
                json!([
                    "iss",
                    "sub",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "at_hash",
                    "sid",
                    "amr",
                    "azp",
                    "name",
                    "preferred_username",
                    "updated_at",
                    "email",
                    "email_verified"
                ]),
            );
            o.insert(
                "prompt_values_supported".into(),
                json!(["none", "login", "consent"]),
            );
            o.insert("request_parameter_supported".into(), json!(false));
            o.insert("request_uri_parameter_supported".into(), json!(false));
            o.insert("claims_parameter_supported".into(), json!(false));
        }
        let render = |v: &serde_json::Value| Bytes::from(serde_json::to_vec(v).unwrap_or_default());
        Self {
            openid: render(&openid),
            oauth: render(&oauth),
        }
    }
}

fn json_doc(body: Bytes) -> Response {
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

/// `GET /.well-known/openid-configuration`
pub async fn openid_configuration(State(app): State<AppState>) -> Response {
    json_doc(app.metadata.openid.clone())
}

/// `GET /.well-known/oauth-authorization-server`
pub async fn oauth_authorization_server(State(app): State<AppState>) -> Response {
    json_doc(app.metadata.oauth.clone())
}

/// `GET /jwks`: the public keys, with a strong `ETag` and a `max-age` derived from the rotation
/// schedule (see [`Config::jwks_max_age_secs`]).
pub async fn jwks(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let snap = app.keys.ring().snapshot();
    conditional(
        &headers,
        &snap.etag,
        JWKS_CONTENT_TYPE,
        snap.jwks.clone(),
        app.jwks_cache_control.clone(),
    )
}

/// A document with a strong `ETag`: `304 Not Modified` when `If-None-Match` names it (RFC 9110
/// §13.1.2), else the body with its content type; `Cache-Control` on both.
pub(crate) fn conditional(
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
