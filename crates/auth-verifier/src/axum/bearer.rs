//! RFC 6750 on the wire: the bearer token of a request (§2.1), the `WWW-Authenticate` challenge
//! (§3) and the error responses (§3.1). Public, so that an endpoint that answers RFC 6750 itself
//! (the IdP's userinfo) parses and challenges exactly as [`super::RequireBearer`] does.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::JsonError;
use super::dpop::dpop_challenge;
use crate::VerifyError;

/// An RFC 6750 §3.1 error response: a [`JsonError`] body, the `WWW-Authenticate` challenge and
/// `Cache-Control: no-store`. Where the `DPoP` scheme is accepted too, both challenges are sent
/// (RFC 9449 §7.2), the one of the scheme that failed first, carrying the error.
#[derive(Debug)]
pub struct BearerError {
    body: JsonError,
    /// The challenge's parameters (after the scheme), in order.
    params: Vec<(&'static str, String)>,
    /// The error is about the `DPoP` scheme: its challenge carries `params` (RFC 9449 §7.1).
    dpop_scheme: bool,
    /// Challenge with both schemes.
    both: bool,
}

impl BearerError {
    fn new(status: StatusCode, code: &'static str, description: String) -> Self {
        Self {
            params: vec![("error", code.to_owned())],
            body: JsonError::new(status, code).describe(description),
            dpop_scheme: false,
            both: false,
        }
    }

    /// The same error, also offering the `DPoP` scheme (`WWW-Authenticate: DPoP algs="..."`
    /// after the `Bearer` challenge): for a service that accepts both (RFC 9449 §7.2).
    pub fn offer_dpop(mut self) -> Self {
        self.both = true;
        self
    }

    /// The same error answered in the `DPoP` scheme (the request used it), with a plain
    /// `Bearer` challenge after it.
    pub fn in_dpop_scheme(mut self) -> Self {
        self.dpop_scheme = true;
        self.both = true;
        self
    }

