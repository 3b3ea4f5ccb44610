//! DPoP-bound access tokens at a resource server (RFC 9449 §7): the token as usual (the verified-
//! token cache included), then, per request, the proof against the request and the token's
//! `cnf.jkt`, with `jti` replay refused.
//!
//! The order keeps refusals cheap: the proof is parsed and its `jti` looked up in the replay cache
//! before the token or the proof is verified (a replayed proof costs no signature check); the
//! proof's key thumbprint is compared with `cnf.jkt` before its signature; the `jti` is recorded
//! only once the proof verified, so a forged proof cannot burn a legitimate `jti`.

use std::sync::Arc;

use crate::dpop::{DpopError, KeyCache, Proof, ProofCheck, Remember, ReplayCache};
use crate::error::VerifyError;
use crate::typed::{CustomClaims, Parser, Verified, is_unit, parser};
use crate::verifier::Hit;
use crate::{Claims, Verifier};

/// Default number of live proof `jti`s remembered (about 3,000 proofs a second over the default
/// 65-second window; 16 bytes of hash and a timestamp each).
pub(crate) const DEFAULT_REPLAY_CAPACITY: usize = 200_000;
/// Parsed proof keys kept (one per client key in use).
const KEY_CACHE_CAPACITY: usize = 4096;

/// The verifier's DPoP settings and state.
#[derive(Debug)]
pub(crate) struct DpopState {
    /// The service's external base URL, normalized, without a trailing `/`.
    pub(crate) external_url: Option<String>,
    pub(crate) max_age: i64,
    pub(crate) leeway: i64,
    pub(crate) replay: ReplayCache,
    pub(crate) keys: KeyCache,
}

impl DpopState {
    pub(crate) fn new(external_url: Option<String>, window: (i64, i64), replay: usize) -> Self {
        Self {
            external_url,
            max_age: window.0,
            leeway: window.1,
            replay: ReplayCache::new(replay),
            keys: KeyCache::new(KEY_CACHE_CAPACITY),
        }
    }
}

/// Refuses a bound token presented as a bearer token (RFC 9449 §7.2).
pub(crate) fn bearer_only(claims: Arc<Claims>) -> Result<Arc<Claims>, VerifyError> {
    match claims.jkt() {
        Some(_) => Err(VerifyError::DpopBound),
        None => Ok(claims),
    }
}

impl Verifier {
    /// The external base URL of this service ([`crate::VerifierBuilder::external_url`]): the
    /// axum layer's `htu` is this followed by the request's path.
    pub fn external_url(&self) -> Option<&str> {
        self.inner.dpop.external_url.as_deref()
    }

    /// Verifies an access token presented with `Authorization: DPoP <token>` and the one `DPoP`
    /// header `proof` of a request `method uri` (`uri` absolute, as the client addressed it; query
    /// and fragment ignored). RFC 9449 §7.1: the token must be valid and carry `cnf.jkt`; the
    /// proof must pass every check of §4.3 for this request, with `ath` the hash of `token`, be
    /// signed by the key whose thumbprint is `cnf.jkt`, and not be a replay (§11.1).
    pub async fn verify_dpop(
        &self,
        token: &str,
        proof: &str,
        method: &str,
        uri: &str,
    ) -> Result<Arc<Claims>, VerifyError> {
        let proof = self.dpop_precheck(proof)?;
        let claims = match self.cache_lookup(token.as_bytes()) {
            Some(answer) => answer,
            None => self.verify_uncached(token).await,
        };
        let answer = claims.and_then(|c| self.bind(c, &proof, token, method, uri));
        self.inner.metrics.verified(&answer);
        answer
    }

