//! The passwords entered on the account page: signing in to it, entering the password again
//! (re-authentication), and changing it. Each is checked as `/login` checks a sign-in
//! (`Flow::login`): under a place among the password checks, counted by the [`Throttle`] before
//! the check (so the form cannot be used to guess faster than the sign-in page), with
//! `sign_in.failure`/`sign_in.lockout` events.

use std::net::IpAddr;

use serde_json::json;

use super::{Account, AccountError, Refusal, SecondFactorAnswer};
use crate::domain::audit::{self, Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::passwords::Admission;
use crate::domain::sso::flow::LoginProblem;
use crate::domain::sso::sessions::Session;
use crate::domain::sso::throttle::Verdict;
use crate::domain::users::{
    LoginError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, User, check_password,
};
use crate::store::account::OwnPasswordChange;

/// A password check that passed: the user as read then, and the place it held (for hashing a new
/// password under the same place).
#[derive(Debug)]
pub enum Checked {
    /// Right password.
    Passed(Box<User>, Admission),
    /// Refused, with why.
    Refused(LoginProblem),
}

/// A sign-in to the account page.
#[derive(Debug)]
pub struct SignedIn {
    /// The new session's cookie secret.
    pub secret: String,
    /// A new device cookie for the browser.
    pub device_cookie: Option<String>,
}

/// How a change of password ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// Stored; every grant and every other session ended, this session kept.
    Changed,
    /// The current password was not accepted.
    Refused(LoginProblem),
    /// The new password is shorter than [`MIN_PASSWORD_CHARS`] or longer than
    /// [`MAX_PASSWORD_BYTES`].
    Weak,
    /// The two new passwords differ.
    Mismatch,
    /// The session ended, or the password changed elsewhere, meanwhile: nothing was changed.
    Gone,
}

/// The part of a request a password check needs: the client address (for the throttle) and the
/// request's audit metadata, and the browser's device cookie, if any.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The client address.
    pub addr: Option<IpAddr>,
    /// Request id, address, user agent.
    pub meta: &'a RequestMeta,
    /// The device cookie.
    pub device_cookie: Option<&'a str>,
}

impl Account {
    /// A place for one password check, or `None` when the server is saturated (answer "busy").
    pub fn admit(&self) -> Option<Admission> {
        self.users.admit()
    }

    /// Checks `password` for `username` as a sign-in is checked (see the module doc); `context`
    /// goes into the events' detail.
    async fn check(
        &self,
        admission: Admission,
        (username, password): (&str, &str),
        from: Origin<'_>,
        context: &'static str,
    ) -> Result<Checked, AccountError> {
        let now = self.clock.now();
        let device = from
            .device_cookie
            .and_then(|c| self.devices.verify(c, username, now));
        let user_id = match crate::domain::is_plain_name(username, 64, b"._-@") {
            true => self.users.find(username).await?.map(|u| u.id),
            false => None,
        };
        let event = |t| {
            let mut e = AuditEvent::new(t, Actor::Anonymous).request(from.meta);
            e.user_id.clone_from(&user_id);
            if crate::domain::is_plain_name(username, 64, b"._-@") {
                e.subject = Some(username.to_owned());
            }
            e.detail(json!({ "context": context }))
        };
        let lockout = event(EventType::SignInLockout);
        let attempt = match self
            .throttle
            .attempt(username, from.addr, device.as_ref(), &lockout)
            .await?
        {
            Verdict::Go(a) => a,
            Verdict::Locked => return Ok(Checked::Refused(LoginProblem::Locked)),
            Verdict::Slowed(secs) => return Ok(Checked::Refused(LoginProblem::Slowed(secs))),
        };
        match self
            .users
            .authenticate_admitted(&admission, username, password)
            .await
        {
            Ok(user) => {
                self.throttle.succeeded(&attempt).await?;
                Ok(Checked::Passed(Box::new(user), admission))
            }
            Err(LoginError::Rejected) => {
                let failure = event(EventType::SignInFailure)
                    .detail(json!({ "reason": "rejected", "context": context }));
                let record = failure.record(now);
                self.store.record_audit(&record).await?;
                audit::log(&record);
                Ok(Checked::Refused(LoginProblem::Rejected))
            }
            Err(LoginError::Busy) => {
                self.throttle.not_checked(&attempt).await?;
                Ok(Checked::Refused(LoginProblem::Busy))
            }
            Err(LoginError::Store(e)) => Err(e.into()),
        }
    }

