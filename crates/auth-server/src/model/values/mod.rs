//! Value types of the protocol, each parsed and formatted in one place: [`Scopes`] (RFC 6749 §3.3),
//! [`Resources`] (RFC 8707) with the rule that turns them into a token's audience, and the
//! [`Issuer`] with every endpoint URL derived from it.

/// What [`Scopes`] and [`Resources`] share: a list of words in the order first given, each once,
/// read leniently from a space-separated list (as stored), displayed space-separated, and
/// dereferencing to the words.
macro_rules! word_set {
    ($name:ident) => {
        impl $name {
            /// The words of a space-separated list (any run of whitespace separates), as stored
            /// or as carried in a token's claim; repeats are dropped.
            pub fn from_words(s: &str) -> Self {
                s.split_whitespace().collect()
            }

            /// Whether `word` is among them.
            pub fn contains(&self, word: &str) -> bool {
                self.0.iter().any(|w| w == word)
            }

            /// Adds `word` at the end unless it is already there.
            pub fn insert(&mut self, word: &str) {
                if !self.contains(word) {
                    self.0.push(word.to_owned());
                }
            }
        }

        impl std::ops::Deref for $name {
            type Target = [String];
            fn deref(&self) -> &[String] {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0.join(" "))
            }
        }

        impl<S: AsRef<str>> FromIterator<S> for $name {
            fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
                let mut out = Self::default();
                for w in iter {
                    out.insert(w.as_ref());
                }
                out
            }
        }

        impl From<Vec<String>> for $name {
            fn from(v: Vec<String>) -> Self {
                v.into_iter().collect()
            }
        }
    };
}

mod dpop;
mod issuer;
mod rate_limit;
mod resources;
mod scopes;

pub use dpop::{DpopPolicy, UnknownDpopPolicy};
pub use issuer::Issuer;
pub use rate_limit::{MAX_SECRET_OVERLAP_SECS, RateLimit, RateLimitError};
pub use resources::{NoAudience, ResourceError, Resources, absolute_uri_parts, validate_resource};
pub use scopes::{ScopeError, Scopes, is_scope_token};