    /// [`Verifier::verify_dpop`] with the service's own claims `T` as well, as
    /// [`Verifier::verify_as`] gives them for a bearer token: `T` is parsed once per token, when
    /// it is verified in full, and a cache hit (plus its proof) returns that same `T`.
    ///
    /// ```no_run
    /// # async fn f(v: auth_verifier::Verifier, token: &str, proof: &str) -> Result<(), auth_verifier::VerifyError> {
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Tenant {
    ///     tenant: String,
    /// }
    /// let verified = v
    ///     .verify_dpop_as::<Tenant>(token, proof, "POST", "https://api.example.com/orders")
    ///     .await?;
    /// println!("{:?} in {}, key {:?}", verified.sub, verified.custom().tenant, verified.jkt());
    /// # Ok(()) }
    /// ```
    pub async fn verify_dpop_as<T: CustomClaims>(
        &self,
        token: &str,
        proof: &str,
        method: &str,
        uri: &str,
    ) -> Result<Verified<T>, VerifyError> {
        let proof = self.dpop_precheck(proof)?;
        let hit = match self.verify_dpop_cached::<T>(token, &proof, method, uri) {
            Some(answer) => answer,
            None => {
                let custom = parser::<T>();
                (self.verify_dpop_in_full(token, &proof, (method, uri), custom)).await
            }
        };
        hit.and_then(|(claims, custom)| self.typed::<T>(token.as_bytes(), claims, custom))
    }

    /// Parses a proof and refuses a replayed one, before any signature check; counted when refused.
    pub(crate) fn dpop_precheck(&self, proof: &str) -> Result<Proof, VerifyError> {
        let checked = Proof::parse(proof).and_then(|p| {
            match self.inner.dpop.replay.seen(p.jti(), self.now()) {
                true => Err(DpopError::Replayed),
                false => Ok(p),
            }
        });
        checked.map_err(|e| {
            let e = VerifyError::DpopProof(e);
            self.inner.metrics.rejected(&e);
            e
        })
    }

    /// [`Verifier::verify_dpop`] after [`Verifier::dpop_precheck`] when the token is a cache hit
    /// (or refused at once): `None` when it must be verified in full. With the typed claims
    /// cached with the token, if any (looked at only for a typed `T`, as for a bearer hit).
    pub(crate) fn verify_dpop_cached<T: CustomClaims>(
        &self,
        token: &str,
        proof: &Proof,
        method: &str,
        uri: &str,
    ) -> Option<Result<Hit, VerifyError>> {
        let hit = self.cache_lookup_entry(token.as_bytes(), !is_unit::<T>())?;
        let answer = hit.and_then(|(c, custom)| {
            let c = self.bind(c, proof, token, method, uri)?;
            Ok((c, custom))
        });
        self.inner.metrics.verified(&answer);
        Some(answer)
    }

    /// [`Verifier::verify_dpop`] after [`Verifier::dpop_precheck`] and a cache miss; `custom`
    /// parses the typed claims cached with the token.
    pub(crate) async fn verify_dpop_in_full(
        &self,
        token: &str,
        proof: &Proof,
        (method, uri): (&str, &str),
        custom: Option<Parser>,
    ) -> Result<Hit, VerifyError> {
        let verified = self.verify_uncached_with(token, custom).await;
        let answer = verified.and_then(|(c, custom)| {
            let c = self.bind(c, proof, token, method, uri)?;
            Ok((c, custom))
        });
        self.inner.metrics.verified(&answer);
        answer
    }

    /// The proof against the verified token and the request; records its `jti` once it verified.
    fn bind(
        &self,
        claims: Arc<Claims>,
        proof: &Proof,
        token: &str,
        method: &str,
        uri: &str,
    ) -> Result<Arc<Claims>, VerifyError> {
        let jkt = claims.jkt().ok_or(VerifyError::NotDpopBound)?;
        if proof.jkt() != jkt {
            return Err(VerifyError::DpopKeyMismatch);
        }
        let dpop = &self.inner.dpop;
        let now = self.now();
        let check = ProofCheck {
            method,
            uri,
            access_token: Some(token),
            nonce: None,
            now,
            max_age_secs: dpop.max_age,
            leeway_secs: dpop.leeway,
        };
        let key = dpop.keys.key_of(proof).map_err(VerifyError::DpopProof)?;
        let verified = proof
            .verify_with_key(&check, &key)
            .map_err(VerifyError::DpopProof)?;
        match dpop
            .replay
            .remember(&verified.jti, verified.replayable_until, now)
        {
            Remember::First => Ok(claims),
            Remember::Replayed => Err(VerifyError::DpopProof(DpopError::Replayed)),
            Remember::Full => Err(VerifyError::DpopProof(DpopError::ReplayCacheFull)),
        }
    }
}