    /// 401 for a request with the `DPoP` scheme (RFC 9449 §7.1): `invalid_dpop_proof` when the
    /// proof was refused, `invalid_token` when the token was (an unbound token, or a proof by
    /// another key than `cnf.jkt`, is "Invalid DPoP key binding").
    pub fn dpop_invalid(why: &VerifyError) -> Self {
        let error = match why {
            VerifyError::DpopProof(e) => {
                let description = match e {
                    crate::dpop::DpopError::UnsupportedAlg(_) => {
                        "the DPoP proof's alg is not accepted".to_owned()
                    }
                    e => e.to_string(),
                };
                Self::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_dpop_proof",
                    description.clone(),
                )
                .with("error_description", description)
            }
            VerifyError::NotDpopBound | VerifyError::DpopKeyMismatch => {
                let description = "Invalid DPoP key binding";
                Self::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    description.into(),
                )
                .with("error_description", description.into())
            }
            other => Self::invalid(other),
        };
        error.in_dpop_scheme()
    }

    fn with(mut self, name: &'static str, value: String) -> Self {
        self.params.push((name, value));
        self
    }

    /// 401 with no error code: the request carried no token (RFC 6750 §3.1: "If the request lacks any
    /// authentication information ... the resource server SHOULD NOT include an error code").
    pub fn missing() -> Self {
        Self {
            body: JsonError::new(StatusCode::UNAUTHORIZED, "unauthorized")
                .describe("a bearer token is required"),
            params: Vec::new(),
            dpop_scheme: false,
            both: false,
        }
    }

    /// 401 `invalid_token` (RFC 6750 §3.1).
    pub fn invalid(why: &VerifyError) -> Self {
        // Only "expired" is told apart (clients act on it); every other reason is logged, not shown,
        // so a caller learns nothing about keys, the IdP's state, or which check failed.
        let description = match why {
            VerifyError::Expired => "the access token has expired",
            VerifyError::DpopBound => {
                "the access token is DPoP-bound: present it with the DPoP scheme and a proof"
            }
            _ => "the access token is invalid",
        };
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            description.into(),
        )
        .with("error_description", description.into())
    }

    /// 400 `invalid_request` (RFC 6750 §3.1): a malformed Authorization header.
    pub fn malformed(why: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", why.into())
            .with("error_description", why.into())
    }

    /// 403 `insufficient_scope` naming the scope needed (RFC 6750 §3.1).
    pub fn insufficient_scope(scope: &str) -> Self {
        let description = format!("this request requires the scope {scope}");
        Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
            .with("scope", scope.into())
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let params: Vec<(&str, &str)> = self.params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let mut res = self.body.into_response();
        let headers = res.headers_mut();
        if self.dpop_scheme {
            headers.append(header::WWW_AUTHENTICATE, dpop_challenge(&params));
            headers.append(header::WWW_AUTHENTICATE, bearer_challenge(&[]));
        } else {
            headers.append(header::WWW_AUTHENTICATE, bearer_challenge(&params));
            if self.both {
                headers.append(header::WWW_AUTHENTICATE, dpop_challenge(&[]));
            }
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// The `WWW-Authenticate` value of an RFC 6750 §3 challenge: `Bearer`, then each `name="value"`
/// (e.g. `realm`, `error`, `error_description`, `scope`), comma-separated, in the order given.
///
/// Values are written as quoted-strings (RFC 9110 §5.6.4) with `"` and `\` escaped; characters
/// RFC 6750 §3 allows in none of them (controls, non-ASCII) are dropped. Names must be tokens.
///
/// ```
/// use auth_verifier::axum::bearer_challenge;
/// let v = bearer_challenge(&[("realm", "userinfo"), ("error", "invalid_token")]);
/// assert_eq!(v, r#"Bearer realm="userinfo", error="invalid_token""#);
/// assert_eq!(bearer_challenge(&[]), "Bearer");
/// ```
pub fn bearer_challenge(params: &[(&str, &str)]) -> HeaderValue {
    // Only visible ASCII and spaces are written.
    HeaderValue::from_str(&auth_core::bearer::challenge(params))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The token from `Authorization: Bearer <token>` (RFC 6750 §2.1). Query and body tokens are not
/// accepted here.
///
/// - `Ok(None)`: no Authorization header, or one with another scheme (as if no bearer token was
///   sent: answer [`BearerError::missing`]);
/// - `Err`: more than one Authorization header, or credentials that cannot be a `b64token` (empty,
///   containing a space, not UTF-8): answer the error, a 400 `invalid_request`;
/// - `Ok(Some(token))`: the credentials, trimmed, not yet verified.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, BearerError> {
    match bearer_bytes(headers)? {
        Some(raw) => token_syntax(raw).map(Some),
        None => Ok(None),
    }
}

/// The credentials of a single `Authorization: Bearer` header, trimmed, not yet checked
/// ([`auth_core::bearer::credentials`]).
pub(super) fn bearer_bytes(headers: &HeaderMap) -> Result<Option<&[u8]>, BearerError> {
    let values = headers.get_all(header::AUTHORIZATION).iter();
    auth_core::bearer::credentials(values.map(HeaderValue::as_bytes))
        .map_err(|m| BearerError::malformed(m.0))
}

/// RFC 6750 §2.1 b64token ([`auth_core::bearer::token`]).
pub(super) fn token_syntax(token: &[u8]) -> Result<&str, BearerError> {
    auth_core::bearer::token(token).map_err(|m| BearerError::malformed(m.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for x in v {
            if let Ok(v) = HeaderValue::from_str(x) {
                m.append(header::AUTHORIZATION, v);
            }
        }
        m
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(
            bearer_token(&h(&["Bearer abc.def-_~+/="])).ok().flatten(),
            Some("abc.def-_~+/=")
        );
        assert_eq!(
            bearer_token(&h(&["bearer abc"])).ok().flatten(),
            Some("abc")
        );
        assert_eq!(bearer_token(&h(&[])).ok().flatten(), None);
        assert_eq!(bearer_token(&h(&["Basic abc"])).ok().flatten(), None);
        assert!(bearer_token(&h(&["Bearer a b"])).is_err());
        assert_eq!(
            bearer_token(&h(&["BEARER  abc  "])).ok().flatten(),
            Some("abc")
        );
        assert!(bearer_token(&h(&["Bearer a", "Bearer b"])).is_err());
    }

    fn challenge(e: BearerError) -> (StatusCode, String) {
        let res = e.into_response();
        let value = &res.headers()[header::WWW_AUTHENTICATE];
        (res.status(), value.to_str().unwrap_or_default().to_owned())
    }

    #[test]
    fn challenges() {
        let expired = BearerError::invalid(&VerifyError::Expired);
        let invalid = BearerError::invalid(&VerifyError::BadSignature);
        let cases = [
            (BearerError::missing(), 401, "Bearer"),
            (
                expired,
                401,
                r#"Bearer error="invalid_token", error_description="the access token has expired""#,
            ),
            (
                invalid,
                401,
                r#"Bearer error="invalid_token", error_description="the access token is invalid""#,
            ),
            (
                BearerError::malformed("malformed bearer token"),
                400,
                r#"Bearer error="invalid_request", error_description="malformed bearer token""#,
            ),
            (
                BearerError::insufficient_scope("orders:read"),
                403,
                r#"Bearer error="insufficient_scope", scope="orders:read""#,
            ),
        ];
        for (e, status, value) in cases {
            assert_eq!(
                challenge(e),
                (
                    StatusCode::from_u16(status).unwrap_or_default(),
                    value.into()
                )
            );
        }
        let odd = bearer_challenge(&[("realm", "a \"b\" \\ c\u{e9}\n")]);
        assert_eq!(odd, r#"Bearer realm="a \"b\" \\ c""#);
    }
}
