//! The validation policy: what a token must be for this service to accept it, as one value built
//! once per service and handed to [`crate::Verifier::builder`].
//!
//! Strict by default: the audience is required (one of those accepted); `alg` ES256 or RS256
//! (RFC 9068 §4: the resource server rejects tokens signed with an algorithm it does not expect);
//! the claims RFC 9068 §2.2 requires of an access token (`sub`, `client_id`, `iat`, `jti`, with
//! `iss`, `exp`, `aud`) present; `exp` required and `nbf`/`iat` checked with a small leeway
//! (RFC 7519 §4.1.4, §4.1.5); tokens over 8 KiB refused before decoding. Optionally, other
//! required claims, a maximum token lifetime, and fail-closed revocation.

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

/// The claims RFC 9068 §2.2 requires in an access token besides `iss`, `exp` and `aud` (always
/// required): refused without them unless [`Policy::relax_rfc9068`].
pub const RFC9068_CLAIMS: [&str; 4] = ["sub", "client_id", "iat", "jti"];

/// What a token must be to be accepted: audiences, algorithms, time leeway, size, required claims,
/// lifetime and revocation freshness. Built once per service:
///
/// ```
/// use std::time::Duration;
/// let policy = auth_verifier::Policy::new("https://orders.example.com")
///     .accept_audience("https://orders.internal")
///     .leeway(Duration::from_secs(10))
///     .max_token_lifetime(Duration::from_secs(3600))
///     .require_claim("tenant")
///     .require_fresh_revocations(Duration::from_secs(60));
/// assert_eq!(policy.audience(), "https://orders.example.com");
/// assert_eq!(policy.audiences().count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    /// The first accepted audience (the one metrics are labelled with).
    pub(crate) audience: String,
    /// The other accepted audiences.
    pub(crate) more_audiences: Vec<String>,
    /// RFC 9068 §2.2's claims required (the default).
    pub(crate) rfc9068: bool,
    /// `Some(max)`: `exp - iat` must be at most `max` seconds, and `iat` present.
    pub(crate) max_lifetime: Option<i64>,
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
            more_audiences: Vec::new(),
            rfc9068: true,
            max_lifetime: None,
            algorithms: Alg::ALL.to_vec(),
            leeway: DEFAULT_LEEWAY_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            required_claims: Vec::new(),
            fresh_revocations: None,
        }
    }

    /// The first audience accepted (the one given to [`Policy::new`]).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Also accepts tokens addressed to `audience` (repeatable): a token is accepted when its
    /// `aud` contains at least one of the accepted audiences (RFC 7519 §4.1.3), e.g. a service
    /// reached under a public and an internal name, or during a rename.
    pub fn accept_audience(mut self, audience: impl Into<String>) -> Self {
        self.more_audiences.push(audience.into());
        self
    }

    /// Every audience accepted, the first one first.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.audience.as_str())
            .chain(self.more_audiences.iter().map(String::as_str))
    }

    /// Accepts tokens without RFC 9068 §2.2's `sub`, `client_id`, `iat` or `jti` (for issuers whose
    /// access tokens are not RFC 9068 profile tokens); `iss`, `exp`, `aud` and `typ` are still
    /// required, and so is what [`Policy::require_claim`] lists. Without `jti` a token cannot be
    /// revoked individually, only by subject or key.
    pub fn relax_rfc9068(mut self) -> Self {
        self.rfc9068 = false;
        self
    }

    /// Refuses tokens that live longer than `max` (`exp - iat`; [`VerifyError::LifetimeTooLong`]),
    /// and tokens without `iat` ([`VerifyError::MissingClaim`]), whatever the issuer chose: bounds
    /// what a leaked token is worth.
    pub fn max_token_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(secs(max));
        self
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

    /// Also requires the claim `name` to be present (repeatable; `iss`, `exp` and `aud` always are,
    /// and [`RFC9068_CLAIMS`] unless [`Policy::relax_rfc9068`]). A token without it is refused with
    /// [`VerifyError::MissingClaim`].
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
        if self.max_lifetime.is_some_and(|m| m <= 0) {
            return Err(InitError::Config(
                "the maximum token lifetime must be positive".into(),
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

    /// The audience, the required claims and the lifetime (once, when a token is verified in
    /// full).
    pub(crate) fn check_claims(&self, c: &Claims) -> Result<(), VerifyError> {
        if !self.audiences().any(|a| c.aud.iter().any(|t| t == a)) {
            return Err(VerifyError::WrongAudience);
        }
        // RFC 9068 §2.2: parsing already checked their JSON types.
        let standard = RFC9068_CLAIMS.iter().copied().filter(|_| self.rfc9068);
        let required = standard.chain(self.required_claims.iter().map(String::as_str));
        if let Some(missing) = required.into_iter().find(|n| !c.extra.contains_key(*n)) {
            return Err(VerifyError::MissingClaim(missing.to_owned()));
        }
        if let Some(max) = self.max_lifetime {
            let iat = c
                .iat
                .ok_or_else(|| VerifyError::MissingClaim("iat".into()))?;
            if c.exp.saturating_sub(iat) > max {
                return Err(VerifyError::LifetimeTooLong);
            }
        }
        Ok(())
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
        let p = Policy::new("https://a")
            .relax_rfc9068()
            .require_claim("sub");
        let with = claims(r#"{"iss":"i","exp":1,"aud":"https://a","sub":"s"}"#);
        assert_eq!(p.check_claims(&with), Ok(()));
        let without = claims(r#"{"iss":"i","exp":1,"aud":["https://a"]}"#);
        assert_eq!(
            p.check_claims(&without),
            Err(VerifyError::MissingClaim("sub".into()))
        );
        let other = claims(r#"{"iss":"i","exp":1,"aud":"https://b","sub":"s"}"#);
        assert_eq!(p.check_claims(&other), Err(VerifyError::WrongAudience));
        let relaxed = Policy::new("https://a").relax_rfc9068();
        assert_eq!(relaxed.check_claims(&without), Ok(()));
    }

    const FULL: &str = r#""iss":"i","sub":"u","client_id":"c","jti":"j""#;

    #[test]
    fn rfc9068_claims_are_required_by_default() {
        let p = Policy::new("https://a");
        let full = format!(r#"{{{FULL},"aud":"https://a","iat":0,"exp":60}}"#);
        assert_eq!(p.check_claims(&claims(&full)), Ok(()));
        for name in RFC9068_CLAIMS {
            let mut c = claims(&full);
            c.extra.remove(name);
            assert_eq!(
                p.check_claims(&c),
                Err(VerifyError::MissingClaim(name.into())),
                "{name}"
            );
            assert_eq!(p.clone().relax_rfc9068().check_claims(&c), Ok(()), "{name}");
        }
    }

    #[test]
    fn any_accepted_audience() {
        let p = Policy::new("https://a").accept_audience("https://b");
        let ok = |aud: &str| {
            let c = claims(&format!(r#"{{{FULL},"aud":{aud},"iat":0,"exp":60}}"#));
            p.check_claims(&c)
        };
        assert_eq!(ok(r#""https://a""#), Ok(()));
        assert_eq!(ok(r#""https://b""#), Ok(()));
        assert_eq!(ok(r#"["https://x","https://b"]"#), Ok(()));
        assert_eq!(ok(r#""https://c""#), Err(VerifyError::WrongAudience));
        assert_eq!(ok("[]"), Err(VerifyError::WrongAudience));
        assert_eq!(
            p.audiences().collect::<Vec<_>>(),
            ["https://a", "https://b"]
        );
    }

    #[test]
    fn maximum_lifetime() {
        let p = Policy::new("https://a").max_token_lifetime(Duration::from_secs(60));
        let at = |iat: &str, exp: i64| {
            let c = format!(r#"{{{FULL},"aud":"https://a"{iat},"exp":{exp}}}"#);
            p.check_claims(&claims(&c))
        };
        assert_eq!(at(r#","iat":100"#, 160), Ok(()));
        assert_eq!(at(r#","iat":100"#, 161), Err(VerifyError::LifetimeTooLong));
        assert_eq!(
            at(r#","iat":-9223372036854775807"#, i64::MAX),
            Err(VerifyError::LifetimeTooLong)
        );
        let relaxed = p.clone().relax_rfc9068();
        let no_iat = claims(&format!(r#"{{{FULL},"aud":"https://a","exp":1}}"#));
        assert_eq!(
            relaxed.check_claims(&no_iat),
            Err(VerifyError::MissingClaim("iat".into()))
        );
        let zero = Policy::new("a").max_token_lifetime(Duration::ZERO);
        assert!(zero.validate().is_err());
    }

    #[test]
    fn settings_are_checked() {
        assert!(Policy::new("a").validate().is_ok());
        assert!(Policy::new("a").algorithms(&[]).validate().is_err());
        let long = Duration::from_secs(301);
        assert!(Policy::new("a").leeway(long).validate().is_err());
    }
}
