//! The HTTP side of DPoP (RFC 9449) at the IdP: the `DPoP` request headers, the `DPoP-Nonce`
//! response header (§8) and the `DPoP` authentication challenge (§7.1). The checks are in
//! [`crate::domain::dpop`].

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;

use crate::domain::clients::Client;
use crate::domain::dpop::Dpop;
use crate::domain::oauth_error::OAuthError;

/// The `DPoP` request header (RFC 9449 §4.1).
pub static DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Every `DPoP` header value, in order (§4.3 check 1 refuses more than one). A value that is not
/// visible ASCII is kept as an empty string, which the checker refuses as malformed.
pub fn proofs(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(&DPOP)
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect()
}

/// The token request's proof judged by `client`'s policy: the key to bind the tokens to, if any.
pub async fn token_proof(
    dpop: &Dpop,
    client: &Client,
    headers: &HeaderMap,
) -> Result<Option<String>, OAuthError> {
    dpop.token_request(client, &proofs(headers)).await
}

/// RFC 9449 §8: when nonces are required, a token endpoint answer to a request that carried a
/// proof (or was refused `use_dpop_nonce`) brings a fresh nonce in `DPoP-Nonce`, so the client
/// can always make its next proof.
pub fn with_nonce(dpop: &Dpop, headers: &HeaderMap, mut res: Response) -> Response {
    if !headers.contains_key(&DPOP) {
        return res;
    }
    if let Some(nonce) = dpop.fresh_nonce()
        && let Ok(v) = HeaderValue::from_str(&nonce)
    {
        res.headers_mut().insert(DPOP_NONCE.clone(), v);
    }
    res
}

/// The `WWW-Authenticate` value of a `DPoP` challenge (RFC 9449 §7.1): `algs` (the proof
/// algorithms accepted), then the other parameters, quoted as RFC 6750 §3 quotes them.
pub fn challenge(params: &[(&str, &str)]) -> String {
    let algs = auth_verifier::dpop::supported_algs();
    let mut all = vec![("algs", algs.as_str())];
    all.extend_from_slice(params);
    let bearer = auth_core::bearer::challenge(&all);
    format!("DPoP{}", bearer.strip_prefix("Bearer").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::challenge;

    #[test]
    fn a_dpop_challenge_names_the_algorithms_first() {
        let v = challenge(&[("realm", "userinfo"), ("error", "invalid_token")]);
        assert!(v.starts_with("DPoP algs=\"ES256"), "{v}");
        assert!(
            v.ends_with(r#", realm="userinfo", error="invalid_token""#),
            "{v}"
        );
    }
}
