//! The service's own claims, typed: [`Verified<T>`] is the standard [`Claims`] plus a `T` parsed
//! from the same payload (e.g. `tenant`, `roles`).
//!
//! `T` is parsed once per token, right after the token is verified in full, and kept in the
//! verified-token cache next to the claims: a cache hit hands out the cached `T` (a reference
//! count on this thread's own copy, see [`crate::token_cache`]), never parsing again. A `T` that
//! does not deserialize makes the token invalid ([`VerifyError::InvalidClaim`]`("custom claims")`),
//! like a registered claim of the wrong type.
//!
//! One cache entry holds one typed view: a verifier is meant to serve one custom claims type
//! (`()`, the standard claims alone, costs no room and mixes freely with it). Layers with two
//! different types over one verifier stay correct but re-parse whenever a token alternates between
//! them: give each type its own verifier.

use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::claims::Claims;
use crate::error::VerifyError;
use crate::verifier::Verifier;

/// What a service's typed claims must be: deserializable from the token's payload (unknown claims
/// are ignored unless `T` says otherwise), and cheap enough to clone once per thread that sees
/// the token. `()` means "no custom claims" and costs no parsing.
pub trait CustomClaims: DeserializeOwned + Clone + Send + Sync + 'static {}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> CustomClaims for T {}

type AnyArc = Arc<dyn Any + Send + Sync>;

/// A parsed `T` behind an erased pointer, with the function that copies it for another thread.
#[derive(Clone)]
pub(crate) struct Custom {
    value: AnyArc,
    copy: fn(&(dyn Any + Send + Sync)) -> Option<AnyArc>,
}

impl fmt::Debug for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Custom(..)")
    }
}

impl Custom {
    /// A copy owned by the calling thread (no reference count shared with other threads).
    pub(crate) fn deep_copy(&self) -> Option<Custom> {
        let value = (self.copy)(&*self.value)?;
        Some(Custom {
            value,
            copy: self.copy,
        })
    }

    fn get<T: CustomClaims>(&self) -> Option<Arc<T>> {
        self.value.clone().downcast::<T>().ok()
    }
}

fn copy_of<T: CustomClaims>(v: &(dyn Any + Send + Sync)) -> Option<AnyArc> {
    let v: &T = v.downcast_ref()?;
    Some(Arc::new(v.clone()))
}

/// Parses the custom claims `T` out of verified claims.
pub(crate) type Parser = fn(&Claims) -> Result<Custom, VerifyError>;

/// [`Parser`] for `T`; `None` for `()`, which needs no parsing and no room in the cache.
pub(crate) fn parser<T: CustomClaims>() -> Option<Parser> {
    (!is_unit::<T>()).then_some(parse::<T>)
}

pub(crate) fn is_unit<T: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>()
}

fn parse<T: CustomClaims>(claims: &Claims) -> Result<Custom, VerifyError> {
    let value: AnyArc = match (&() as &dyn Any).downcast_ref::<T>() {
        Some(unit) => Arc::new(unit.clone()),
        None => {
            let all = serde_json::Value::Object(claims.extra.clone());
            let parsed: T = serde_json::from_value(all)
                .map_err(|_| VerifyError::InvalidClaim("custom claims"))?;
            Arc::new(parsed)
        }
    };
    Ok(Custom {
        value,
        copy: copy_of::<T>,
    })
}

/// The claims of a verified token: the standard [`Claims`] (through `Deref`) and the service's
/// own `T` ([`Verified::custom`]). Cheap to clone (a reference count, two with a typed `T`).
///
/// ```
/// #[derive(Clone, serde::Deserialize)]
/// struct Tenant {
///     tenant: String,
///     #[serde(default)]
///     roles: Vec<String>,
/// }
/// fn describe(v: &auth_verifier::Verified<Tenant>) -> String {
///     let admin = v.custom().roles.iter().any(|r| r == "admin");
///     format!("{:?} of {} (admin: {admin})", v.sub, v.custom().tenant)
/// }
/// ```
pub struct Verified<T = ()> {
    claims: Arc<Claims>,
    /// `None` for `T = ()` (untyped verification): no reference count to move on the hot path.
    custom: Option<Arc<T>>,
}

impl<T> Clone for Verified<T> {
    fn clone(&self) -> Self {
        Self {
            claims: self.claims.clone(),
            custom: self.custom.clone(),
        }
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims)
            .field("custom", self.custom())
            .finish()
    }
}

impl<T> Deref for Verified<T> {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.claims
    }
}

impl<T> Verified<T> {
    /// The standard claims.
    pub fn claims(&self) -> &Arc<Claims> {
        &self.claims
    }
}

