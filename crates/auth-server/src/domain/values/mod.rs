//! Value types of the protocol, each parsed and formatted in one place: [`Scopes`] (RFC 6749 §3.3),
//! [`Resources`] (RFC 8707) with the rule that turns them into a token's audience, and the
//! [`Issuer`] with every endpoint URL derived from it.

mod issuer;
mod resources;
mod scopes;

pub use issuer::Issuer;
pub use resources::{NoAudience, ResourceError, Resources, validate_resource};
pub use scopes::{ScopeError, Scopes, is_scope_token};

/// Splits a space-separated list (as stored, or as a lenient request value) into its words,
/// keeping the first of each.
fn unique_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}
