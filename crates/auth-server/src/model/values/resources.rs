//! Resource indicators (RFC 8707) and the audience of an access token built from them.

/// The scheme and the rest of an absolute URI, if `uri` is one: RFC 3986 §3.1, `scheme = ALPHA *(
/// ALPHA / DIGIT / "+" / "-" / "." )`, then `:` and something.
pub fn absolute_uri_parts(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (scheme_ok && !rest.is_empty()).then_some((scheme, rest))
}

/// RFC 8707 §2: "an absolute URI ... MUST NOT include a fragment component". The error is a phrase
/// that follows "resource" in a message.
pub fn validate_resource(r: &str) -> Result<(), &'static str> {
    if absolute_uri_parts(r).is_none() {
        return Err("must be an absolute URI");
    }
    if r.contains('#') {
        return Err("must not contain a fragment");
    }
    // ASCII only (RFC 3986 §2: a URI is ASCII; an IRI's other characters are percent-encoded): a
    // stored list is space-separated, and `split_whitespace` splits at Unicode spaces too, so a
    // no-break space would turn one stored audience into two.
    if r.len() > 2048 || r.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err("must be at most 2048 printable ASCII characters without spaces");
    }
    Ok(())
}

/// Resource indicators in the order first given, each once. Displays space-separated (as stored)
/// and derefs to the URIs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Resources(Vec<String>);

/// Why a requested `resource` is refused (`invalid_target`, RFC 8707 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceError {
    /// Not an absolute URI without a fragment: the phrase says why.
    Invalid(&'static str),
    /// A valid URI the client may not obtain tokens for.
    NotAllowed,
}

/// An access token would have no audience (RFC 9068 §3 requires `aud`): `invalid_target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoAudience;

impl Resources {
    /// The `resource` parameters of a request (RFC 8707 §2; the parameter may repeat), each valid
    /// and among `allowed`, checked in order; repeats are dropped.
    pub fn parse_allowed<'a>(
        asked: impl IntoIterator<Item = &'a String>,
        allowed: &Resources,
    ) -> Result<Self, ResourceError> {
        let mut out = Resources::default();
        for r in asked {
            validate_resource(r).map_err(ResourceError::Invalid)?;
            if !allowed.contains(r) {
                return Err(ResourceError::NotAllowed);
            }
            out.insert(r);
        }
        Ok(out)
    }

    /// The audience of an access token (RFC 8707 §2, RFC 9068 §3): the resources asked for, or,
    /// when none were, every resource the client is `registered` for; plus our `userinfo` endpoint
    /// when the token is for OpenID Connect. [`NoAudience`] when that leaves nothing.
    pub fn audience(
        &self,
        registered: &Resources,
        userinfo: Option<&str>,
    ) -> Result<Vec<String>, NoAudience> {
        let mut audience = if self.0.is_empty() {
            registered.0.clone()
        } else {
            self.0.clone()
        };
        audience.extend(userinfo.map(str::to_owned));
        if audience.is_empty() {
            return Err(NoAudience);
        }
        Ok(audience)
    }
}

word_set!(Resources);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_absolute_uris_without_fragments() {
        assert_eq!(validate_resource("https://api.example.com/v1"), Ok(()));
        assert_eq!(validate_resource("urn:example:api"), Ok(()));
        assert_eq!(validate_resource("https://api.example.com/orders"), Ok(()));
        assert_eq!(validate_resource("urn:example:inventory"), Ok(()));
        assert!(validate_resource("/relative").is_err());
        for bad in [
            "relative/path",
            "https://api#frag",
            ":x",
            "1http://x",
            "https://a b",
            "x:",
            "https://api.example/x\u{a0}y",
            "https://api.example/\u{2003}",
            "https://bücher.example/api",
        ] {
            assert!(validate_resource(bad).is_err(), "{bad}");
        }
    }

    fn own(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn requested_resources_are_checked_in_order_and_deduplicated() {
        let allowed = Resources::from(own(&["https://a", "https://b"]));
        let asked = own(&["https://b", "https://a", "https://b"]);
        let r = Resources::parse_allowed(&asked, &allowed);
        assert_eq!(
            r.as_ref().map(ToString::to_string),
            Ok("https://b https://a".into())
        );
        let round = r.map(|r| Resources::from_words(&r.to_string()));
        assert_eq!(round.map(|r| r.len()), Ok(2), "round trip");
        assert_eq!(
            Resources::parse_allowed(&own(&["https://c"]), &allowed),
            Err(ResourceError::NotAllowed)
        );
        assert_eq!(
            Resources::parse_allowed(&own(&["relative", "https://c"]), &allowed),
            Err(ResourceError::Invalid("must be an absolute URI"))
        );
        assert_eq!(
            Resources::parse_allowed(&own(&[]), &allowed),
            Ok(Resources::default())
        );
    }

    #[test]
    fn the_audience_is_the_request_else_the_registration_plus_userinfo() {
        let registered = Resources::from(own(&["https://a", "https://b"]));
        let asked = Resources::from(own(&["https://b"]));
        assert_eq!(asked.audience(&registered, None), Ok(own(&["https://b"])));
        assert_eq!(
            Resources::default().audience(&registered, Some("https://idp/userinfo")),
            Ok(own(&["https://a", "https://b", "https://idp/userinfo"]))
        );
        assert_eq!(
            Resources::default().audience(&Resources::default(), Some("u")),
            Ok(own(&["u"]))
        );
        assert_eq!(
            Resources::default().audience(&Resources::default(), None),
            Err(NoAudience)
        );
    }
}
