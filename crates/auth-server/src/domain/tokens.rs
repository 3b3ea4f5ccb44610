//! Minting signed access tokens (RFC 9068).

use std::sync::Arc;

use auth_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims, Audience};
use auth_core::{Alg, Clock};
use josekit::jws::JwsHeader;

use super::keys::KeyManager;
use super::random;
use super::signing_pool::{PoolError, SigningPool};
use super::values::Scopes;

/// A freshly signed token.
#[derive(Clone)]
pub struct SignedToken {
    /// The compact JWS.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// Its `exp`.
    pub expires_at: i64,
    /// Its `jti`.
    pub jti: String,
}

/// Without the token.
impl std::fmt::Debug for SignedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

/// Signing failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No usable key for the algorithm (none created yet, or none could be opened).
    #[error("no signing key available for {0}")]
    NoKey(Alg),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// Too many signatures are queued; retry later.
    #[error("signing queue is full")]
    Busy,
}

/// What goes into an access token besides the issuer-controlled claims.
#[derive(Debug, Clone)]
pub struct AccessTokenRequest {
    /// Algorithm to sign with.
    pub alg: Alg,
    /// Subject.
    pub sub: String,
    /// Client id.
    pub client_id: String,
    /// Audiences (at least one).
    pub audience: Vec<String>,
    /// Granted scopes.
    pub scopes: Scopes,
    /// RFC 9449 §6.1: the JWK SHA-256 thumbprint (RFC 7638) of the DPoP key the token is bound
    /// to, carried as `cnf: {"jkt": ...}`; `None` for a bearer token.
    pub jkt: Option<String>,
}

/// An access token's claims with the RFC 7800 §3.1 confirmation claim of a DPoP-bound token
/// (RFC 9449 §6.1).
#[derive(serde::Serialize)]
struct BoundClaims<'a> {
    #[serde(flatten)]
    claims: &'a AccessTokenClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
}

/// `cnf` (RFC 7800 §3.1) with the RFC 9449 §6.1 `jkt` member.
#[derive(serde::Serialize)]
struct Confirmation<'a> {
    jkt: &'a str,
}

/// The identity and lifetime of an access token not signed yet (see [`TokenIssuer::reserve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// Its `jti`.
    pub jti: String,
    /// Its `iat`.
    pub iat: i64,
    /// Its `exp`.
    pub exp: i64,
}

/// Signs access tokens with the key that is active now.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    issuer: Arc<str>,
    access_token_ttl: i64,
    keys: Arc<KeyManager>,
    clock: Arc<dyn Clock>,
    rsa_pool: SigningPool,
}

impl TokenIssuer {
    /// A new issuer.
    pub fn new(
        issuer: &str,
        access_token_ttl: i64,
        keys: Arc<KeyManager>,
        clock: Arc<dyn Clock>,
        rsa_pool: SigningPool,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            access_token_ttl,
            keys,
            clock,
            rsa_pool,
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs an RFC 9068 access token: header `typ: at+jwt`, `alg` and `kid` of the active key.
    pub async fn access_token(&self, req: AccessTokenRequest) -> Result<SignedToken, IssueError> {
        self.reserved_access_token(req, self.reserve()).await
    }

    /// The `jti`, `iat` and `exp` of an access token to be signed later with
    /// [`TokenIssuer::reserved_access_token`]. A grant records them in the same transaction that
    /// checks the grant is still live, before anything is signed: a revocation that commits after
    /// that transaction then finds the `jti` and lists it, and one that commits before makes the
    /// grant refuse. So no access token escapes a revocation.
    pub fn reserve(&self) -> Reserved {
        let now = self.clock.now();
        Reserved {
            jti: random::token(16),
            iat: now,
            exp: now + self.access_token_ttl,
        }
    }

    /// Signs an access token with reserved `jti`, `iat` and `exp`.
    pub async fn reserved_access_token(
        &self,
        req: AccessTokenRequest,
        reserved: Reserved,
    ) -> Result<SignedToken, IssueError> {
        let Reserved { jti, iat, exp } = reserved;
        let claims = AccessTokenClaims {
            iss: self.issuer.to_string(),
            sub: req.sub,
            aud: Audience::from_list(req.audience),
            exp,
            iat,
            jti: jti.clone(),
            client_id: req.client_id,
            scope: req.scopes.to_optional_string(),
        };
        let bound = BoundClaims {
            claims: &claims,
            cnf: req.jkt.as_deref().map(|jkt| Confirmation { jkt }),
        };
        let token = self.sign(req.alg, ACCESS_TOKEN_TYP, &bound).await?;
        Ok(SignedToken {
            token,
            expires_in: self.access_token_ttl,
            expires_at: claims.exp,
            jti,
        })
    }

    /// Signs any claims as a compact JWS with the key active now for `alg`, with header `typ`.
    ///
    /// RS256 signing takes most of a millisecond, so it runs on the [`SigningPool`], not on an async
    /// worker; ES256 (~30 µs) runs inline.
    pub async fn sign(
        &self,
        alg: Alg,
        typ: &str,
        claims: &impl serde::Serialize,
    ) -> Result<String, IssueError> {
        let now = self.clock.now();
        let snapshot = self.keys.ring().snapshot();
        let (key, signer) = snapshot
            .signing_key(alg, now)
            .ok_or(IssueError::NoKey(alg))?;
        let payload = serde_json::to_vec(claims).map_err(|e| IssueError::Sign(e.to_string()))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(key.kid.clone());
        let signer = signer.clone();
        let sign = move || {
            josekit::jws::serialize_compact(&payload, &header, &*signer)
                .map_err(|e| IssueError::Sign(e.to_string()))
        };
        match alg {
            Alg::Es256 => sign(),
            Alg::Rs256 => self.rsa_pool.run(sign).await.map_err(|e| match e {
                PoolError::Busy => IssueError::Busy,
                PoolError::Stopped => IssueError::Sign(e.to_string()),
            })?,
        }
    }
}
