//! Metadata documents and the JWKS, served from memory.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::response::{conditional, json_doc};
use super::state::Documents;
use crate::config::Config;
use crate::domain::values::Issuer;

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
        let iss = Issuer::new(&config.server.issuer);
        let algs = ["ES256", "RS256"];
        let assertion_algs: Vec<&str> = crate::domain::clients::client_keys::AssertionAlg::ALL
            .iter()
            .map(|a| a.as_str())
            .collect();
        let base = json!({
            "issuer": iss.as_str(),
            "authorization_endpoint": iss.authorize(),
            "token_endpoint": iss.token(),
            "jwks_uri": iss.jwks(),
            "revocation_endpoint": iss.revocation(),
            "introspection_endpoint": iss.introspection(),
            // Not registered metadata (RFC 8414 §2 allows extensions): the revocation feed that
            // auth-verifier polls.
            "revocation_feed_endpoint": iss.revocation_feed(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                crate::domain::grants::token_exchange::GRANT_TYPE],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "revocation_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            // RFC 8414 §2: the algorithms a private_key_jwt assertion may be signed with.
            "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
            "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
            "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            // RFC 9207: every authorization response carries `iss`.
            "authorization_response_iss_parameter_supported": true,
            // RFC 9068 access tokens are signed with the client's configured algorithm.
            "access_token_signing_alg_values_supported": algs,
            // RFC 9449 §5.1: exactly the proof algorithms the checker accepts.
            "dpop_signing_alg_values_supported": auth_verifier::dpop::ProofAlg::ALL.map(|a| a.as_str()),
            // RFC 9126 §5.
            "pushed_authorization_request_endpoint": iss.par(),
            "require_pushed_authorization_requests": config.par.required,
        });
        let mut base = base;
        if config.registration.enabled
            && let Some(o) = base.as_object_mut()
        {
            // RFC 8414 §2, RFC 7591 §3: only when it is served.
            o.insert("registration_endpoint".into(), json!(iss.registration()));
        }
        let oauth = base.clone();
        let mut openid = base;
        if let Some(o) = openid.as_object_mut() {
            // REQUIRED by OpenID Connect Discovery 1.0 §3.
            o.insert("subject_types_supported".into(), json!(["public"]));
            o.insert("id_token_signing_alg_values_supported".into(), json!(algs));
            o.insert("userinfo_endpoint".into(), json!(iss.userinfo()));
            o.insert("end_session_endpoint".into(), json!(iss.end_session()));
            // OpenID Connect Back-Channel Logout 1.0 §2.1 (logout tokens always carry `sid`).
            o.insert("backchannel_logout_supported".into(), json!(true));
            o.insert("backchannel_logout_session_supported".into(), json!(true));
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
                    "acr",
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
            o.insert(
                "acr_values_supported".into(),
                json!([
                    crate::domain::mfa::ACR_SINGLE_FACTOR,
                    crate::domain::mfa::ACR_MFA
                ]),
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

/// `GET /.well-known/openid-configuration`
pub async fn openid_configuration(State(docs): State<Arc<Documents>>) -> Response {
    json_doc(docs.metadata.openid.clone())
}

/// `GET /.well-known/oauth-authorization-server`
pub async fn oauth_authorization_server(State(docs): State<Arc<Documents>>) -> Response {
    json_doc(docs.metadata.oauth.clone())
}

/// `GET /jwks`: the public keys, with a strong `ETag` and a `max-age` derived from the rotation
/// schedule (see [`Config::jwks_max_age_secs`]).
pub async fn jwks(State(docs): State<Arc<Documents>>, headers: HeaderMap) -> Response {
    let snap = docs.keys.ring().snapshot();
    conditional(
        &headers,
        &snap.etag,
        JWKS_CONTENT_TYPE,
        snap.jwks.clone(),
        docs.jwks_cache_control.clone(),
    )
}
