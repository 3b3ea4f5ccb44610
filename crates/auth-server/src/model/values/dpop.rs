//! A client's DPoP policy (RFC 9449): whether its token requests may, must or must not carry a
//! `DPoP` proof.

/// Per-client DPoP policy, stored as its [`DpopPolicy::as_str`] word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpopPolicy {
    /// A token request with a valid proof gets DPoP-bound tokens; one without gets bearer tokens.
    #[default]
    Allowed,
    /// Every token request must carry a valid proof (RFC 9449 §5.2
    /// `dpop_bound_access_tokens=true`): a request without one is refused.
    Required,
    /// Proofs are refused: the client only gets bearer tokens.
    Disabled,
}

impl DpopPolicy {
    /// Every policy, in the order the CLI and the OpenAPI document list them.
    pub const ALL: [Self; 3] = [Self::Allowed, Self::Required, Self::Disabled];

    /// `allowed`, `required` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Required => "required",
            Self::Disabled => "disabled",
        }
    }
}

impl std::fmt::Display for DpopPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of `allowed`, `required`, `disabled`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dpop must be one of allowed, required, disabled (got {0:?})")]
pub struct UnknownDpopPolicy(pub String);

impl std::str::FromStr for DpopPolicy {
    type Err = UnknownDpopPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownDpopPolicy(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::DpopPolicy;

    #[test]
    fn words_round_trip_and_others_are_refused() {
        for p in DpopPolicy::ALL {
            assert_eq!(p.as_str().parse::<DpopPolicy>().ok(), Some(p));
        }
        assert!("Required".parse::<DpopPolicy>().is_err());
        assert!("".parse::<DpopPolicy>().is_err());
        assert_eq!(DpopPolicy::default(), DpopPolicy::Allowed);
    }
}
