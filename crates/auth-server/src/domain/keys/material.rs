//! Key material: generation with `rsa` / `p256`, public JWK export, and josekit signers.
//!
//! Private keys travel as PKCS#8 DER, which both the RustCrypto crates and josekit (OpenSSL) read.
//! Signing uses josekit: OpenSSL signs RS256 3-4x faster than the pure-Rust `rsa` crate.

use std::sync::Arc;

use auth_core::Alg;
use auth_core::jwk::Jwk;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, JwsSigner, RS256};
use p256::ecdsa::SigningKey as P256SigningKey;
use p256::elliptic_curve::Generate;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;

/// Key generation or loading failed.
#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    /// The underlying crypto library refused.
    #[error("{alg} key: {message}")]
    Crypto {
        /// The algorithm.
        alg: Alg,
        /// What failed.
        message: String,
    },
}

fn crypto(alg: Alg, e: impl std::fmt::Display) -> MaterialError {
    MaterialError::Crypto {
        alg,
        message: e.to_string(),
    }
}

/// A freshly generated key pair.
#[derive(Debug)]
pub struct Generated {
    /// PKCS#8 DER of the private key (to be sealed before storage).
    pub pkcs8_der: Vec<u8>,
    /// The public JWK with `kid` (RFC 7638 thumbprint), `use: sig` and `alg` filled in.
    pub jwk: Jwk,
}

/// Generates a key for `alg`. RSA generation takes tens to hundreds of milliseconds: call it off the
/// async workers (`spawn_blocking`).
pub fn generate(alg: Alg, rsa_bits: usize) -> Result<Generated, MaterialError> {
    let (pkcs8_der, mut jwk) = match alg {
        Alg::Rs256 => {
            let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
            let key = rsa::RsaPrivateKey::new(&mut rng, rsa_bits).map_err(|e| crypto(alg, e))?;
            let der = key.to_pkcs8_der().map_err(|e| crypto(alg, e))?;
            let jwk = Jwk::rsa(
                URL_SAFE_NO_PAD.encode(key.n_bytes()),
                URL_SAFE_NO_PAD.encode(key.e_bytes()),
            );
            (der.as_bytes().to_vec(), jwk)
        }
        Alg::Es256 => {
            let key = P256SigningKey::try_generate().map_err(|e| crypto(alg, e))?;
            let der = key.to_pkcs8_der().map_err(|e| crypto(alg, e))?;
            let point = key.verifying_key().to_sec1_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(crypto(alg, "uncompressed point lacks coordinates"));
            };
            let jwk = Jwk::ec_p256(URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
            (der.as_bytes().to_vec(), jwk)
        }
    };
    jwk.kid = Some(jwk.thumbprint().map_err(|e| crypto(alg, e))?);
    jwk.use_ = Some("sig".into());
    jwk.alg = Some(alg.as_str().into());
    Ok(Generated { pkcs8_der, jwk })
}

/// A josekit signer for a PKCS#8 DER private key, bound to `alg` and `kid`.
pub fn signer(alg: Alg, pkcs8_der: &[u8], kid: &str) -> Result<Arc<dyn JwsSigner>, MaterialError> {
    // The two josekit signer types share the steps but no trait for `set_key_id`.
    macro_rules! keyed {
        ($algorithm:expr) => {{
            let mut s = $algorithm
                .signer_from_der(pkcs8_der)
                .map_err(|e| crypto(alg, e))?;
            s.set_key_id(kid);
            Arc::new(s)
        }};
    }
    Ok(match alg {
        Alg::Rs256 => keyed!(RS256),
        Alg::Es256 => keyed!(ES256),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::Jwk as JoseJwk;

    /// A generated key signs, and its exported public JWK verifies what it signed.
    fn round_trip(alg: Alg, bits: usize) {
        let g = generate(alg, bits).unwrap_or_else(|e| panic!("{e}"));
        let kid = g.jwk.kid.clone().unwrap_or_default();
        assert_eq!(g.jwk.thumbprint().ok().as_deref(), Some(kid.as_str()));
        let signer = signer(alg, &g.pkcs8_der, &kid).unwrap_or_else(|e| panic!("{e}"));
        let sig = signer.sign(b"message").unwrap_or_default();
        let json = serde_json::to_vec(&g.jwk).unwrap_or_default();
        let jose = JoseJwk::from_bytes(&json).unwrap_or_else(|e| panic!("{e}"));
        let ok = match alg {
            Alg::Rs256 => RS256
                .verifier_from_jwk(&jose)
                .map(|v| v.verify(b"message", &sig)),
            Alg::Es256 => ES256
                .verifier_from_jwk(&jose)
                .map(|v| v.verify(b"message", &sig)),
        };
        assert!(matches!(ok, Ok(Ok(()))), "{alg}: {ok:?}");
        if alg == Alg::Es256 {
            assert_eq!(sig.len(), 64, "ES256 signatures are raw r||s");
        }
    }

    #[test]
    fn es256_keys_round_trip() {
        round_trip(Alg::Es256, 0);
    }

    #[test]
    fn rs256_keys_round_trip() {
        round_trip(Alg::Rs256, 2048);
    }
}
