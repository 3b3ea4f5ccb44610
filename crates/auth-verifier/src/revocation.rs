//! Revocations that verification honours before a token's `exp`, on every verification (cache hits
//! included). Fed by the issuers' revocation feeds (`crate::feed`) and by hand through
//! [`crate::Verifier::revoke_jti`] and [`crate::Verifier::revoke_subject_before`].

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use auth_core::UnixTime;

use crate::claims::Claims;

#[derive(Debug, Default)]
struct Lists {
    /// jti -> until when to remember it (the token's own expiry).
    jtis: HashMap<String, UnixTime>,
    /// subject -> tokens issued before this time are revoked.
    subjects: HashMap<String, UnixTime>,
}

/// The revocation lists of one verifier.
#[derive(Debug, Default)]
pub struct Revocations {
    lists: RwLock<Lists>,
    /// Set once anything is revoked: until then a check costs one atomic load.
    any: AtomicBool,
}

impl Revocations {
    pub(crate) fn revoke_jti(&self, jti: &str, until: UnixTime) {
        self.any.store(true, Ordering::Release);
        if let Ok(mut l) = self.lists.write() {
            l.jtis.insert(jti.to_owned(), until);
        }
    }

    pub(crate) fn revoke_subject_before(&self, sub: &str, before: UnixTime) {
        self.any.store(true, Ordering::Release);
        if let Ok(mut l) = self.lists.write() {
            let e = l.subjects.entry(sub.to_owned()).or_insert(before);
            *e = (*e).max(before);
        }
    }

    /// Drops entries that can no longer match an unexpired token.
    pub(crate) fn prune(&self, now: UnixTime) {
        if let Ok(mut l) = self.lists.write() {
            l.jtis.retain(|_, until| *until > now);
        }
    }

    pub(crate) fn is_revoked(&self, claims: &Claims) -> bool {
        // The common case, nothing ever revoked, reads one flag and writes no shared memory (a read
        // lock would: its reader count bounces between cores on every request).
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let Ok(l) = self.lists.read() else {
            return true;
        }; // fail closed
        if l.jtis.is_empty() && l.subjects.is_empty() {
            return false;
        }
        if claims.jti.as_ref().is_some_and(|j| l.jtis.contains_key(j)) {
            return true;
        }
        match (&claims.sub, claims.iat) {
            (Some(sub), iat) => l
                .subjects
                .get(sub)
                .is_some_and(|before| iat.is_none_or(|i| i < *before)),
            (None, _) => false,
        }
    }
}
