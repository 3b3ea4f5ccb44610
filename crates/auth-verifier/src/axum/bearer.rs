//! RFC 6750 on the wire: the bearer token of a request (§2.1), the `WWW-Authenticate` challenge
//! (§3) and the error responses (§3.1). Public, so that an endpoint that answers RFC 6750 itself
//! (the IdP's userinfo) parses and challenges exactly as [`super::RequireBearer`] does.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::JsonError;
use crate::VerifyError;
use crate::layer::Refusal;

/// An RFC 6750 §3.1 error response: a [`JsonError`] body, the `WWW-Authenticate` challenge and
/// `Cache-Control: no-store`. Where the `DPoP` scheme is accepted too, both challenges are sent
/// (RFC 9449 §7.2), the one of the scheme that failed first, carrying the error. The axum face
/// of a [`Refusal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerError(pub Refusal);

impl From<Refusal> for BearerError {
    fn from(r: Refusal) -> Self {
        Self(r)
    }
}

impl BearerError {
    /// The same error, also offering the `DPoP` scheme ([`Refusal::offer_dpop`]).
    pub fn offer_dpop(self) -> Self {
        Self(self.0.offer_dpop())
    }

    /// The same error answered in the `DPoP` scheme ([`Refusal::in_dpop_scheme`]).
    pub fn in_dpop_scheme(self) -> Self {
        Self(self.0.in_dpop_scheme())
    }

    /// 401 for a request with the `DPoP` scheme ([`Refusal::dpop_invalid`]).
    pub fn dpop_invalid(why: &VerifyError) -> Self {
        Self(Refusal::dpop_invalid(why))
    }

    /// 401 with no error code: the request carried no token ([`Refusal::missing`]).
    pub fn missing() -> Self {
        Self(Refusal::missing())
    }

    /// 401 `invalid_token` ([`Refusal::invalid`]).
    pub fn invalid(why: &VerifyError) -> Self {
        Self(Refusal::invalid(why))
    }

    /// 400 `invalid_request` (RFC 6750 §3.1): a malformed Authorization header.
    pub fn malformed(why: &str) -> Self {
        Self(Refusal::malformed(why))
    }

    /// 403 `insufficient_scope` naming the scope needed (RFC 6750 §3.1).
    pub fn insufficient_scope(scope: &str) -> Self {
        Self(Refusal::insufficient_scope(scope))
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let r = self.0;
        let mut body = JsonError::new(r.status(), r.code());
        if let Some(d) = r.description() {
            body = body.describe(d);
        }
        let mut res = body.into_response();
        r.write_headers(res.headers_mut());
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
    crate::layer::challenge(params)
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
fn bearer_bytes(headers: &HeaderMap) -> Result<Option<&[u8]>, BearerError> {
    let values = headers.get_all(header::AUTHORIZATION).iter();
    auth_core::bearer::credentials(values.map(HeaderValue::as_bytes))
        .map_err(|m| BearerError::malformed(m.0))
}

/// RFC 6750 §2.1 b64token ([`auth_core::bearer::token`]).
fn token_syntax(token: &[u8]) -> Result<&str, BearerError> {
    auth_core::bearer::token(token).map_err(|m| BearerError::malformed(m.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

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
