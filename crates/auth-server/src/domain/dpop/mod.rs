//! DPoP (RFC 9449) at the IdP: proofs at the token endpoint (§5) and at `/userinfo` (§7), checked
//! with the one proof checker, [`auth_verifier::dpop`], in this order: the proof is parsed (no
//! cryptography), the server nonce is checked when one is required (§8, a MAC: see [`nonce`]), its
//! `jti` is recorded in the replay cache shared by every replica (§11.1; one conditional insert,
//! so of N requests carrying one proof exactly one passes), and only then are the claims and the
//! signature checked. A replay therefore costs no signature check.
//!
//! What a client may do is its [`DpopPolicy`]: `allowed` (a proof binds the tokens, none gives
//! bearer tokens), `required` (§5.2 `dpop_bound_access_tokens`), `disabled`.

pub mod nonce;

use std::sync::Arc;

use auth_core::Clock;
use auth_verifier::dpop::{DpopError, Proof, ProofCheck};

use super::clients::Client;
use super::oauth_error::{ErrorCode, OAuthError};
use super::values::{DpopPolicy, Issuer};
use crate::store::Store;
pub use nonce::Nonces;

/// The replay-cache scope of proofs' `jti`s (`Store::remember_once`).
pub const REPLAY_SCOPE: &str = "dpop";

/// Why a proof was not accepted.
#[derive(Debug)]
pub enum ProofRefusal {
    /// Invalid (`invalid_dpop_proof`, RFC 9449 §5, §7.1), with the checker's reason.
    Invalid(DpopError),
    /// No nonce, or not a current one (`use_dpop_nonce`, §8); send a fresh one.
    UseNonce,
    /// The replay cache could not be reached (503: retry).
    Unavailable,
}

impl From<ProofRefusal> for OAuthError {
    fn from(r: ProofRefusal) -> Self {
        match r {
            ProofRefusal::Invalid(e) => OAuthError::new(
                ErrorCode::InvalidDpopProof,
                format!("DPoP proof refused: {e}"),
            ),
            ProofRefusal::UseNonce => OAuthError::new(
                ErrorCode::UseDpopNonce,
                "the DPoP proof must carry the nonce sent in the DPoP-Nonce header",
            ),
            ProofRefusal::Unavailable => OAuthError::unavailable(),
        }
    }
}

/// Checks DPoP proofs for the token endpoint and `/userinfo`.
#[derive(Debug, Clone)]
pub struct Dpop {
    store: Store,
    clock: Arc<dyn Clock>,
    nonces: Nonces,
    require_nonce: bool,
    token_uri: String,
    userinfo_uri: String,
}

