//! What makes a stored key row trustworthy: only a holder of the key-encryption key (KEK) can make
//! one, so a row written by someone who can write the database but lacks the KEK is never published
//! or used to sign.
//!
//! A row is usable when all of these hold:
//! - it is not revoked;
//! - its public JWK parses, carries the row's `kid` and `alg`, and fits the algorithm's key type;
//! - its `kid` is the RFC 7638 §3 thumbprint of that public JWK (SHA-256 over the required members
//!   in canonical form), so the `kid` names exactly this public key (RFC 7517 §4.5 leaves `kid`
//!   free-form; here it is not);
//! - its sealed private key opens under the KEK with the associated data of its `aad_version`:
//!   version 2 binds `kid`, `alg` and the canonical public key (RFC 7638 §3.2), version 1 (rows
//!   from before migration m0007) binds `kid` and `alg`, and with the thumbprint check above the
//!   `kid` pins the public key too;
//! - the private key it opens to signs what the public JWK verifies (a probe signature).
//!
//! Version-1 rows that pass are re-sealed into version 2 ([`reseal`]).

use std::sync::Arc;

use auth_core::Alg;
use auth_core::jwk::Jwk;
use josekit::jws::{ES256, JwsSigner, RS256};

use super::kek::Kek;
use super::material;
use crate::domain::records::KeyRecord;

/// The associated data of rows written before migration m0007.
pub const AAD_V1: i32 = 1;
/// The associated data every new or re-sealed row uses.
pub const AAD_V2: i32 = 2;

/// Why a stored key row is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// An operator revoked the key.
    #[error("the key is revoked")]
    Revoked,
    /// The `alg` column is not a supported algorithm.
    #[error("unsupported algorithm {0:?}")]
    Alg(String),
    /// The public JWK is not a JWK of the row's algorithm.
    #[error("public JWK: {0}")]
    PublicJwk(String),
    /// The `kid` is not the RFC 7638 thumbprint of the public key.
    #[error("kid is not the RFC 7638 thumbprint of the stored public key")]
    KidNotThumbprint,
    /// The sealed private key does not open: another KEK, or the row was forged or altered.
    #[error("the sealed private key does not open under this key-encryption key")]
    Unopenable,
    /// The sealing's `aad_version` is unknown.
    #[error("unknown aad_version {0}")]
    AadVersion(i32),
    /// The private key does not load, or does not match the public key.
    #[error("private key: {0}")]
    PrivateKey(String),
}

/// A row that passed every check, with its signer.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Its algorithm.
    pub alg: Alg,
    /// Its public JWK, as published.
    pub jwk: Jwk,
    /// Its private key, ready to sign.
    pub signer: Arc<dyn JwsSigner>,
    /// The opened PKCS#8 DER (only kept when the row needs re-sealing).
    pub pkcs8_der: Option<Vec<u8>>,
}

/// Version-1 associated data: `signing-key|kid|alg`.
pub fn aad_v1(kid: &str, alg: Alg) -> Vec<u8> {
    format!("signing-key|{kid}|{alg}").into_bytes()
}

/// Version-2 associated data: `signing-key/v2|kid|alg|` followed by the public key's RFC 7638
/// canonical JSON (`{"crv","kty","x","y"}` or `{"e","kty","n"}`, RFC 7638 §3.2). A sealed blob
/// opens only in a row that carries this exact public key under this `kid` and `alg`.
pub fn aad_v2(kid: &str, alg: Alg, jwk: &Jwk) -> Result<Vec<u8>, BindingError> {
    let canonical = jwk
        .thumbprint_input()
        .map_err(|e| BindingError::PublicJwk(e.to_string()))?;
    Ok(format!("signing-key/v2|{kid}|{alg}|{canonical}").into_bytes())
}

