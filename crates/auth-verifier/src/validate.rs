//! Structural and cryptographic checks of a compact JWS, before and around the key lookup.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::VerifyError;
use crate::keys::VerifyingKey;

/// The JOSE header fields we read. `jku`, `x5u`, `x5c` and `jwk` are deliberately not fields: a key is
/// never located through the token itself.
#[derive(Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub crit: Option<serde_json::Value>,
}

/// A token split into its parts; nothing verified yet.
pub(crate) struct Parts<'a> {
    pub header: Header,
    pub payload: Vec<u8>,
    pub signing_input: &'a [u8],
    pub signature: &'a str,
}

/// Splits and decodes: exactly three non-empty base64url segments, a JSON-object header.
pub(crate) fn split(token: &str) -> Result<Parts<'_>, VerifyError> {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(VerifyError::Malformed("not three segments"));
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(VerifyError::Malformed("empty segment"));
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| VerifyError::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| VerifyError::Malformed("header is not a valid JOSE header"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| VerifyError::Malformed("payload is not base64url"))?;
    Ok(Parts {
        header,
        payload,
        signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
        signature: s,
    })
}

/// Header policy: no `crit` (RFC 7515 §4.1.11: a recipient that does not understand a listed
/// extension MUST reject), `typ` `at+jwt` (RFC 9068 §4: "Resource servers MUST verify that the typ
/// header value is "at+jwt" or "application/at+jwt" and reject tokens carrying any other value").
pub(crate) fn check_header(header: &Header) -> Result<&str, VerifyError> {
    if header.crit.is_some() {
        return Err(VerifyError::UnsupportedCrit);
    }
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok {
        return Err(VerifyError::WrongType);
    }
    header.kid.as_deref().ok_or(VerifyError::MissingKid)
}

/// Verifies the signature with `key`. The algorithm is the key's: the header's `alg` must name it
/// (so `none`, HS256 and any other substitution fail), the signature must have the key's exact length
/// (ECDSA: the 64-byte `r || s` form, never DER), and an ECDSA `r` or `s` of zero is refused outright.
pub(crate) fn check_signature(parts: &Parts<'_>, key: &VerifyingKey) -> Result<(), VerifyError> {
    if parts.header.alg != key.alg.as_str() {
        return Err(VerifyError::AlgMismatch(parts.header.alg.clone()));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(parts.signature)
        .map_err(|_| VerifyError::BadSignature)?;
    if sig.len() != key.signature_len {
        return Err(VerifyError::BadSignature);
    }
    if key.alg == auth_core::Alg::Es256 {
        let (r, s) = sig.split_at(32);
        if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
            return Err(VerifyError::BadSignature);
        }
    }
    if key.verify(parts.signing_input, &sig) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}
