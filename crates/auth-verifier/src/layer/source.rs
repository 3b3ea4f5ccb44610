//! Where a request's token is: the `Authorization` header (`Bearer`, RFC 6750 §2.1, or `DPoP` with
//! its one `DPoP` header, RFC 9449 §7.1), a named cookie, or a function of the request's parts;
//! and the request URI a DPoP proof's `htu` is compared with.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, header};

use super::Refusal;
use crate::dpop::DpopError;

type Custom = dyn Fn(&Parts) -> Option<&str> + Send + Sync;

/// Where [`super::Authenticate`] takes the token from. DPoP (RFC 9449) is only possible with the
/// `Authorization` header: a token from a cookie or a custom source is a bearer token (a
/// DPoP-bound one is refused, RFC 9449 §7.2).
#[derive(Clone, Default)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`, or `Authorization: DPoP <token>` with a `DPoP` proof when
    /// the verifier has an external URL (the default).
    #[default]
    Authorization,
    /// The value of the cookie with this name (e.g. a browser-facing app's session cookie holding
    /// the access token; set it `HttpOnly; Secure; SameSite=Strict` or `Lax`, and protect
    /// state-changing requests against CSRF: a browser sends the cookie on its own). More than
    /// one cookie of that name is refused (400): it may be a cookie injected by a sibling domain.
    Cookie(Arc<str>),
    /// A function of the request's parts returning the token, or `None` when the request has
    /// none ([`TokenSource::custom`]).
    Custom(Arc<Custom>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authorization => f.write_str("Authorization"),
            Self::Cookie(name) => write!(f, "Cookie({name:?})"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl TokenSource {
    /// The cookie named `name`.
    pub fn cookie(name: &str) -> Self {
        Self::Cookie(name.into())
    }

    /// The token `f` finds in the request's parts (`None`: no token). Its syntax is checked as
    /// a bearer token's (RFC 6750 §2.1 b64token).
    ///
    /// ```
    /// use auth_verifier::layer::TokenSource;
    /// let source = TokenSource::custom(|parts| {
    ///     parts.headers.get("x-access-token")?.to_str().ok()
    /// });
    /// # let _ = source;
    /// ```
    pub fn custom<F>(f: F) -> Self
    where
        F: Fn(&Parts) -> Option<&str> + Send + Sync + 'static,
    {
        Self::Custom(Arc::new(f))
    }
}

/// What a request presents.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented<'a> {
    /// No credentials at all (optional authentication lets such a request through).
    Nothing,
    /// An `Authorization` header with a scheme this layer does not take: as if no token was
    /// sent, but never anonymous.
    OtherScheme,
    /// A bearer token: the credentials, trimmed, not yet checked.
    Bearer(&'a [u8]),
    /// `DPoP <token>` (only when the layer accepts DPoP).
    Dpop(&'a [u8]),
}

/// The credentials of the single `Authorization` header; more than one is a 400 (RFC 6750 §3.1).
pub(crate) fn presented(headers: &HeaderMap, dpop: bool) -> Result<Presented<'_>, Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(Presented::Nothing);
    };
    if values.next().is_some() {
        return Err(Refusal::malformed("more than one Authorization header"));
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
        _ => Presented::OtherScheme,
    })
}

/// The value of the cookie `name` (RFC 6265 §4.2.1 `cookie-string`, in one or several `Cookie`
/// headers; a value in double quotes is unquoted). Two cookies of that name are refused.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Result<Presented<'a>, Refusal> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        for pair in value.as_bytes().split(|b| *b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|b| *b == b'=') else {
                continue;
            };
            if pair[..eq].trim_ascii() != name.as_bytes() {
                continue;
            }
            if found.is_some() {
                return Err(Refusal::malformed("more than one token cookie"));
            }
            let v = pair[eq + 1..].trim_ascii();
            let v = match v {
                [b'"', inner @ .., b'"'] => inner,
                v => v,
            };
            found = Some(v);
        }
    }
    Ok(found.map_or(Presented::Nothing, Presented::Bearer))
}

/// The value of the one `DPoP` header (RFC 9449 §4.3 check 1: "not more than one").
pub(crate) fn proof_header(headers: &HeaderMap) -> Result<&str, DpopError> {
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
pub(crate) fn request_uri(external_url: &str, path: &str) -> String {
    let mut uri = String::with_capacity(external_url.len() + path.len());
    uri.push_str(external_url);
    uri.push_str(path);
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(name: &str, values: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for v in values {
            let v = HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""));
            if let Ok(n) = http::HeaderName::from_bytes(name.as_bytes()) {
                m.append(n, v);
            }
        }
        m
    }

    /// What a presentation is, as text (the headers are temporaries).
    fn show(p: Result<Presented<'_>, Refusal>) -> String {
        match p {
            Ok(Presented::Bearer(t)) => format!("bearer {}", String::from_utf8_lossy(t)),
            Ok(Presented::Dpop(t)) => format!("dpop {}", String::from_utf8_lossy(t)),
            Ok(other) => format!("{other:?}"),
            Err(r) => format!("refused {}", r.code()),
        }
    }

    #[test]
    fn schemes() {
        let p = |a: &[&str], on| show(presented(&h("authorization", a), on));
        assert_eq!(p(&["Bearer abc"], true), "bearer abc");
        assert_eq!(p(&["dpop  abc "], true), "dpop abc");
        assert_eq!(p(&["DPoP abc"], false), "OtherScheme");
        assert_eq!(p(&["Basic abc"], true), "OtherScheme");
        assert_eq!(p(&["DPoP"], true), "OtherScheme");
        assert_eq!(p(&[], true), "Nothing");
        assert_eq!(p(&["DPoP a", "DPoP b"], true), "refused invalid_request");
    }

    #[test]
    fn cookies() {
        let c = |v: &[&str]| show(cookie(&h("cookie", v), "at"));
        assert_eq!(c(&["a=1; at=x.y.z; b=2"]), "bearer x.y.z");
        assert_eq!(c(&["a=1", "at=\"q.r.s\""]), "bearer q.r.s");
        assert_eq!(c(&["a=1; xat=1; at2=3"]), "Nothing");
        assert_eq!(c(&[]), "Nothing");
        assert_eq!(c(&["at="]), "bearer ");
        assert_eq!(c(&["at=1; at=2"]), "refused invalid_request");
        assert_eq!(c(&["at=1", "at=2"]), "refused invalid_request");
    }

    #[test]
    fn exactly_one_proof_header() {
        assert_eq!(proof_header(&h("dpop", &[])), Err(DpopError::Missing));
        assert_eq!(
            proof_header(&h("dpop", &["a", "b"])),
            Err(DpopError::Multiple)
        );
        assert_eq!(proof_header(&h("dpop", &["a.b.c"])), Ok("a.b.c"));
        assert_eq!(
            request_uri("https://api.example.com/p", "/orders"),
            "https://api.example.com/p/orders"
        );
    }
}