impl<T: 'static> Verified<T> {
    /// The service's own claims, parsed from the token when it was verified.
    pub fn custom(&self) -> &T {
        let unit: &'static dyn Any = &();
        match (&self.custom, unit.downcast_ref::<T>()) {
            (Some(custom), _) => custom,
            (None, Some(unit)) => unit,
            // `Verifier::typed` leaves `custom` out only when `T` is `()`.
            (None, None) => unreachable!("custom claims left out of a typed Verified"),
        }
    }
}

impl Verifier {
    /// [`Verifier::verify`], with the service's own claims `T` parsed from the token (once per
    /// token: a cache hit returns the `T` parsed when it was verified in full).
    ///
    /// ```no_run
    /// # async fn f(verifier: auth_verifier::Verifier, token: &str) -> Result<(), auth_verifier::VerifyError> {
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Tenant {
    ///     tenant: String,
    /// }
    /// let verified = verifier.verify_as::<Tenant>(token).await?;
    /// println!("{:?} in {}", verified.sub, verified.custom().tenant);
    /// # Ok(()) }
    /// ```
    pub async fn verify_as<T: CustomClaims>(
        &self,
        token: &str,
    ) -> Result<Verified<T>, VerifyError> {
        if let Some(answer) = self.verify_cached_as::<T>(token.as_bytes()) {
            return answer;
        }
        self.verify_in_full_as::<T>(token).await
    }

    /// [`Verifier::verify_as`] on a cache hit (`None`: not cached).
    pub(crate) fn verify_cached_as<T: CustomClaims>(
        &self,
        token: &[u8],
    ) -> Option<Result<Verified<T>, VerifyError>> {
        let answer = self.cache_lookup_entry(token, !is_unit::<T>())?;
        let answer = answer
            .and_then(|(c, custom)| crate::verifier_dpop::bearer_only(c).map(|c| (c, custom)))
            .and_then(|(c, custom)| self.typed::<T>(token, c, custom));
        self.inner.metrics.verified(&answer);
        Some(answer)
    }

    /// [`Verifier::verify_as`] on a cache miss.
    pub(crate) async fn verify_in_full_as<T: CustomClaims>(
        &self,
        token: &str,
    ) -> Result<Verified<T>, VerifyError> {
        let answer = self
            .verify_uncached_with(token, parser::<T>())
            .await
            .and_then(|(c, custom)| crate::verifier_dpop::bearer_only(c).map(|c| (c, custom)))
            .and_then(|(c, custom)| self.typed::<T>(token.as_bytes(), c, custom));
        self.inner.metrics.verified(&answer);
        answer
    }

    /// The `T` of verified claims: the one cached with them, or (a token first verified without
    /// `T`, or with another type) parsed now and cached for the next hits.
    pub(crate) fn typed<T: CustomClaims>(
        &self,
        token: &[u8],
        claims: Arc<Claims>,
        custom: Option<Custom>,
    ) -> Result<Verified<T>, VerifyError> {
        if is_unit::<T>() {
            // Whatever the entry holds (another service type may use this verifier too).
            return Ok(Verified {
                claims,
                custom: None,
            });
        }
        if let Some(Ok(custom)) = custom.map(|c| c.value.downcast::<T>()) {
            let custom = Some(custom);
            return Ok(Verified { claims, custom });
        }
        let parsed = parse::<T>(&claims)?;
        let custom = parsed
            .get::<T>()
            .ok_or(VerifyError::InvalidClaim("custom claims"))?;
        if let Some(cache) = &self.inner.cache {
            cache.set_custom(token, parsed);
        }
        let custom = Some(custom);
        Ok(Verified { claims, custom })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
    struct Tenant {
        tenant: String,
        #[serde(default)]
        roles: Vec<String>,
    }

    fn claims(payload: &str) -> Claims {
        crate::claims::parse(payload.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parsed_copied_and_typed() {
        let c = claims(r#"{"iss":"i","exp":1,"tenant":"acme","roles":["admin"]}"#);
        let custom = parse::<Tenant>(&c).unwrap_or_else(|e| panic!("{e}"));
        let t = custom.get::<Tenant>();
        assert_eq!(t.as_deref().map(|t| t.tenant.as_str()), Some("acme"));
        assert!(
            custom.get::<String>().is_none(),
            "another type is not found"
        );
        let copy = custom.deep_copy();
        let copied = copy.as_ref().and_then(Custom::get::<Tenant>);
        assert_eq!(copied.as_deref(), t.as_deref());
        assert!(
            !Arc::ptr_eq(
                &copy.map(|c| c.value).unwrap_or_else(|| Arc::new(())),
                &custom.value
            ),
            "a deep copy shares no reference count"
        );
        let unit = parse::<()>(&c).ok().and_then(|c| c.get::<()>());
        assert_eq!(unit.as_deref(), Some(&()));
        let wrong = claims(r#"{"iss":"i","exp":1,"tenant":7}"#);
        assert_eq!(
            parse::<Tenant>(&wrong).err(),
            Some(VerifyError::InvalidClaim("custom claims"))
        );
    }
}
