//! `scope` (RFC 6749 §3.3): "a list of space-delimited, case-sensitive strings", each a
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A set of scopes in the order first given, each once. Displays as the space-separated `scope`
/// value (RFC 6749 §3.3), and derefs to the scope tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Scopes(Vec<String>);

/// Why a requested `scope` is refused (both are `invalid_scope`, RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    /// Not a list of scope tokens separated by single spaces.
    Malformed,
    /// A well-formed scope the client may not have.
    NotAllowed(String),
}

impl Scopes {
    /// Parses a `scope` parameter strictly (RFC 6749 §3.3: tokens separated by one space each),
    /// dropping repeats.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        Self::parse_within(s, None)
    }

    /// Parses a requested `scope` strictly, each token also among `allowed`. Tokens are checked in
    /// order, so the first bad one decides the error.
    pub fn parse_allowed(s: &str, allowed: &Scopes) -> Result<Self, ScopeError> {
        Self::parse_within(s, Some(allowed))
    }

    fn parse_within(s: &str, allowed: Option<&Scopes>) -> Result<Self, ScopeError> {
        let mut out = Scopes::default();
        for token in s.split(' ') {
            if !is_scope_token(token) {
                return Err(ScopeError::Malformed);
            }
            if allowed.is_some_and(|a| !a.contains(token)) {
                return Err(ScopeError::NotAllowed(token.to_owned()));
            }
            out.insert(token);
        }
        Ok(out)
    }

    /// Whether `openid` is among them (an OpenID Connect request, OIDC Core §3.1.2.1).
    pub fn has_openid(&self) -> bool {
        self.contains("openid")
    }

    /// Whether every scope here is also in `other`.
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// The same scopes in byte order (a stable form to store).
    pub fn sorted(mut self) -> Self {
        self.0.sort();
        self
    }

    /// The `scope` value of a response, `None` when there are no scopes.
    pub fn to_optional_string(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.to_string())
    }
}

word_set!(Scopes);

impl From<&[&str]> for Scopes {
    fn from(v: &[&str]) -> Self {
        v.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc6749() {
        assert!(is_scope_token("openid"));
        assert!(is_scope_token("api:read"));
        assert!(is_scope_token("!#[]~"));
        assert!(is_scope_token("orders:read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb", "a\0"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn parsing_keeps_order_and_drops_repeats() {
        let s = Scopes::parse("b a b").unwrap_or_default();
        assert_eq!(&*s, ["b".to_owned(), "a".to_owned()]);
        assert_eq!(s.to_string(), "b a");
        assert_eq!(Scopes::parse(&s.to_string()), Ok(s.clone()), "round trip");
        assert_eq!(Scopes::from_words(&s.to_string()), s);
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in ["", " ", "a  b", " a", "a ", "a\tb", "a\"b"] {
            assert_eq!(Scopes::parse(bad), Err(ScopeError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn allowed_scopes_are_checked_in_order() {
        let allowed = Scopes::from(&["a", "b"][..]);
        assert_eq!(
            Scopes::parse_allowed("a b a", &allowed).map(|s| s.to_string()),
            Ok("a b".to_owned())
        );
        assert_eq!(
            Scopes::parse_allowed("a c", &allowed),
            Err(ScopeError::NotAllowed("c".into()))
        );
        assert_eq!(
            Scopes::parse_allowed("c  a", &allowed),
            Err(ScopeError::NotAllowed("c".into()))
        );
        assert_eq!(
            Scopes::parse_allowed("a  c", &allowed),
            Err(ScopeError::Malformed)
        );
    }

    #[test]
    fn words_are_read_leniently_and_sets_compare() {
        let s = Scopes::from_words("  openid\tprofile openid ");
        assert_eq!(s.to_string(), "openid profile");
        assert!(s.has_openid());
        assert!(Scopes::from_words("profile").is_subset_of(&s));
        assert!(!Scopes::from_words("email").is_subset_of(&s));
        assert_eq!(Scopes::from_words(""), Scopes::default());
        assert_eq!(Scopes::default().to_optional_string(), None);
        assert_eq!(
            Scopes::from_words("b a").sorted().to_optional_string(),
            Some("a b".into())
        );
    }
}
