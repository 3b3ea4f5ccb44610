//! The validation policy: what a token must be for this service to accept it, as one value built
//! once per service and handed to [`crate::Verifier::builder`].
//!
//! Strict by default: the audience is required; `alg` ES256 or RS256 (RFC 9068 §4: the resource
//! server rejects tokens signed with an algorithm it does not expect); `exp` required and `nbf`/`iat`
//! checked with a small leeway (RFC 7519 §4.1.4, §4.1.5); tokens over 8 KiB refused before decoding.
//! Optionally, claims that must be present, and fail-closed revocation.

use std::time::Duration;

use auth_core::{Alg, UnixTime};

use crate::claims::Claims;
use crate::error::{InitError, VerifyError};

/// Default leeway for `exp`, `nbf` and `iat`: small, but never zero (clocks drift; a zero leeway makes
/// fresh tokens fail at random on `iat`).
pub const DEFAULT_LEEWAY_SECS: i64 = 30;
/// Default size cap of a token, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest leeway accepted: more would make `exp` meaningless.
const MAX_LEEWAY_SECS: i64 = 300;

/// What a token must be to be accepted: audience, algorithms, time leeway, size, required claims and
/// revocation freshness. Built once per service:
///
/// ```
/// use std::time::Duration;
/// let policy = auth_verifier::Policy::new("https://orders.example.com")
///     .leeway(Duration::from_secs(10))
///     .require_claim("sub")
///     .require_fresh_revocations(Duration::from_secs(60));
/// assert_eq!(policy.audience(), "https://orders.example.com");
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) audience: String,
    pub(crate) algorithms: Vec<Alg>,
    pub(crate) leeway: i64,
    pub(crate) max_token_bytes: usize,
    pub(crate) required_claims: Vec<String>,
    /// `Some(max_age)`: tokens are refused while the issuer's revocation feed is staler than this.
    pub(crate) fresh_revocations: Option<i64>,
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Policy {
    /// The strict defaults for a service whose audience is `audience` (RFC 9068 §4: `aud` must
    /// contain it).
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            algorithms: Alg::ALL.to_vec(),
            leeway: DEFAULT_LEEWAY_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            required_claims: Vec::new(),
            fresh_revocations: None,
        }
    }

    /// The audience tokens must carry.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The algorithms accepted (default: ES256 and RS256); a key bound to another is never used.
    pub fn algorithms(mut self, algs: &[Alg]) -> Self {
        self.algorithms = algs.to_vec();
        self
    }

    /// Leeway for `exp`, `nbf`, `iat` (default 30 s, at most 5 min).
    pub fn leeway(mut self, d: Duration) -> Self {
        self.leeway = secs(d);
        self
    }

    /// Token size cap (default 8 KiB).
    pub fn max_token_bytes(mut self, n: usize) -> Self {
        self.max_token_bytes = n;
        self
    }

    /// Also requires the claim `name` to be present (repeatable; `iss` and `exp` always are, and
    /// RFC 9068 §2.2 lists `sub`, `client_id`, `iat` and `jti` as required of the issuer). A token
    /// without it is refused with [`VerifyError::MissingClaim`].
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required_claims.push(name.into());
        self
    }

    /// Fails closed on revocation: an issuer's tokens are refused ([`VerifyError::RevocationsStale`])
    /// while the last complete poll of its revocation feed is older than `max_age`, including before
    /// the first one and while the feed says it is incomplete. By default revocation fails open (an
    /// unreachable feed keeps what is known). Every issuer needs
    /// [`crate::IssuerConfig::revocation_feed`]; `max_age` should be a few poll intervals.
    pub fn require_fresh_revocations(mut self, max_age: Duration) -> Self {
        self.fresh_revocations = Some(secs(max_age));
        self
    }

    /// Refuses settings that would make the policy unsafe or unsatisfiable.
    pub(crate) fn validate(&self) -> Result<(), InitError> {
        if self.algorithms.is_empty() {
            return Err(InitError::Config(
                "at least one algorithm is required".into(),
            ));
        }
        if !(0..=MAX_LEEWAY_SECS).contains(&self.leeway) {
            return Err(InitError::Config(format!(
                "the leeway must be at most {MAX_LEEWAY_SECS} s"
            )));
        }
        Ok(())
    }

    /// `exp`, `nbf` and `iat` against `now`, with the leeway (on every verification, hits included).
    pub(crate) fn check_time(&self, c: &Claims, now: UnixTime) -> Result<(), VerifyError> {
        let leeway = self.leeway;
        // Saturating: the claims are attacker-controlled numbers (i64::MAX must not overflow).
        if now >= c.exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        let latest = now.saturating_add(leeway);
        if c.nbf.is_some_and(|nbf| nbf > latest) || c.iat.is_some_and(|iat| iat > latest) {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }

    /// The audience and the required claims (once, when a token is verified in full).
    pub(crate) fn check_claims(&self, c: &Claims) -> Result<(), VerifyError> {
        if !c.aud.contains(&self.audience) {
            return Err(VerifyError::WrongAudience);
        }
        match self
            .required_claims
            .iter()
            .find(|n| !c.extra.contains_key(*n))
        {
            Some(missing) => Err(VerifyError::MissingClaim(missing.clone())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(payload: &str) -> Claims {
        crate::claims::parse(payload.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn audience_and_required_claims() {
        let p = Policy::new("https://a").require_claim("sub");
        let with = claims(r#"{"iss":"i","exp":1,"aud":"https://a","sub":"s"}"#);
        assert_eq!(p.check_claims(&with), Ok(()));
        let without = claims(r#"{"iss":"i","exp":1,"aud":["https://a"]}"#);
        assert_eq!(
            p.check_claims(&without),
            Err(VerifyError::MissingClaim("sub".into()))
        );
        let other = claims(r#"{"iss":"i","exp":1,"aud":"https://b","sub":"s"}"#);
        assert_eq!(p.check_claims(&other), Err(VerifyError::WrongAudience));
        assert_eq!(Policy::new("https://a").check_claims(&without), Ok(()));
    }

    #[test]
    fn settings_are_checked() {
        assert!(Policy::new("a").validate().is_ok());
        assert!(Policy::new("a").algorithms(&[]).validate().is_err());
        let long = Duration::from_secs(301);
        assert!(Policy::new("a").leeway(long).validate().is_err());
    }
}
