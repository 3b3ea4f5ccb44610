//! Revocations that verification honours before a token's `exp`, on every verification (cache hits
//! included). Fed by the issuers' revocation feeds (`crate::feed`) and by hand through
//! [`crate::Verifier::revoke_jti`] and [`crate::Verifier::revoke_subject_before`].
//!
//! Checked on every request, changed every poll: the lists are an immutable snapshot replaced as a
//! whole on each change (copy on write), with a generation counter. Each thread keeps its own
//! reference to the snapshot and re-reads it only when the generation moves, so a check writes no
//! memory another core reads (a read lock would: its reader count bounces between cores).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use auth_core::UnixTime;

use crate::claims::Claims;

#[derive(Debug, Default, Clone)]
struct Lists {
    /// jti -> until when to remember it (the token's own expiry).
    jtis: HashMap<String, UnixTime>,
    /// subject -> tokens issued before this time are revoked.
    subjects: HashMap<String, UnixTime>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// This thread's view: which `Revocations`, at which generation, and its snapshot.
type Local = Option<(usize, u64, Arc<Lists>)>;

thread_local! {
    static LOCAL: RefCell<Local> = const { RefCell::new(None) };
}

/// The revocation lists of one verifier.
#[derive(Debug)]
pub struct Revocations {
    id: usize,
    lists: RwLock<Arc<Lists>>,
    generation: AtomicU64,
    /// Set once anything is revoked (an empty feed sets nothing): until then a check costs one
    /// atomic load.
    any: AtomicBool,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            lists: RwLock::default(),
            generation: AtomicU64::new(0),
            any: AtomicBool::new(false),
        }
    }
}

/// Most revoked `jti`s held at once; past it, new ones are dropped with a warning (the memory a
/// hostile or broken feed can take is bounded).
pub(crate) const MAX_JTIS: usize = 1_000_000;
/// Longest an entry is kept: no access token lives longer (a feed's `exp` far in the future is
/// clamped to this, so it cannot pin memory).
pub(crate) const MAX_KEEP_SECS: i64 = 2 * 86_400;

impl Revocations {
    /// Applies `change` to a copy of the lists and publishes the copy if `change` says it changed
    /// anything. Returns what `change` returned.
    fn update<R>(&self, change: impl FnOnce(&mut Lists) -> (bool, R)) -> R {
        let mut guard = match self.lists.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut next = Lists::clone(&guard);
        let (changed, out) = change(&mut next);
        if changed {
            self.any.store(true, Ordering::Release);
            *guard = Arc::new(next);
            // Published after the swap: a reader that sees the new generation reads the new lists.
            self.generation.fetch_add(1, Ordering::Release);
        }
        out
    }

    pub(crate) fn revoke_jti(&self, jti: &str, until: UnixTime, now: UnixTime) {
        self.revoke_jtis(std::iter::once((jti, until)), now);
    }

