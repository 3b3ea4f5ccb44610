//! Who may call the admin API: a bearer access token (RFC 6750 §2.1) from this IdP, verified with
//! auth-verifier against the IdP's own JWKS (fetched over loopback from the public listener) with
//! audience `admin.audience`, and its scope: `admin:read` for `GET`, `admin:write` for everything
//! else. The verifier polls the IdP's revocation feed, so a revoked admin token stops working
//! within one poll ([`REVOCATION_POLL`]) even before it expires.
//!
//! The verifier is built on the first admin request, when the public listener is already serving
//! (building it fetches the JWKS).

use std::net::SocketAddr;
use std::time::Duration;

use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AdminApi;
use super::problem::Problem;
use crate::domain::audit::{Actor, RequestMeta};

/// The scope every read (`GET`) needs.
pub const READ_SCOPE: &str = "admin:read";
/// The scope every change (`POST`, `PATCH`, `PUT`, `DELETE`) needs.
pub const WRITE_SCOPE: &str = "admin:write";
/// How often the admin verifier polls the revocation feed.
pub const REVOCATION_POLL: Duration = Duration::from_secs(5);

/// The admin API's token verification, built lazily.
#[derive(Debug)]
pub struct AdminAuth {
    audience: String,
    issuer: String,
    /// `http://127.0.0.1:PORT`: where the public listener answers on loopback; `None` to find the
    /// keys through the issuer URL itself (discovery).
    origin: Option<String>,
    verifier: tokio::sync::OnceCell<Verifier>,
}

impl AdminAuth {
    /// Verification of tokens for `audience` issued by `issuer`, whose JWKS and revocation feed are
    /// fetched from `origin` (with the issuer's path) when given.
    pub fn new(audience: &str, issuer: &str, origin: Option<String>) -> Self {
        Self {
            audience: audience.to_owned(),
            issuer: issuer.to_owned(),
            origin,
            verifier: tokio::sync::OnceCell::new(),
        }
    }

    /// The same verification, fetching from `origin` instead (a fresh, unbuilt verifier).
    pub fn with_origin(&self, origin: Option<String>) -> Self {
        Self::new(&self.audience, &self.issuer, origin)
    }

    /// The loopback origin of a public listener bound to `addr`: an unspecified address (`0.0.0.0`,
    /// `::`) is reached on loopback; `None` for a specific non-loopback address (http is accepted
    /// only on loopback, so the issuer URL is used instead).
    pub fn loopback_origin(addr: SocketAddr) -> Option<String> {
        let ip = addr.ip();
        match ip {
            _ if ip.is_loopback() => Some(format!("http://{addr}")),
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                Some(format!("http://127.0.0.1:{}", addr.port()))
            }
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                Some(format!("http://[::1]:{}", addr.port()))
            }
            _ => None,
        }
    }

    async fn verifier(&self) -> Result<&Verifier, Problem> {
        self.verifier
            .get_or_try_init(|| async {
                let issuer = match &self.origin {
                    Some(origin) => {
                        let path = super::super::issuer_path(&self.issuer);
                        IssuerConfig::new(&self.issuer)
                            .jwks_uri(format!("{origin}{path}/jwks"))
                            .revocation_feed(format!("{origin}{path}/revocations"))
                    }
                    None => IssuerConfig::auth_server(&self.issuer),
                };
                Verifier::builder(Policy::new(&self.audience))
                    .issuer(issuer)
                    .revocation_poll(REVOCATION_POLL)
                    .build()
                    .await
            })
            .await
            .map_err(|e| Problem::unavailable(&e))
    }

    /// Verifies `token` and checks it grants `scope`: the caller's client id.
    async fn authorize(&self, token: &str, scope: &str) -> Result<String, Problem> {
        let claims = match self.verifier().await?.verify(token).await {
            Ok(c) => c,
            Err(
                e @ (VerifyError::KeysUnavailable
                | VerifyError::KeysStale
                | VerifyError::RevocationsStale),
            ) => return Err(Problem::unavailable(&e)),
            Err(e) => {
                tracing::debug!(error = %e, "admin API: token refused");
                return Err(Problem::unauthorized(
                    Some("invalid_token"),
                    "the access token is invalid, expired, revoked or not for the admin API",
                ));
            }
        };
        if !claims.has_scope(scope) {
            return Err(Problem::insufficient_scope(scope));
        }
        claims
            .client_id
            .clone()
            .or_else(|| claims.sub.clone())
            .ok_or_else(|| {
                Problem::unauthorized(Some("invalid_token"), "the access token names no client")
            })
    }
}

/// The authenticated caller of an admin request, for the audit trail: `Actor::Admin(client_id)`
/// and the request's id and client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client id of the caller's access token.
    pub client_id: String,
    /// The request id and client address.
    pub request: RequestMeta,
}

impl Caller {
    /// The audit actor: the administrator by client id.
    pub fn actor(&self) -> Actor {
        Actor::Admin(self.client_id.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Problem::unauthorized(None, "an access token is required"))
    }
}

/// The middleware in front of every authenticated admin route: bearer token, verification, scope
/// by method; the [`Caller`] goes into the request's extensions.
pub async fn authenticate(State(api): State<AdminApi>, mut req: Request, next: Next) -> Response {
    let scope = if matches!(*req.method(), Method::GET | Method::HEAD) {
        READ_SCOPE
    } else {
        WRITE_SCOPE
    };
    let values = req.headers().get_all(header::AUTHORIZATION);
    let token = match auth_core::bearer::credentials(values.iter().map(|v| v.as_bytes())) {
        Ok(None) => {
            return Problem::unauthorized(None, "an access token is required").into_response();
        }
        Ok(Some(c)) => match auth_core::bearer::token(c) {
            Ok(t) => t.to_owned(),
            Err(m) => return Problem::unauthorized(Some("invalid_token"), m.0).into_response(),
        },
        Err(m) => {
            let mut p = Problem::bad_request(m.0);
            p.challenge = Some(auth_core::bearer::challenge(&[
                ("realm", "admin"),
                ("error", "invalid_request"),
            ]));
            return p.into_response();
        }
    };
    let client_id = match api.auth.authorize(&token, scope).await {
        Ok(id) => id,
        Err(p) => return p.into_response(),
    };
    let request_id = req
        .headers()
        .get(super::super::access_log::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let client_addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            super::super::client_addr::client_ip(peer.ip(), req.headers(), &api.trusted_proxies)
                .to_string()
        });
    req.extensions_mut().insert(Caller {
        client_id,
        request: RequestMeta {
            request_id,
            client_addr,
            user_agent: None,
        },
    });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::AdminAuth;

    #[test]
    fn loopback_origins() {
        let o = |s: &str| AdminAuth::loopback_origin(s.parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(
            o("127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(o("0.0.0.0:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(o("[::]:8080").as_deref(), Some("http://[::1]:8080"));
        assert_eq!(o("10.1.2.3:8080"), None);
    }
}