    /// Signs in to the account page: checks the password, then the second factor of a user who
    /// has one (see `super::second_factor`; no session without it), ends the browser's old
    /// session if it had one (session fixation), and starts a new one with the `amr` earned
    /// (`sign_in.success`).
    pub async fn sign_in(
        &self,
        admission: Admission,
        credentials: (&str, &str),
        (answer, from): (SecondFactorAnswer<'_>, Origin<'_>),
        old_secret: Option<&str>,
    ) -> Result<Result<SignedIn, Refusal>, AccountError> {
        let user = match self.check(admission, credentials, from, "account").await? {
            Checked::Passed(user, admission) => {
                drop(admission);
                user
            }
            Checked::Refused(p) => return Ok(Err(p.into())),
        };
        let amr = match self.second_factor(&user, answer, from, "account").await? {
            Ok(amr) => amr,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if let Some(old) = old_secret
            && let Some(s) = self.sessions.current(old).await?
        {
            self.sessions.end(&s.id).await?;
        }
        let success = AuditEvent::new(EventType::SignInSuccess, Actor::User(user.id.clone()))
            .user(&user.id)
            .request(from.meta)
            .detail(json!({ "context": "account", "amr": amr }));
        let methods: Vec<&str> = amr.iter().map(String::as_str).collect();
        let Some((secret, _)) = self
            .sessions
            .create_recorded(&user.id, user.security_stamp, &methods, Some(&success))
            .await?
        else {
            // The password changed, or the user was disabled, while it was being checked.
            return Ok(Err(LoginProblem::Rejected.into()));
        };
        Ok(Ok(SignedIn {
            secret,
            device_cookie: self.devices.issue(&user.username, self.clock.now()),
        }))
    }

    /// Re-authentication: the signed-in user enters the password again, and the second factor if
    /// they have one (see `super::second_factor`); on success the session's `auth_time` becomes
    /// now (and its `amr` the one the factor earns). Refused as a wrong password also when the
    /// session ended meanwhile.
    pub async fn reauth(
        &self,
        admission: Admission,
        (session, user): (&Session, &User),
        password: &str,
        (answer, from): (SecondFactorAnswer<'_>, Origin<'_>),
    ) -> Result<Result<(), Refusal>, AccountError> {
        let checked = match self
            .check(admission, (&user.username, password), from, "reauth")
            .await?
        {
            Checked::Passed(checked, _) if checked.id == user.id => checked,
            Checked::Passed(..) => return Ok(Err(LoginProblem::Rejected.into())),
            Checked::Refused(p) => return Ok(Err(p.into())),
        };
        let amr = match self.second_factor(&checked, answer, from, "reauth").await? {
            Ok(amr) => amr,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = self.clock.now();
        // A second factor was proved: the session now carries its `amr` (with `mfa`) too, written
        // with the new `auth_time` in one conditional update.
        let stepped_up = (amr.len() > 1).then_some(amr.as_slice());
        let done = self
            .store
            .reauthenticated(&session.id, &user.id, stepped_up, now)
            .await?;
        match done {
            true => Ok(Ok(())),
            false => Ok(Err(LoginProblem::Rejected.into())),
        }
    }

    /// The signed-in user's change of password: `current` is checked like a sign-in (which also
    /// makes this change "recent"), `new` must pass the password policy (and equal `repeat`).
    /// On success every grant of the user and every other session ends, as for an administrator's
    /// new password, and this session stays with `auth_time` now (`password.changed`).
    pub async fn change_password(
        &self,
        admission: Admission,
        (session, user): (&Session, &User),
        (current, new, repeat): (&str, &str, &str),
        from: Origin<'_>,
    ) -> Result<PasswordChange, AccountError> {
        if new != repeat {
            return Ok(PasswordChange::Mismatch);
        }
        if check_password(new).is_err() {
            return Ok(PasswordChange::Weak);
        }
        let (checked, admission) = match self
            .check(
                admission,
                (&user.username, current),
                from,
                "password_change",
            )
            .await?
        {
            Checked::Passed(checked, admission) if checked.id == user.id => (checked, admission),
            Checked::Passed(..) => return Ok(PasswordChange::Refused(LoginProblem::Rejected)),
            Checked::Refused(p) => return Ok(PasswordChange::Refused(p)),
        };
        let phc = self
            .hasher
            .hash_admitted(&admission, new.to_owned())
            .await?;
        drop(admission);
        let now = self.clock.now();
        let event = AuditEvent::new(EventType::PasswordChanged, Actor::User(user.id.clone()))
            .user(&user.id)
            .subject(session.id.clone())
            .request(from.meta)
            .detail(json!({ "by": "self" }))
            .record(now);
        let outcome = self
            .store
            .change_own_password(
                (&user.id, &session.id),
                checked.security_stamp,
                phc,
                now,
                &event,
            )
            .await?;
        Ok(match outcome {
            OwnPasswordChange::Changed => {
                audit::log(&event);
                PasswordChange::Changed
            }
            OwnPasswordChange::Stale | OwnPasswordChange::SessionGone => PasswordChange::Gone,
        })
    }
}

/// The password policy's bounds, for the page's message: at least this many characters, at most
/// this many bytes.
pub const POLICY: (usize, usize) = (MIN_PASSWORD_CHARS, MAX_PASSWORD_BYTES);