/// The associated data a row's `aad_version` names.
pub fn aad_for(version: i32, kid: &str, alg: Alg, jwk: &Jwk) -> Result<Vec<u8>, BindingError> {
    match version {
        AAD_V1 => Ok(aad_v1(kid, alg)),
        AAD_V2 => aad_v2(kid, alg, jwk),
        other => Err(BindingError::AadVersion(other)),
    }
}

/// Checks a row (see the module documentation) and opens its private key.
pub fn verify(row: &KeyRecord, kek: &Kek) -> Result<Verified, BindingError> {
    let jwk = check_public(row)?;
    let alg = parse_alg(&row.alg)?;
    let aad = aad_for(row.aad_version, &row.kid, alg, &jwk)?;
    let der = kek
        .open(&row.private_key_sealed, &aad, &row.kid)
        .map_err(|_| BindingError::Unopenable)?;
    let signer = material::signer(alg, &der, &row.kid)
        .map_err(|e| BindingError::PrivateKey(e.to_string()))?;
    check_pair(alg, &*signer, &jwk)?;
    let pkcs8_der = (row.aad_version != AAD_V2).then_some(der);
    Ok(Verified {
        alg,
        jwk,
        signer,
        pkcs8_der,
    })
}

/// The checks that need no KEK: not revoked, a public JWK of the row's algorithm under the row's
/// `kid`, and the `kid` is its RFC 7638 thumbprint. Returns the JWK.
pub fn check_public(row: &KeyRecord) -> Result<Jwk, BindingError> {
    if row.revoked_at.is_some() {
        return Err(BindingError::Revoked);
    }
    let alg = parse_alg(&row.alg)?;
    let jwk: Jwk = serde_json::from_str(&row.public_jwk)
        .map_err(|e| BindingError::PublicJwk(e.to_string()))?;
    if jwk.kty != alg.key_type() {
        return Err(BindingError::PublicJwk(format!(
            "kty {} does not fit {alg}",
            jwk.kty
        )));
    }
    if jwk.alg.as_deref() != Some(alg.as_str()) {
        return Err(BindingError::PublicJwk("its alg is not the row's".into()));
    }
    if jwk.kid.as_deref() != Some(row.kid.as_str()) {
        return Err(BindingError::PublicJwk("its kid is not the row's".into()));
    }
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(BindingError::PublicJwk("its use is not sig".into()));
    }
    let thumbprint = jwk
        .thumbprint()
        .map_err(|e| BindingError::PublicJwk(e.to_string()))?;
    if thumbprint != row.kid {
        return Err(BindingError::KidNotThumbprint);
    }
    Ok(jwk)
}

/// Seals `pkcs8_der` for the row `(kid, alg, jwk)` with the version-2 associated data.
pub fn seal(
    kek: &Kek,
    pkcs8_der: &[u8],
    kid: &str,
    alg: Alg,
    jwk: &Jwk,
) -> Result<Vec<u8>, String> {
    let aad = aad_v2(kid, alg, jwk).map_err(|e| e.to_string())?;
    kek.seal(pkcs8_der, &aad).map_err(|e| e.to_string())
}

/// The version-2 sealing of a verified version-1 row, or `None` if it needs none.
pub fn reseal(row: &KeyRecord, verified: &Verified, kek: &Kek) -> Option<Result<Vec<u8>, String>> {
    let der = verified.pkcs8_der.as_ref()?;
    Some(seal(kek, der, &row.kid, verified.alg, &verified.jwk))
}

fn parse_alg(alg: &str) -> Result<Alg, BindingError> {
    alg.parse().map_err(|_| BindingError::Alg(alg.to_owned()))
}

