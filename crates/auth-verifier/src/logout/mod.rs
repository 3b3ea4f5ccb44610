//! Logout tokens (OpenID Connect Back-Channel Logout 1.0): what a relying party's
//! `backchannel_logout_uri` endpoint receives from the IdP when a user's SSO session ends, and must
//! validate before ending its own sessions for that user.
//!
//! [`LogoutTokenVerifier`] validates per §2.6 with the keys a [`Verifier`] already holds (its cached
//! JWKS of the trusted issuers, fetched as for access tokens):
//!
//! - explicit typing: header `typ` is `logout+jwt` (or `application/logout+jwt`), so an ID token
//!   or an access token is never taken for a logout token; no `crit`; a `kid`;
//! - the signature, with the algorithm the key is bound to (never the header's alone);
//! - `iss` exactly a trusted issuer, `aud` this client, `iat` not in the future (with the
//!   verifier's leeway) and not older than the configured maximum age, `exp` not passed if present;
//! - `events` an object with the member `http://schemas.openid.net/event/backchannel-logout`
//!   (itself an object), `sid` or `sub` (or both), `jti`, and **no** `nonce` (§2.4: a logout token
//!   with a nonce could be an ID token replayed);
//! - `jti` not seen before (§2.6 step 7): a bounded in-memory cache remembers each accepted token
//!   until it can no longer be accepted anyway; a replay is refused, and a full cache refuses
//!   rather than forgets.
//!
//! ```no_run
//! # async fn run(body_logout_token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use auth_verifier::{LogoutTokenVerifier, Policy, Verifier};
//! // The client's own verifier (any audience: logout tokens are checked against the client id).
//! let keys = Verifier::auth_server("https://idp.example.com", Policy::new("wiki")).await?;
//! let logout = LogoutTokenVerifier::new(keys, "wiki");
//! // In the POST /backchannel-logout handler, with the form field `logout_token`:
//! let token = logout.verify(body_logout_token).await?;
//! // End the app's sessions for token.sid (the IdP session) or, without one, token.sub.
//! # let _ = (token.sid, token.sub);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::VerifyError;
use crate::policy::secs;
use crate::validate;
use crate::verifier::Verifier;

/// The `events` member that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How many accepted `jti`s are remembered by default.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;
/// The default oldest `iat` accepted (a logout token is sent at once; the IdP's live 2 minutes).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// Why a logout token was refused. `Display` is safe to log; answer the IdP with HTTP 400
/// (§2.8) and no detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutTokenError {
    /// Refused as any token would be: size, shape, `crit`, no `kid`, unknown issuer or key, bad
    /// signature, stale keys.
    #[error(transparent)]
    Token(VerifyError),
    /// The header's `typ` is not `logout+jwt` (an ID token or access token, most likely).
    #[error("typ is not logout+jwt")]
    WrongType,
    /// A claim is missing or of the wrong type (`iss`, `aud`, `iat`, `exp`, `jti`, `sid`, `sub`).
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `aud` does not name this client.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp` has passed.
    #[error("logout token expired")]
    Expired,
    /// `iat` is in the future, or older than the maximum age.
    #[error("logout token iat out of range")]
    IssuedAt,
    /// No `events` object with the back-channel logout member.
    #[error("no back-channel logout event")]
    MissingEvent,
    /// Neither `sid` nor `sub`.
    #[error("neither sid nor sub")]
    MissingSidAndSub,
    /// A `nonce` claim is present (§2.4 forbids it: an ID token, most likely).
    #[error("a logout token must not contain a nonce")]
    NonceForbidden,
    /// This `jti` was accepted before.
    #[error("logout token replayed")]
    Replayed,
    /// The replay cache is full of unexpired entries: refused rather than forgetting one.
    #[error("replay cache full")]
    ReplayCacheFull,
}

/// A validated logout token: end the relying party's sessions for `sid` (the IdP's session id,
/// as in the ID tokens) or, without one, every session of `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    /// The issuer.
    pub iss: String,
    /// The user, if given.
    pub sub: Option<String>,
    /// The IdP session, if given.
    pub sid: Option<String>,
    /// The token's id.
    pub jti: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry, if given.
    pub exp: Option<i64>,
}

