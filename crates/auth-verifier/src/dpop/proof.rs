//! [`Proof`]: a DPoP proof JWT parsed without any signature check, then verified against a
//! [`ProofCheck`] (RFC 9449 §4.3).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::key::{self, ProofAlg, ProofKey};
use super::{DpopError, ProofCheck, VerifiedProof, htu_matches};

/// Largest proof accepted, checked before any decoding (an RSA-4096 proof is about 2 KiB).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted (RFC 9449 §4.2 suggests 96 bits of randomness, a few dozen characters).
const MAX_JTI_BYTES: usize = 256;

/// The JOSE header members a proof may use. `jku`, `x5u`, `x5c` and `kid` are not read: the key is
/// the `jwk` member (RFC 9449 §4.2).
#[derive(Deserialize)]
struct RawHeader {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<Map<String, Value>>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct RawClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<serde_json::Number>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// A DPoP proof, decoded and structurally checked, not yet verified: the header is a `dpop+jwt`
/// with an accepted asymmetric `alg` and a public `jwk`; the required claims are present. Its
/// `jti` and `iat` can be read before the signature is checked, so a replay costs no signature
/// verification.
#[derive(Debug)]
pub struct Proof {
    token: String,
    signing_input_len: usize,
    signature: Vec<u8>,
    alg: ProofAlg,
    jwk: Map<String, Value>,
    jkt: String,
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
    nonce: Option<String>,
}

fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>, DpopError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| DpopError::Malformed(what))
}

