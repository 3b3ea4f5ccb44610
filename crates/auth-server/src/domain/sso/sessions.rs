//! The single sign-on session: a server-side record (the database is the source of truth, so any
//! replica can serve it) referenced by a random secret in an HttpOnly cookie. Only the secret's
//! SHA-256 is stored, so a copy of the database does not hold usable cookies.

use std::sync::Arc;

use auth_core::Clock;

use crate::domain::audit::{self, AuditEvent, EventType};
use crate::domain::random;
use crate::domain::records::SessionRecord;
use crate::domain::users::Operator;
use crate::store::{Store, StoreError};

/// Bytes of randomness in a session cookie.
const SECRET_BYTES: usize = 32;
/// A session's `last_seen_at` is written at most this often (seconds): the idle timeout stays exact to
/// within this, and a burst of authorization requests costs one write.
const TOUCH_EVERY: i64 = 30;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id (`sid`).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// When the user entered the password.
    pub auth_time: i64,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
}

/// A live session as an administrator sees it (no secret: only the cookie's digest is stored, and
/// it is not shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id (`sid`).
    pub id: String,
    /// Sign-in time.
    pub created_at: i64,
    /// Last use.
    pub last_seen_at: i64,
    /// When the user entered the password.
    pub auth_time: i64,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// When it ends unless used again: the idle timeout or the absolute end, whichever is first.
    pub expires_at: i64,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// In use.
    Live,
    /// Timed out (idle or absolute), or already purged.
    Expired,
    /// Ended on purpose: logout, the user disabled, a new password.
    Ended,
}

/// Sessions and their timeouts.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Store,
    clock: Arc<dyn Clock>,
    idle: i64,
    absolute: i64,
    max_per_user: u64,
}