/// Validates logout tokens for one client (§2.6). Share one per process (its replay cache must
/// see every token).
#[derive(Debug)]
pub struct LogoutTokenVerifier {
    keys: Verifier,
    client_id: String,
    max_age: i64,
    capacity: usize,
    /// `(iss, jti)` -> until when it must be remembered.
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl LogoutTokenVerifier {
    /// Validates logout tokens addressed to `client_id`, with the trusted issuers, keys, clock and
    /// leeway of `keys` (its audience is not used).
    pub fn new(keys: Verifier, client_id: impl Into<String>) -> Self {
        Self {
            keys,
            client_id: client_id.into(),
            max_age: secs(DEFAULT_MAX_AGE),
            capacity: DEFAULT_REPLAY_CAPACITY,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The oldest `iat` accepted (default [`DEFAULT_MAX_AGE`]); it also bounds how long a `jti`
    /// is remembered when the token has no `exp`.
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = secs(d);
        self
    }

    /// How many `jti`s are remembered at most (default [`DEFAULT_REPLAY_CAPACITY`]).
    pub fn replay_capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// Validates `token` per §2.6 and remembers its `jti`; a second call with the same token
    /// fails with [`LogoutTokenError::Replayed`].
    pub async fn verify(&self, token: &str) -> Result<LogoutToken, LogoutTokenError> {
        let policy = self.keys.policy();
        if token.len() > policy.max_token_bytes {
            return Err(LogoutTokenError::Token(VerifyError::TooLarge(
                policy.max_token_bytes,
            )));
        }
        let parts = validate::split(token).map_err(LogoutTokenError::Token)?;
        let kid = check_header(&parts.header)?;
        let claims: Map<String, Value> = serde_json::from_slice(&parts.payload).map_err(|_| {
            LogoutTokenError::Token(VerifyError::Malformed("payload is not a JSON object"))
        })?;
        let iss = string(&claims, "iss")?.ok_or(LogoutTokenError::InvalidClaim("iss"))?;
        let store = self
            .keys
            .issuer_keys(iss)
            .ok_or(LogoutTokenError::Token(VerifyError::UntrustedIssuer))?;
        let now = self.keys.now();
        store
            .ensure_not_stale(now)
            .map_err(LogoutTokenError::Token)?;
        let key = store.key(kid).await.map_err(LogoutTokenError::Token)?;
        validate::check_signature(&parts, &key).map_err(LogoutTokenError::Token)?;
        let checked = self.check_claims(&claims, iss, now)?;
        self.remember(&checked, now)?;
        Ok(checked)
    }

    /// Every claim rule of §2.4 and §2.6 but replay.
    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        iss: &str,
        now: i64,
    ) -> Result<LogoutToken, LogoutTokenError> {
        let leeway = self.keys.policy().leeway;
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.client_id,
            Some(Value::Array(all)) => {
                if all.iter().any(|a| !a.is_string()) {
                    return Err(LogoutTokenError::InvalidClaim("aud"));
                }
                all.iter().any(|a| a.as_str() == Some(&self.client_id))
            }
            _ => return Err(LogoutTokenError::InvalidClaim("aud")),
        };
        if !aud_ok {
            return Err(LogoutTokenError::WrongAudience);
        }
        let iat = int(claims, "iat")?.ok_or(LogoutTokenError::InvalidClaim("iat"))?;
        if iat > now.saturating_add(leeway) || iat < now.saturating_sub(self.max_age) {
            return Err(LogoutTokenError::IssuedAt);
        }
        let exp = int(claims, "exp")?;
        if let Some(exp) = exp
            && now >= exp.saturating_add(leeway)
        {
            return Err(LogoutTokenError::Expired);
        }
        let event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|e| e.get(BACKCHANNEL_LOGOUT_EVENT));
        if !event.is_some_and(Value::is_object) {
            return Err(LogoutTokenError::MissingEvent);
        }
        if claims.contains_key("nonce") {
            return Err(LogoutTokenError::NonceForbidden);
        }
        let sid = string(claims, "sid")?.map(str::to_owned);
        let sub = string(claims, "sub")?.map(str::to_owned);
        if sid.is_none() && sub.is_none() {
            return Err(LogoutTokenError::MissingSidAndSub);
        }
        let jti = string(claims, "jti")?.ok_or(LogoutTokenError::InvalidClaim("jti"))?;
        Ok(LogoutToken {
            iss: iss.to_owned(),
            sub,
            sid,
            jti: jti.to_owned(),
            iat,
            exp,
        })
    }

    /// Records the token's `jti` until it could no longer be accepted; refuses a repeat.
    fn remember(&self, t: &LogoutToken, now: i64) -> Result<(), LogoutTokenError> {
        let leeway = self.keys.policy().leeway;
        let by_age = t.iat.saturating_add(self.max_age);
        let until = t
            .exp
            .map_or(by_age, |e| e.min(by_age))
            .saturating_add(leeway);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (t.iss.clone(), t.jti.clone());
        if seen.get(&key).is_some_and(|u| *u >= now) {
            return Err(LogoutTokenError::Replayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, u| *u >= now);
            if seen.len() >= self.capacity {
                return Err(LogoutTokenError::ReplayCacheFull);
            }
        }
        seen.insert(key, until);
        Ok(())
    }
}

/// `typ` `logout+jwt` (§2.4: "explicitly typed"), no `crit`, a `kid`.
fn check_header(h: &validate::Header) -> Result<&str, LogoutTokenError> {
    if h.crit.is_some() {
        return Err(LogoutTokenError::Token(VerifyError::UnsupportedCrit));
    }
    let typ_ok = h.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("logout+jwt") || t.eq_ignore_ascii_case("application/logout+jwt")
    });
    if !typ_ok {
        return Err(LogoutTokenError::WrongType);
    }
    h.kid
        .as_deref()
        .ok_or(LogoutTokenError::Token(VerifyError::MissingKid))
}

/// Claim `name` as a string: `None` if absent, an error if of another type.
fn string<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, LogoutTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(LogoutTokenError::InvalidClaim(name)),
    }
}

/// Claim `name` as an integer (NumericDate): `None` if absent, an error if of another type.
fn int(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, LogoutTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or(LogoutTokenError::InvalidClaim(name)),
    }
}

#[cfg(test)]
mod tests;