impl Dpop {
    /// Proofs for the endpoints of `issuer`: their `htu` is derived from the configured issuer,
    /// never from the request's `Host` header.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        nonces: Nonces,
        require_nonce: bool,
        issuer: &str,
    ) -> Self {
        let issuer = Issuer::new(issuer);
        Self {
            store,
            clock,
            nonces,
            require_nonce,
            token_uri: issuer.token(),
            userinfo_uri: issuer.userinfo(),
        }
    }

    /// The nonce to send in `DPoP-Nonce` (RFC 9449 §8) when nonces are required, else `None`.
    pub fn fresh_nonce(&self) -> Option<String> {
        self.require_nonce
            .then(|| self.nonces.issue(self.clock.now()))
    }

    /// RFC 9449 §5: the `DPoP` header values of a token request by `client`, judged by its
    /// policy. `Ok(Some(jkt))`: a valid proof, whose key the tokens are bound to; `Ok(None)`: no
    /// proof and none needed (bearer tokens). A `required` client without a proof gets
    /// `invalid_request` (the request lacks a header it must have); a proof from a `disabled`
    /// client, more than one `DPoP` header (§4.3 check 1) or a bad proof, `invalid_dpop_proof`.
    pub async fn token_request(
        &self,
        client: &Client,
        proofs: &[&str],
    ) -> Result<Option<String>, OAuthError> {
        let proof = match (client.dpop, proofs) {
            (DpopPolicy::Required, []) => {
                return Err(OAuthError::invalid_request(
                    "this client must send a DPoP proof (RFC 9449) with its token requests",
                ));
            }
            (_, []) => return Ok(None),
            (DpopPolicy::Disabled, _) => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "DPoP is disabled for this client",
                ));
            }
            (_, [one]) => *one,
            (_, _) => return Err(ProofRefusal::Invalid(DpopError::Multiple).into()),
        };
        let token_uri = self.token_uri.clone();
        let jkt = self
            .check(proof, "POST", &token_uri, None, self.require_nonce)
            .await?;
        Ok(Some(jkt))
    }

    /// RFC 9449 §7: the proof sent with `access_token` to `/userinfo` by `method`; the key's
    /// thumbprint, which the token's `cnf.jkt` must equal. No nonce is demanded here.
    pub async fn userinfo_request(
        &self,
        proofs: &[&str],
        method: &str,
        access_token: &str,
    ) -> Result<String, ProofRefusal> {
        let proof = match proofs {
            [one] => *one,
            [] => return Err(ProofRefusal::Invalid(DpopError::Missing)),
            _ => return Err(ProofRefusal::Invalid(DpopError::Multiple)),
        };
        let uri = self.userinfo_uri.clone();
        self.check(proof, method, &uri, Some(access_token), false)
            .await
    }

    /// Parse, nonce, replay, then claims and signature (see the module doc).
    async fn check(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
        need_nonce: bool,
    ) -> Result<String, ProofRefusal> {
        let now = self.clock.now();
        let proof = Proof::parse(header).map_err(ProofRefusal::Invalid)?;
        let nonce = match (need_nonce, proof.nonce()) {
            (false, _) => None,
            (true, Some(n)) if self.nonces.accepts(n, now) => Some(n),
            (true, _) => return Err(ProofRefusal::UseNonce),
        };
        let check = ProofCheck {
            method,
            uri,
            access_token,
            nonce,
            now,
            ..ProofCheck::default()
        };
        // Remembered as long as the proof could pass the `iat` window, and no longer than a proof
        // issued now (one dated further ahead fails the window anyway): an entry is short-lived
        // whatever the unverified `iat` says.
        let until = check
            .replayable_until(proof.iat())
            .min(check.replayable_until(now.saturating_add(check.leeway_secs)));
        let first = self
            .store
            .remember_once(REPLAY_SCOPE, proof.jti(), until, now)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "DPoP replay cache unavailable");
                ProofRefusal::Unavailable
            })?;
        if !first {
            return Err(ProofRefusal::Invalid(DpopError::Replayed));
        }
        let verified = proof.verify(&check).map_err(|e| match e.error_code() {
            "use_dpop_nonce" => ProofRefusal::UseNonce,
            _ => ProofRefusal::Invalid(e),
        })?;
        Ok(verified.jkt)
    }
}

/// RFC 9449 §5: a refresh-token family bound to key `bound` needs a proof by that key.
pub fn check_refresh_binding(
    bound: Option<&str>,
    presented: Option<&str>,
) -> Result<(), OAuthError> {
    check_binding(bound, presented, "the refresh token")
}

/// RFC 9449 §10: a code requested with `dpop_jkt` is redeemed only with a proof by that key
/// ("If they do not match, it MUST reject the request").
pub fn check_code_binding(bound: Option<&str>, presented: Option<&str>) -> Result<(), OAuthError> {
    check_binding(bound, presented, "the authorization code")
}

fn check_binding(
    bound: Option<&str>,
    presented: Option<&str>,
    what: &str,
) -> Result<(), OAuthError> {
    match bound {
        Some(b) if presented != Some(b) => Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            format!("{what} is bound to a DPoP key: send a DPoP proof signed by that key"),
        )),
        _ => Ok(()),
    }
}