impl Sessions {
    /// Sessions ending after `idle` seconds without use or `absolute` seconds after sign-in, at most
    /// `max_per_user` live at once for one user.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        idle: i64,
        absolute: i64,
        max_per_user: u64,
    ) -> Self {
        Self {
            store,
            clock,
            idle,
            absolute,
            max_per_user,
        }
    }

    /// Starts a new session for `user_id` (always a new id and secret: an existing cookie is never
    /// adopted, which is what defeats session fixation). Returns the cookie secret, or `None` if the
    /// user's security stamp is no longer `stamp` (their password changed, or they were disabled,
    /// after the password was checked) or they are disabled.
    pub async fn create(
        &self,
        user_id: &str,
        stamp: i64,
        amr: &[&str],
    ) -> Result<Option<(String, Session)>, StoreError> {
        self.create_recorded(user_id, stamp, amr, None).await
    }

    /// [`Sessions::create`], storing `event` (a sign-in) in the transaction that starts the
    /// session, with the session id as its subject, and logging it once committed.
    pub async fn create_recorded(
        &self,
        user_id: &str,
        stamp: i64,
        amr: &[&str],
        event: Option<&AuditEvent>,
    ) -> Result<Option<(String, Session)>, StoreError> {
        let now = self.clock.now();
        let secret = random::token(SECRET_BYTES);
        let row = SessionRecord {
            id: random::token(16),
            secret_sha256: random::sha256(secret.as_bytes()),
            user_id: user_id.to_owned(),
            auth_time: now,
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.absolute,
            ended_at: None,
            // Where the sign-in came from, as its event records it (for the account page).
            user_agent: event.and_then(|e| e.request.user_agent.clone()),
            client_addr: event.and_then(|e| e.request.client_addr.clone()),
        };
        let record = event.map(|e| e.clone().subject(row.id.clone()).record(now));
        if !self
            .store
            .start_session(row.clone(), stamp, record.as_ref())
            .await?
        {
            return Ok(None);
        }
        if let Some(r) = &record {
            audit::log(r);
        }
        // The cap: this session stays, and the oldest others beyond it end (with their grants). Two
        // sign-ins at once may each see the other's session or not; whichever reads last ends the
        // right ones, so the count converges to the cap.
        for old in self
            .store
            .live_sessions_beyond(user_id, &row.id, now, self.max_per_user.saturating_sub(1))
            .await?
        {
            self.store.end_session(&old, now).await?;
        }
        Ok(Some((secret, to_session(row))))
    }

    /// The live session behind a cookie secret, if any; records the use for the idle timeout.
    pub async fn current(&self, secret: &str) -> Result<Option<Session>, StoreError> {
        if secret.is_empty() || secret.len() > 128 {
            return Ok(None);
        }
        let row = self
            .store
            .find_session_by_secret(&random::sha256(secret.as_bytes()))
            .await?;
        Ok(match row {
            Some(r) if self.observe(&r, true).await? == SessionState::Live => Some(to_session(r)),
            _ => None,
        })
    }

    /// The state of session `id` (for grants issued under it); a live session's use is recorded
    /// when `touch`.
    pub async fn state(&self, id: &str, touch: bool) -> Result<SessionState, StoreError> {
        match self.store.find_session(id).await? {
            Some(r) => self.observe(&r, touch).await,
            // Purged: it expired at least a maintenance interval ago.
            None => Ok(SessionState::Expired),
        }
    }

    /// Classifies a session row, recording a use of a live one (at most every [`TOUCH_EVERY`]).
    async fn observe(&self, r: &SessionRecord, touch: bool) -> Result<SessionState, StoreError> {
        let now = self.clock.now();
        if r.ended_at.is_some() {
            return Ok(SessionState::Ended);
        }
        if now >= r.expires_at || now - r.last_seen_at >= self.idle {
            return Ok(SessionState::Expired);
        }
        if touch && now - r.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&r.id, now).await?;
        }
        Ok(SessionState::Live)
    }

    /// The live sessions of user `user_id`, newest first (none for an unknown user).
    pub async fn live_of(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .unended_sessions_of(user_id, now)
            .await?
            .into_iter()
            .filter(|r| now - r.last_seen_at < self.idle)
            .map(|r| SessionInfo {
                expires_at: r.expires_at.min(r.last_seen_at + self.idle),
                id: r.id,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                auth_time: r.auth_time,
                amr: r.amr,
            })
            .collect())
    }

    /// Ends the sessions of user `user_id` (only session `only`, when given) with their grants, as
    /// a logout of each would, in one transaction with its `user.sessions_ended` event by `by`.
    /// Returns how many ended, or `None` (and no event) if there is no such user or `only` is not
    /// one of its sessions that has not ended. The user may sign in again: to stop that, disable
    /// the user.
    pub async fn end_for(
        &self,
        user_id: &str,
        only: Option<&str>,
        by: &Operator,
    ) -> Result<Option<u64>, StoreError> {
        let now = self.clock.now();
        let mut logged = None;
        let ended = self
            .store
            .end_user_sessions(user_id, only, now, |n| {
                let mut detail = serde_json::json!({ "ended": n });
                if let Some(id) = only {
                    detail["session"] = id.into();
                }
                let record = by
                    .event(EventType::SessionsEnded, user_id)
                    .detail(detail)
                    .record(now);
                logged = Some(record.clone());
                record
            })
            .await?;
        if let Some(record) = &logged
            && ended.is_some()
        {
            audit::log(record);
        }
        Ok(ended)
    }

    /// Ends session `id` and the refresh tokens issued under it.
    pub async fn end(&self, id: &str) -> Result<bool, StoreError> {
        self.store.end_session(id, self.clock.now()).await
    }

    /// [`Sessions::end`], storing `event` (a logout) in its transaction if a live session ended,
    /// with the session id as its subject, and logging it once committed.
    pub async fn end_recorded(&self, id: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let record = event.clone().subject(id).record(now);
        let ended = self
            .store
            .end_session_recorded(id, now, Some(&record))
            .await?;
        if ended {
            audit::log(&record);
        }
        Ok(ended)
    }
}

fn to_session(row: SessionRecord) -> Session {
    Session {
        amr: row.amr,
        id: row.id,
        user_id: row.user_id,
        auth_time: row.auth_time,
    }
}
