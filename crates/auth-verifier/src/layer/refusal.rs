//! Why a request was refused, independent of any web framework: status, RFC 6750 §3.1 error code
//! and description, and the `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9449 §7.1); and how a
//! refusal becomes a response ([`RefusalResponse`]): by default an empty body with the RFC 6750
//! headers ([`DefaultRefusal`]), or whatever a hook builds (a gRPC `grpc-status: 16`, a JSON body).

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::VerifyError;
use crate::dpop::DpopError;

/// A refused request, as RFC 6750 §3.1 (and RFC 9449 §7.1 for the `DPoP` scheme) describes it.
/// Turned into a response by the layer's [`RefusalResponse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: StatusCode,
    code: &'static str,
    description: Option<String>,
    /// The challenge's parameters (after the scheme), in order.
    params: Vec<(&'static str, String)>,
    /// The error is about the `DPoP` scheme: its challenge carries `params` (RFC 9449 §7.1).
    dpop_scheme: bool,
    /// Challenge with both schemes.
    both: bool,
}

impl Refusal {
    /// A refusal with this status, error code and description, the code and description also in
    /// the `Bearer` challenge (e.g. a 403 of the service's own, from a closure check).
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            status,
            code,
            params: vec![
                ("error", code.to_owned()),
                ("error_description", description.clone()),
            ],
            description: Some(description),
            dpop_scheme: false,
            both: false,
        }
    }

    /// 401 with no error code: the request carried no token (RFC 6750 §3.1: "If the request lacks
    /// any authentication information ... the resource server SHOULD NOT include an error code").
    pub fn missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            description: Some("a bearer token is required".into()),
            params: Vec::new(),
            dpop_scheme: false,
            both: false,
        }
    }

    /// 401 `invalid_token` (RFC 6750 §3.1). Only "expired" is told apart (clients act on it);
    /// every other reason is logged, not shown, so a caller learns nothing about keys, the IdP's
    /// state, or which check failed.
    pub fn invalid(why: &VerifyError) -> Self {
        let description = match why {
            VerifyError::Expired => "the access token has expired",
            VerifyError::DpopBound => {
                "the access token is DPoP-bound: present it with the DPoP scheme and a proof"
            }
            _ => "the access token is invalid",
        };
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// 401 for a request with the `DPoP` scheme (RFC 9449 §7.1): `invalid_dpop_proof` when the
    /// proof was refused, `invalid_token` when the token was (an unbound token, or a proof by
    /// another key than `cnf.jkt`, is "Invalid DPoP key binding").
    pub fn dpop_invalid(why: &VerifyError) -> Self {
        let error = match why {
            VerifyError::DpopProof(e) => {
                let description = match e {
                    DpopError::UnsupportedAlg(_) => "the DPoP proof's alg is not accepted".into(),
                    e => e.to_string(),
                };
                Self::new(StatusCode::UNAUTHORIZED, "invalid_dpop_proof", description)
            }
            VerifyError::NotDpopBound | VerifyError::DpopKeyMismatch => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Invalid DPoP key binding",
            ),
            other => Self::invalid(other),
        };
        error.in_dpop_scheme()
    }

    /// 400 `invalid_request` (RFC 6750 §3.1): malformed credentials.
    pub fn malformed(why: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", why)
    }

    /// 403 `insufficient_scope` naming the scope needed (RFC 6750 §3.1).
    pub fn insufficient_scope(scope: &str) -> Self {
        let mut r = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this request requires the scope {scope}"),
        );
        r.params = vec![
            ("error", "insufficient_scope".into()),
            ("scope", scope.into()),
        ];
        r
    }

    /// 403 `insufficient_scope` without a scope: a closure check ([`super::Authenticate::check`])
    /// refused the token ("the request requires higher privileges than provided by the access
    /// token", RFC 6750 §3.1).
    pub fn forbidden() -> Self {
        let description = "the access token does not allow this request";
        Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
    }

    /// The same refusal, also offering the `DPoP` scheme (`WWW-Authenticate: DPoP algs="..."`
    /// after the `Bearer` challenge): for a service that accepts both (RFC 9449 §7.2).
    pub fn offer_dpop(mut self) -> Self {
        self.both = true;
        self
    }

    /// The same refusal answered in the `DPoP` scheme (the request used it), with a plain
    /// `Bearer` challenge after it.
    pub fn in_dpop_scheme(mut self) -> Self {
        self.dpop_scheme = true;
        self.both = true;
        self
    }

    /// The HTTP status: 400, 401 or 403 (or the one given to [`Refusal::new`]).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code (`invalid_token`, `insufficient_scope`, `invalid_request`, ...;
    /// `unauthorized` when no credentials were sent).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The description, safe to show to the caller.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Adds the `WWW-Authenticate` challenges and `Cache-Control: no-store` to `headers`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let params: Vec<(&str, &str)> = self.params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        if self.dpop_scheme {
            headers.append(header::WWW_AUTHENTICATE, dpop_challenge(&params));
            headers.append(header::WWW_AUTHENTICATE, challenge(&[]));
        } else {
            headers.append(header::WWW_AUTHENTICATE, challenge(&params));
            if self.both {
                headers.append(header::WWW_AUTHENTICATE, dpop_challenge(&[]));
            }
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Builds the response of a refused request. Implemented by [`DefaultRefusal`] and by every
/// `Fn(Refusal) -> http::Response<B>` (a hook, e.g. for gRPC).
pub trait RefusalResponse<B> {
    /// The response answering `refusal`.
    fn respond(&self, refusal: Refusal) -> Response<B>;
}

impl<B, F: Fn(Refusal) -> Response<B>> RefusalResponse<B> for F {
    fn respond(&self, refusal: Refusal) -> Response<B> {
        self(refusal)
    }
}

/// The default refusal: the status, the RFC 6750 headers ([`Refusal::write_headers`]) and an
/// empty body (`B::default()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRefusal;

impl<B: Default> RefusalResponse<B> for DefaultRefusal {
    fn respond(&self, refusal: Refusal) -> Response<B> {
        let mut res = Response::new(B::default());
        *res.status_mut() = refusal.status();
        refusal.write_headers(res.headers_mut());
        res
    }
}

/// The `WWW-Authenticate` value of an RFC 6750 §3 challenge ([`auth_core::bearer::challenge`]).
pub(crate) fn challenge(params: &[(&str, &str)]) -> HeaderValue {
    // Only visible ASCII and spaces are written.
    HeaderValue::from_str(&auth_core::bearer::challenge(params))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// A `DPoP` challenge (RFC 9449 §7.1): the parameters, then `algs` with the accepted algorithms.
pub(crate) fn dpop_challenge(params: &[(&str, &str)]) -> HeaderValue {
    let algs = crate::dpop::supported_algs();
    let mut all = params.to_vec();
    all.push(("algs", &algs));
    let bearer = auth_core::bearer::challenge(&all);
    // The same quoting rules; only the scheme name differs.
    let value = format!("DPoP{}", bearer.strip_prefix("Bearer").unwrap_or_default());
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenges(r: &Refusal) -> Vec<String> {
        let res: Response<String> = DefaultRefusal.respond(r.clone());
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.body().is_empty());
        let all = res.headers().get_all(header::WWW_AUTHENTICATE);
        all.iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn default_response_is_rfc6750() {
        assert_eq!(challenges(&Refusal::missing()), ["Bearer"]);
        let expired = Refusal::invalid(&VerifyError::Expired);
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenges(&expired),
            [r#"Bearer error="invalid_token", error_description="the access token has expired""#]
        );
        let scope = Refusal::insufficient_scope("orders:read");
        assert_eq!(
            challenges(&scope),
            [r#"Bearer error="insufficient_scope", scope="orders:read""#]
        );
        let dpop = Refusal::dpop_invalid(&VerifyError::NotDpopBound);
        assert_eq!(
            challenges(&dpop),
            [
                r#"DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256 PS256 RS256 EdDSA""#,
                "Bearer"
            ]
        );
        let offered = Refusal::missing().offer_dpop();
        assert_eq!(
            challenges(&offered),
            ["Bearer", r#"DPoP algs="ES256 PS256 RS256 EdDSA""#]
        );
        let forbidden = Refusal::forbidden();
        assert_eq!(
            (forbidden.status(), forbidden.code()),
            (StatusCode::FORBIDDEN, "insufficient_scope")
        );
    }

    #[test]
    fn dpop_challenge_form() {
        let v = dpop_challenge(&[("error", "invalid_dpop_proof")]);
        assert_eq!(
            v,
            r#"DPoP error="invalid_dpop_proof", algs="ES256 PS256 RS256 EdDSA""#
        );
    }
}
