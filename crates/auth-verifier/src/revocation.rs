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

/// Most revoked `jti`s held at once; past it, new ones are dropped with a warning (the memory a
/// hostile or broken feed can take is bounded).
pub(crate) const MAX_JTIS: usize = 1_000_000;
/// Longest an entry is kept: no access token lives longer (a feed's `exp` far in the future is
/// clamped to this, so it cannot pin memory).
pub(crate) const MAX_KEEP_SECS: i64 = 2 * 86_400;

impl Revocations {
    pub(crate) fn revoke_jti(&self, jti: &str, until: UnixTime, now: UnixTime) {
        self.revoke_jtis(std::iter::once((jti, until)), now);
    }

    /// Records many `jti`s under one write lock. An entry already held keeps the later of its two
    /// expiries, so nothing can shorten a revocation. Returns how many were dropped at the cap.
    pub(crate) fn revoke_jtis<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, UnixTime)>,
        now: UnixTime,
    ) -> usize {
        self.any.store(true, Ordering::Release);
        let latest = now.saturating_add(MAX_KEEP_SECS);
        let Ok(mut l) = self.lists.write() else {
            return 0;
        };
        let mut dropped = 0;
        for (jti, until) in entries {
            let until = until.min(latest);
            if let Some(e) = l.jtis.get_mut(jti) {
                *e = (*e).max(until);
            } else if l.jtis.len() < MAX_JTIS {
                l.jtis.insert(jti.to_owned(), until);
            } else {
                dropped += 1;
            }
        }
        dropped
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

#[cfg(test)]
mod tests {
    use super::*;

    fn token(jti: &str) -> Claims {
        Claims {
            iss: "i".into(),
            sub: None,
            aud: vec![],
            exp: 0,
            nbf: None,
            iat: None,
            jti: Some(jti.into()),
            client_id: None,
            scopes: vec![],
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn nothing_can_shorten_a_revocation() {
        let r = Revocations::default();
        r.revoke_jti("a", 1_000, 0);
        r.revoke_jtis([("a", 0)], 0); // a feed listing it again with an earlier expiry
        r.prune(500);
        assert!(r.is_revoked(&token("a")));
        r.prune(1_000);
        assert!(!r.is_revoked(&token("a")));
    }

    #[test]
    fn a_far_future_expiry_is_clamped() {
        let r = Revocations::default();
        r.revoke_jtis([("a", i64::MAX)], 100);
        r.prune(100 + MAX_KEEP_SECS - 1);
        assert!(r.is_revoked(&token("a")));
        r.prune(100 + MAX_KEEP_SECS);
        assert!(!r.is_revoked(&token("a")));
        assert!(!r.is_revoked(&token("b")));
    }
}
