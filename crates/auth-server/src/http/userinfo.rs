//! `GET|POST /userinfo` (OIDC Core §5.3), a protected resource: bearer tokens (RFC 6750) and
//! DPoP-bound tokens with the `DPoP` scheme and a proof for this URL (RFC 9449 §7).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::{FormRejection, OAuthForm};
use super::response::no_store_json;
use super::state::OAuthEndpoints;
use crate::domain::dpop::ProofRefusal;
use crate::domain::sso::tokens_admin::TokenAdminError;

type OAuth = State<Arc<OAuthEndpoints>>;

/// An access token and the scheme it came with.
struct Presented {
    token: String,
    /// `Authorization: DPoP` (RFC 9449 §7.1) rather than `Bearer`.
    dpop: bool,
}

/// `GET /userinfo`.
pub async fn get(State(oauth): OAuth, headers: HeaderMap) -> Response {
    match credentials(&headers) {
        Ok(Some(p)) => answer(&oauth, &headers, &Method::GET, p).await,
        Ok(None) => challenge(StatusCode::UNAUTHORIZED, None, false),
        Err(()) => challenge(StatusCode::BAD_REQUEST, Some("invalid_request"), false),
    }
}

/// `POST /userinfo`: the token in the header, or (RFC 6750 §2.2) a bearer token in a form body.
pub async fn post(
    State(oauth): OAuth,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    match credentials(&headers) {
        Ok(Some(p)) => answer(&oauth, &headers, &Method::POST, p).await,
        Ok(None) => {
            let token = read.ok().and_then(|OAuthForm(f)| {
                f.single("access_token").ok().flatten().map(str::to_owned)
            });
            match token {
                Some(token) => {
                    let p = Presented { token, dpop: false };
                    answer(&oauth, &headers, &Method::POST, p).await
                }
                None => challenge(StatusCode::UNAUTHORIZED, None, false),
            }
        }
        Err(()) => challenge(StatusCode::BAD_REQUEST, Some("invalid_request"), false),
    }
}

/// The token is verified first (signature, `exp`, audience: no I/O). With the `DPoP` scheme it
/// must be bound to a key (`cnf.jkt`), and only then is the proof checked (RFC 9449 §7: `htm`,
/// `htu` = this URL from the issuer, `ath` = the token's hash, single use) and its key compared
/// with the binding: a request without a valid bound token writes nothing to the replay cache. A
/// bound token presented as a bearer token is refused (§7.1: the binding would be lost).
async fn answer(
    oauth: &OAuthEndpoints,
    headers: &HeaderMap,
    method: &Method,
    p: Presented,
) -> Response {
    let token = p.token.as_str();
    let verified = match oauth.token_admin.userinfo_token(token) {
        Ok(v) if !p.dpop || v.bound_key().is_some() => v,
        _ => return challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"), p.dpop),
    };
    let jkt = if p.dpop {
        let proofs = super::dpop::proofs(headers);
        match oauth
            .dpop
            .userinfo_request(&proofs, method.as_str(), token)
            .await
        {
            Ok(jkt) => Some(jkt),
            Err(ProofRefusal::Unavailable) => {
                return super::error::OAuthResponse(ProofRefusal::Unavailable.into())
                    .into_response();
            }
            Err(_) => {
                return challenge(StatusCode::UNAUTHORIZED, Some("invalid_dpop_proof"), true);
            }
        }
    } else {
        None
    };
    match oauth.token_admin.userinfo(verified, jkt.as_deref()).await {
        Ok(claims) => super::cors::with_token_client(token, no_store_json(&claims)),
        Err(TokenAdminError::InvalidToken) => {
            challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"), p.dpop)
        }
        Err(TokenAdminError::InsufficientScope) => super::cors::with_token_client(
            token,
            challenge(StatusCode::FORBIDDEN, Some("insufficient_scope"), p.dpop),
        ),
        Err(e) => super::error::OAuthResponse(e.into()).into_response(),
    }
}

/// The access token of the `Authorization` header: `Bearer` read by [`auth_core::bearer`] as
/// every resource service reads it, or `DPoP` (RFC 9449 §7.1, same token syntax). `Ok(None)`
/// when there is no header; `Err` when it is repeated, of another scheme (RFC 6750 §3.1
/// `invalid_request`) or not a usable token.
fn credentials(headers: &HeaderMap) -> Result<Option<Presented>, ()> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next().map(HeaderValue::as_bytes) else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let (scheme, rest) = value.split_at(value.len().min(5));
    if scheme.eq_ignore_ascii_case(b"dpop ") {
        return auth_core::bearer::token(rest.trim_ascii())
            .map(|t| {
                Some(Presented {
                    token: t.to_owned(),
                    dpop: true,
                })
            })
            .map_err(|_| ());
    }
    match auth_core::bearer::credentials(std::iter::once(value)) {
        Ok(Some(credentials)) => auth_core::bearer::token(credentials)
            .map(|t| {
                Some(Presented {
                    token: t.to_owned(),
                    dpop: false,
                })
            })
            .map_err(|_| ()),
        _ => Err(()),
    }
}

/// RFC 6750 §3 and RFC 9449 §7.1: a `Bearer` and a `DPoP` challenge (both schemes are accepted
/// here), the error code, when a token was presented, on the scheme it came with.
fn challenge(status: StatusCode, error: Option<&str>, dpop: bool) -> Response {
    let realm = ("realm", "userinfo");
    let with_error: Vec<(&str, &str)> = match error {
        None => vec![realm],
        Some("insufficient_scope") => {
            vec![realm, ("error", "insufficient_scope"), ("scope", "openid")]
        }
        Some(e) => vec![realm, ("error", e)],
    };
    let (bearer, dpop_value) = if dpop {
        (
            auth_core::bearer::challenge(&[realm]),
            super::dpop::challenge(&with_error),
        )
    } else {
        (
            auth_core::bearer::challenge(&with_error),
            super::dpop::challenge(&[realm]),
        )
    };
    let mut res = match error {
        Some(e) => (status, axum::Json(serde_json::json!({ "error": e }))).into_response(),
        None => status.into_response(),
    };
    for value in [bearer, dpop_value] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