/// The private key signs a probe that the public key verifies: the pair belongs together.
fn check_pair(alg: Alg, signer: &dyn JwsSigner, jwk: &Jwk) -> Result<(), BindingError> {
    const PROBE: &[u8] = b"auth-server key binding probe";
    let bad = |e: &dyn std::fmt::Display| BindingError::PrivateKey(e.to_string());
    let json = serde_json::to_vec(jwk).map_err(|e| bad(&e))?;
    let public = josekit::jwk::Jwk::from_bytes(&json).map_err(|e| bad(&e))?;
    let signature = signer.sign(PROBE).map_err(|e| bad(&e))?;
    let verified = match alg {
        Alg::Es256 => ES256
            .verifier_from_jwk(&public)
            .and_then(|v| v.verify(PROBE, &signature)),
        Alg::Rs256 => RS256
            .verifier_from_jwk(&public)
            .and_then(|v| v.verify(PROBE, &signature)),
    };
    verified.map_err(|_| BindingError::PrivateKey("it does not match the public key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(alg: Alg, kek: &Kek) -> KeyRecord {
        let g = material::generate(alg, 2048).unwrap_or_else(|e| panic!("{e}"));
        let kid = g.jwk.kid.clone().unwrap_or_default();
        let sealed = seal(kek, &g.pkcs8_der, &kid, alg, &g.jwk).unwrap_or_default();
        KeyRecord {
            kid,
            alg: alg.as_str().into(),
            generation: 1,
            public_jwk: serde_json::to_string(&g.jwk).unwrap_or_default(),
            private_key_sealed: sealed,
            kek_id: kek.id().into(),
            published_at: 0,
            activates_at: 0,
            retires_at: None,
            removed_at: None,
            aad_version: AAD_V2,
            revoked_at: None,
        }
    }

    #[test]
    fn a_genuine_row_passes_and_every_alteration_fails() {
        let kek = Kek::from_bytes([3; 32]);
        let good = row(Alg::Es256, &kek);
        assert!(verify(&good, &kek).is_ok());
        assert!(matches!(
            verify(&good, &Kek::from_bytes([4; 32])),
            Err(BindingError::Unopenable)
        ));
        let other = row(Alg::Es256, &kek);
        // Another key's public JWK under this row's kid: the kid is not its thumbprint.
        let mut swapped = good.clone();
        let mut jwk: Jwk =
            serde_json::from_str(&other.public_jwk).unwrap_or_else(|e| panic!("{e}"));
        jwk.kid = Some(good.kid.clone());
        swapped.public_jwk = serde_json::to_string(&jwk).unwrap_or_default();
        assert_eq!(
            verify(&swapped, &kek).err(),
            Some(BindingError::KidNotThumbprint)
        );
        // Another key's sealed blob in this row: it does not open (bound to the other kid).
        let mut moved = good.clone();
        moved.private_key_sealed = other.private_key_sealed.clone();
        assert_eq!(verify(&moved, &kek).err(), Some(BindingError::Unopenable));
        let mut revoked = good.clone();
        revoked.revoked_at = Some(1);
        assert_eq!(verify(&revoked, &kek).err(), Some(BindingError::Revoked));
    }

    #[test]
    fn a_version_1_row_opens_and_is_resealed() {
        let kek = Kek::from_bytes([3; 32]);
        let g = material::generate(Alg::Es256, 0).unwrap_or_else(|e| panic!("{e}"));
        let mut r = row(Alg::Es256, &kek);
        r.kid = g.jwk.kid.clone().unwrap_or_default();
        r.public_jwk = serde_json::to_string(&g.jwk).unwrap_or_default();
        r.private_key_sealed = kek
            .seal(&g.pkcs8_der, &aad_v1(&r.kid, Alg::Es256))
            .unwrap_or_default();
        r.aad_version = AAD_V1;
        let v = verify(&r, &kek).unwrap_or_else(|e| panic!("{e}"));
        let resealed = reseal(&r, &v, &kek)
            .and_then(Result::ok)
            .unwrap_or_default();
        r.private_key_sealed = resealed;
        r.aad_version = AAD_V2;
        let again = verify(&r, &kek).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            again.pkcs8_der.is_none(),
            "a version-2 row needs no re-sealing"
        );
    }
}