impl Proof {
    /// Decodes `proof_jwt` (the value of the one `DPoP` header) without verifying its signature
    /// (RFC 9449 §4.3 checks 2-5, 7 and 8): compact JWS, `typ` `dpop+jwt`, `alg` in the allow-list,
    /// a `jwk` without private members whose own `alg` (if any) is the proof's, `jti`, `htm`, `htu`
    /// and `iat` present. The key's thumbprint
    /// is computed here (one SHA-256); the key itself is parsed in [`Proof::verify`].
    pub fn parse(proof_jwt: &str) -> Result<Proof, DpopError> {
        if proof_jwt.len() > MAX_PROOF_BYTES {
            return Err(DpopError::TooLarge(MAX_PROOF_BYTES));
        }
        let mut it = proof_jwt.split('.');
        let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(DpopError::Malformed("not a compact JWS of three segments"));
        };
        if h.is_empty() || p.is_empty() || s.is_empty() {
            return Err(DpopError::Malformed("empty segment"));
        }
        let header: RawHeader = serde_json::from_slice(&b64(h, "header is not base64url")?)
            .map_err(|_| DpopError::Malformed("header is not a JOSE header object"))?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("dpop+jwt") || t.eq_ignore_ascii_case("application/dpop+jwt")
        });
        if !typ_ok {
            return Err(DpopError::WrongType);
        }
        if header.crit.is_some() {
            return Err(DpopError::UnsupportedCrit);
        }
        let alg_name = header.alg.unwrap_or_default();
        let alg = ProofAlg::from_name(&alg_name).ok_or(DpopError::UnsupportedAlg(alg_name))?;
        let jwk = header.jwk.ok_or(DpopError::BadKey("no jwk header"))?;
        key::check_public(&jwk)?;
        // The key's own `alg`, if any, must be the proof's (also when the parsed key is cached).
        if jwk
            .get("alg")
            .is_some_and(|a| a.as_str() != Some(alg.as_str()))
        {
            return Err(DpopError::AlgKeyMismatch);
        }
        let jkt = key::thumbprint(&jwk)?;
        let claims: RawClaims = serde_json::from_slice(&b64(p, "payload is not base64url")?)
            .map_err(|_| DpopError::Malformed("payload is not a claims object"))?;
        let jti = claims
            .jti
            .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
            .ok_or(DpopError::MissingClaim("jti"))?;
        let htm = claims.htm.ok_or(DpopError::MissingClaim("htm"))?;
        let htu = claims.htu.ok_or(DpopError::MissingClaim("htu"))?;
        let iat = claims
            .iat
            .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)))
            .ok_or(DpopError::MissingClaim("iat"))?;
        Ok(Proof {
            signature: b64(s, "signature is not base64url")?,
            signing_input_len: h.len() + 1 + p.len(),
            token: proof_jwt.to_owned(),
            alg,
            jwk,
            jkt,
            jti,
            htm,
            htu,
            iat,
            ath: claims.ath,
            nonce: claims.nonce,
        })
    }

    /// The proof's `jti` (not yet verified).
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The proof's `iat` (not yet verified).
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// The RFC 7638 thumbprint of the proof's `jwk` (the key is not yet shown to have signed it).
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's algorithm.
    pub fn alg(&self) -> ProofAlg {
        self.alg
    }

    /// The proof's `nonce` claim, if any (not yet verified), for a caller that accepts several.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// Verifies the proof for one request (RFC 9449 §4.3 checks 6 and 9-12, §8): `htm`, `htu`,
    /// the nonce, the `iat` window and `ath` first (no cryptography), then the key and the
    /// signature. On success the caller records the `jti` (replay, RFC 9449 §11.1).
    pub fn verify(&self, check: &ProofCheck<'_>) -> Result<VerifiedProof, DpopError> {
        self.check_claims(check)?;
        let key = key::parse_key(self.alg, &self.jwk, self.jkt.clone())?;
        self.check_signature(&key)?;
        Ok(self.verified(check))
    }

    /// [`Proof::verify`] with the key already parsed (a cache keyed by thumbprint).
    pub(crate) fn verify_with_key(
        &self,
        check: &ProofCheck<'_>,
        key: &ProofKey,
    ) -> Result<VerifiedProof, DpopError> {
        self.check_claims(check)?;
        self.check_signature(key)?;
        Ok(self.verified(check))
    }

    /// Parses this proof's key (for a cache keyed by [`Proof::jkt`]).
    pub(crate) fn parse_key(&self) -> Result<ProofKey, DpopError> {
        key::parse_key(self.alg, &self.jwk, self.jkt.clone())
    }

    fn check_claims(&self, check: &ProofCheck<'_>) -> Result<(), DpopError> {
        if self.htm != check.method {
            return Err(DpopError::MethodMismatch);
        }
        if !htu_matches(&self.htu, check.uri) {
            return Err(DpopError::UriMismatch);
        }
        if let Some(expected) = check.nonce {
            match self.nonce.as_deref() {
                None => return Err(DpopError::NonceMissing),
                Some(n) if n != expected => return Err(DpopError::NonceMismatch),
                Some(_) => {}
            }
        }
        let leeway = check.leeway_secs.max(0);
        if self.iat > check.now.saturating_add(leeway) {
            return Err(DpopError::Future);
        }
        if self.iat < check.now.saturating_sub(check.max_age_secs.max(0) + leeway) {
            return Err(DpopError::Stale);
        }
        if let Some(token) = check.access_token {
            let ath = self.ath.as_deref().ok_or(DpopError::MissingAth)?;
            if ath != URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())) {
                return Err(DpopError::AthMismatch);
            }
        }
        Ok(())
    }

    /// The signature, with the key's exact length (ECDSA only in the 64-byte `r || s` form, with
    /// neither half zero).
    fn check_signature(&self, key: &ProofKey) -> Result<(), DpopError> {
        if key.jkt != self.jkt || self.signature.len() != key.signature_len {
            return Err(DpopError::BadSignature);
        }
        if self.alg == ProofAlg::Es256 {
            let (r, s) = self.signature.split_at(32);
            if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
                return Err(DpopError::BadSignature);
            }
        }
        let input = &self.token.as_bytes()[..self.signing_input_len];
        if key.verify(input, &self.signature) {
            Ok(())
        } else {
            Err(DpopError::BadSignature)
        }
    }

    fn verified(&self, check: &ProofCheck<'_>) -> VerifiedProof {
        VerifiedProof {
            jkt: self.jkt.clone(),
            jti: self.jti.clone(),
            iat: self.iat,
            replayable_until: check.replayable_until(self.iat),
        }
    }
}