    /// Records many `jti`s in one change. An entry already held keeps the later of its two
    /// expiries, so nothing can shorten a revocation. Returns how many were dropped at the cap.
    pub(crate) fn revoke_jtis<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, UnixTime)>,
        now: UnixTime,
    ) -> usize {
        let latest = now.saturating_add(MAX_KEEP_SECS);
        self.update(|l| {
            let (mut changed, mut dropped) = (false, 0);
            for (jti, until) in entries {
                let until = until.min(latest);
                if let Some(e) = l.jtis.get_mut(jti) {
                    if until > *e {
                        *e = until;
                        changed = true;
                    }
                } else if l.jtis.len() < MAX_JTIS {
                    l.jtis.insert(jti.to_owned(), until);
                    changed = true;
                } else {
                    dropped += 1;
                }
            }
            (changed, dropped)
        })
    }

    /// Records many per-subject cut-offs in one change (published only if one moved: a feed polled
    /// again unchanged costs the readers nothing). A cut-off never moves back; one from further
    /// back than any token lives is ignored.
    pub(crate) fn revoke_subjects_before<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, UnixTime)>,
        now: UnixTime,
    ) {
        let oldest = now.saturating_sub(MAX_KEEP_SECS);
        self.update(|l| {
            let mut changed = false;
            for (sub, before) in entries {
                if before <= oldest {
                    continue;
                }
                let before = before.min(now.saturating_add(MAX_KEEP_SECS));
                let full = l.subjects.len() >= MAX_JTIS;
                match l.subjects.get_mut(sub) {
                    Some(e) if *e >= before => {}
                    Some(e) => {
                        *e = before;
                        changed = true;
                    }
                    None if !full => {
                        l.subjects.insert(sub.to_owned(), before);
                        changed = true;
                    }
                    None => {}
                }
            }
            (changed, ())
        });
    }

    /// Drops entries that can no longer match an unexpired token.
    pub(crate) fn prune(&self, now: UnixTime) {
        // A subject cut-off older than any token's lifetime can no longer match.
        let oldest = now.saturating_sub(MAX_KEEP_SECS);
        let stale = match self.lists.read() {
            Ok(l) => {
                l.jtis.values().any(|until| *until <= now)
                    || l.subjects.values().any(|before| *before <= oldest)
            }
            Err(_) => true,
        };
        if stale {
            self.update(|l| {
                l.jtis.retain(|_, until| *until > now);
                l.subjects.retain(|_, before| *before > oldest);
                (true, ())
            });
        }
    }

    pub(crate) fn is_revoked(&self, claims: &Claims) -> bool {
        // The common case, nothing ever revoked, reads one flag.
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let generation = self.generation.load(Ordering::Acquire);
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            let current = matches!(&*local, Some((id, g, _)) if *id == self.id && *g == generation);
            if !current {
                let lists = match self.lists.read() {
                    Ok(l) => Arc::clone(&l),
                    Err(_) => return true, // fail closed
                };
                *local = Some((self.id, generation, lists));
            }
            match &*local {
                Some((_, _, l)) => revoked_by(l, claims),
                None => true,
            }
        })
    }
}

fn revoked_by(l: &Lists, claims: &Claims) -> bool {
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

    fn of(sub: &str, iat: i64) -> Claims {
        Claims {
            sub: Some(sub.into()),
            iat: Some(iat),
            jti: None,
            ..token("x")
        }
    }

    #[test]
    fn subject_cut_offs_from_a_feed_never_move_back_and_expire() {
        let r = Revocations::default();
        let now = 10_000_000;
        r.revoke_subjects_before([("ann", now)], now);
        assert!(r.is_revoked(&of("ann", now - 1)));
        assert!(
            !r.is_revoked(&of("ann", now)),
            "issued at or after the cut-off"
        );
        assert!(!r.is_revoked(&of("bob", now - 1)));
        // A feed listing an earlier cut-off does not move it back.
        let generation = r.generation.load(Ordering::Acquire);
        r.revoke_subjects_before([("ann", now - 100)], now);
        assert!(r.is_revoked(&of("ann", now - 50)));
        assert_eq!(
            r.generation.load(Ordering::Acquire),
            generation,
            "an unchanged feed publishes nothing"
        );
        // One from further back than any token lives is ignored; an old one is pruned.
        r.revoke_subjects_before([("old", now - MAX_KEEP_SECS - 1)], now);
        assert!(!r.is_revoked(&of("old", 0)));
        r.prune(now + MAX_KEEP_SECS);
        assert!(!r.is_revoked(&of("ann", now - 1)));
    }

    #[test]
    fn every_thread_sees_a_change_at_its_next_check() {
        let r = Revocations::default();
        r.revoke_jti("a", 1_000, 0);
        assert!(r.is_revoked(&token("a")), "this thread caches the snapshot");
        let other = Revocations::default();
        assert!(
            !other.is_revoked(&token("a")),
            "another verifier's lists are its own"
        );
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(r.is_revoked(&token("a")));
                r.revoke_jti("b", 1_000, 0);
            });
        });
        assert!(
            r.is_revoked(&token("b")),
            "a change made elsewhere is seen here"
        );
        r.prune(1_000);
        assert!(!r.is_revoked(&token("a")) && !r.is_revoked(&token("b")));
        r.revoke_subjects_before([("alice", 50)], 1_000);
        let mut old = token("c");
        old.sub = Some("alice".into());
        old.iat = Some(49);
        assert!(r.is_revoked(&old));
        old.iat = Some(50);
        assert!(!r.is_revoked(&old));
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
