//! The two authorization schemes on the wire: `Authorization: Bearer` (RFC 6750 §2.1) and
//! `Authorization: DPoP` with its one `DPoP` header (RFC 9449 §7.1), and the request URI a proof's
//! `htu` is compared with.

use axum::http::{HeaderMap, HeaderValue, header};

use super::BearerError;
use crate::dpop::DpopError;

/// What a request's `Authorization` header presents.
#[derive(Debug)]
pub(super) enum Presented<'a> {
    /// No header, or a scheme this layer does not take (as if no token was sent).
    Nothing,
    /// `Bearer <token>`: the credentials, trimmed, not yet checked.
    Bearer(&'a [u8]),
    /// `DPoP <token>` (only when the layer accepts DPoP).
    Dpop(&'a [u8]),
}

/// The credentials of the single `Authorization` header; more than one is a 400 (RFC 6750 §3.1).
pub(super) fn presented(headers: &HeaderMap, dpop: bool) -> Result<Presented<'_>, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(Presented::Nothing);
    };
    if values.next().is_some() {
        return Err(BearerError::malformed("more than one Authorization header"));
    }
    let value = value.as_bytes();
    let after = |scheme: &[u8]| {
        let n = scheme.len();
        (value.len() > n && value[..n].eq_ignore_ascii_case(scheme))
            .then(|| value[n..].trim_ascii())
    };
    Ok(match (after(b"bearer "), after(b"dpop ")) {
        (Some(creds), _) => Presented::Bearer(creds),
        (None, Some(creds)) if dpop => Presented::Dpop(creds),
        _ => Presented::Nothing,
    })
}

/// The value of the one `DPoP` header (RFC 9449 §4.3 check 1: "not more than one").
pub(super) fn proof_header(headers: &HeaderMap) -> Result<&str, DpopError> {
    let mut values = headers.get_all("dpop").iter();
    let value = values.next().ok_or(DpopError::Missing)?;
    if values.next().is_some() {
        return Err(DpopError::Multiple);
    }
    value
        .to_str()
        .map_err(|_| DpopError::Malformed("DPoP header is not visible ASCII"))
}

/// The request's URI as the client addressed it: the configured external base URL followed by
/// the path this service sees (never the `Host` header, which a proxy may rewrite or a client
/// forge). Query and fragment are not part of `htu`.
pub(super) fn request_uri(external_url: &str, path: &str) -> String {
    let mut uri = String::with_capacity(external_url.len() + path.len());
    uri.push_str(external_url);
    uri.push_str(path);
    uri
}

/// A `DPoP` challenge (RFC 9449 §7.1): the parameters, then `algs` with the accepted algorithms.
pub(super) fn dpop_challenge(params: &[(&str, &str)]) -> HeaderValue {
    let algs = crate::dpop::supported_algs();
    let mut all = params.to_vec();
    all.push(("algs", &algs));
    let bearer = auth_core::bearer::challenge(&all);
    // The same quoting rules; only the scheme name differs.
    let value = format!("DPoP{}", bearer.strip_prefix("Bearer").unwrap_or_default());
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(auth: &[&str], dpop: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for v in auth {
            m.append(
                header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("")),
            );
        }
        for v in dpop {
            m.append(
                "dpop",
                HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("")),
            );
        }
        m
    }

    #[test]
    fn schemes() {
        let p = |a: &[&str], on| format!("{:?}", presented(&h(a, &[]), on).ok());
        assert_eq!(
            p(&["Bearer abc"], true),
            format!("{:?}", Some(Presented::Bearer(b"abc")))
        );
        assert_eq!(
            p(&["dpop  abc "], true),
            format!("{:?}", Some(Presented::Dpop(b"abc")))
        );
        assert_eq!(
            p(&["DPoP abc"], false),
            format!("{:?}", Some(Presented::Nothing))
        );
        assert_eq!(
            p(&["Basic abc"], true),
            format!("{:?}", Some(Presented::Nothing))
        );
        assert_eq!(
            p(&["DPoP"], true),
            format!("{:?}", Some(Presented::Nothing))
        );
        assert!(presented(&h(&["DPoP a", "DPoP b"], &[]), true).is_err());
    }

    #[test]
    fn exactly_one_proof_header() {
        assert_eq!(proof_header(&h(&[], &[])), Err(DpopError::Missing));
        assert_eq!(proof_header(&h(&[], &["a", "b"])), Err(DpopError::Multiple));
        assert_eq!(proof_header(&h(&[], &["a.b.c"])), Ok("a.b.c"));
    }

    #[test]
    fn challenge_and_uri() {
        let v = dpop_challenge(&[("error", "invalid_dpop_proof")]);
        assert_eq!(
            v,
            r#"DPoP error="invalid_dpop_proof", algs="ES256 PS256 RS256 EdDSA""#
        );
        assert_eq!(
            dpop_challenge(&[]),
            r#"DPoP algs="ES256 PS256 RS256 EdDSA""#
        );
        assert_eq!(
            request_uri("https://api.example.com/p", "/orders"),
            "https://api.example.com/p/orders"
        );
    }
}
