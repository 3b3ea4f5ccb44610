//! The account page's domain: what a signed-in user sees of their own account (sessions, the apps
//! they have consented to or that hold their grants) and the changes they make themselves (a new
//! password, ending a session, withdrawing consent), plus the sign-in and re-authentication that
//! guard it. No HTTP types: the handlers in `http::account` render what these return.
//!
//! Every password entered here (sign-in, re-authentication, the current password of a change) is
//! checked exactly like a sign-in at `/login`: under a place among the password checks, counted by
//! the brute-force [`Throttle`] before it is checked, with the same audit events.

use std::sync::Arc;

use auth_core::Clock;

use crate::domain::audit::{self, Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::clients::{ClientError, ClientRegistry};
use crate::domain::mfa::{Mfa, MfaError};
use crate::domain::passwords::{PasswordError, PasswordHasher};
use crate::domain::sso::device::DeviceCookies;
use crate::domain::sso::flow::LoginProblem;
use crate::domain::sso::sessions::{Session, Sessions};
use crate::domain::sso::throttle::Throttle;
use crate::domain::users::{Operator, User, UserError, Users};
use crate::store::{Store, StoreError};

pub mod device;
mod password;
pub mod recent;
mod second_factor;

pub use password::{Checked, Origin, POLICY, PasswordChange, SignedIn};
pub use second_factor::{Refusal, SecondFactorAnswer};

/// Why an account request could not be served: the service cannot answer now (HTTP 503). What is
/// meant for the user (a wrong password, a lockout) is a value, not an error.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client registry failed (its storage).
    #[error(transparent)]
    Clients(#[from] ClientError),
    /// The user registry failed (its storage).
    #[error(transparent)]
    Users(#[from] UserError),
    /// Hashing the new password failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A second factor could not be checked (storage, or a sealed secret that cannot be opened).
    #[error(transparent)]
    Mfa(#[from] MfaError),
}

/// One live session, as its user sees it on the account page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLine {
    /// Session id (the form field that ends it).
    pub id: String,
    /// "Firefox · Linux", from the `User-Agent` at sign-in.
    pub device: Option<String>,
    /// The client address at sign-in.
    pub address: Option<String>,
    /// Sign-in time.
    pub created_at: i64,
    /// Last use.
    pub last_seen_at: i64,
    /// Whether it is the session of this request.
    pub current: bool,
}

/// One app on the account page: consented to, holding live grants, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLine {
    /// Client id (the form field that withdraws).
    pub client_id: String,
    /// Its display name (the id if the client is gone).
    pub name: String,
    /// The scopes consented to (empty without a consent).
    pub scopes: Vec<String>,
    /// When the consent was last given.
    pub consented_at: Option<i64>,
    /// When its oldest live grant was made, if it holds one.
    pub grant_since: Option<i64>,
}

/// What the account page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Who is signed in.
    pub user: User,
    /// Their live sessions, newest first.
    pub sessions: Vec<SessionLine>,
    /// The apps, by client id.
    pub apps: Vec<AppLine>,
}

/// The account page's services.
#[derive(Debug, Clone)]
pub struct Account {
    store: Store,
    users: Users,
    hasher: PasswordHasher,
    sessions: Sessions,
    throttle: Throttle,
    devices: DeviceCookies,
    clients: ClientRegistry,
    clock: Arc<dyn Clock>,
    idle_secs: i64,
    recent_auth_secs: i64,
    mfa: Mfa,
}

/// What the account page needs, grouped.
#[derive(Debug, Clone)]
pub struct AccountParts {
    /// Storage.
    pub store: Store,
    /// Users.
    pub users: Users,
    /// The password hasher (for the new password).
    pub hasher: PasswordHasher,
    /// Sessions.
    pub sessions: Sessions,
    /// Sign-in throttling (the one `/login` uses: its state is in the database).
    pub throttle: Throttle,
    /// Device cookies.
    pub devices: DeviceCookies,
    /// Clients (their names).
    pub clients: ClientRegistry,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// `sessions.idle_timeout_secs`.
    pub idle_secs: i64,
    /// `account.recent_auth_secs`.
    pub recent_auth_secs: i64,
    /// Second factors (asked after the password of a user who has one).
    pub mfa: Mfa,
}

impl Account {
    /// Assembles the service.
    pub fn new(p: AccountParts) -> Self {
        Self {
            store: p.store,
            users: p.users,
            hasher: p.hasher,
            sessions: p.sessions,
            throttle: p.throttle,
            devices: p.devices,
            clients: p.clients,
            clock: p.clock,
            idle_secs: p.idle_secs,
            recent_auth_secs: p.recent_auth_secs,
            mfa: p.mfa,
        }
    }

    /// The device cookies (their lifetime, for the cookie the handler sets).
    pub fn devices(&self) -> &DeviceCookies {
        &self.devices
    }

    /// The live session behind a cookie secret and its user, if the user is enabled.
    pub async fn signed_in(
        &self,
        secret: Option<&str>,
    ) -> Result<Option<(Session, User)>, AccountError> {
        let Some(session) = (match secret {
            Some(s) => self.sessions.current(s).await?,
            None => None,
        }) else {
            return Ok(None);
        };
        Ok(self
            .users
            .get(&session.user_id)
            .await?
            .filter(|u| !u.disabled)
            .map(|u| (session, u)))
    }

    /// Whether `session` is recent enough for a sensitive change ([`recent::is_recent`] with
    /// `account.recent_auth_secs`).
    pub fn is_recent(&self, session: &Session) -> bool {
        recent::is_recent(session, self.clock.now(), self.recent_auth_secs)
    }

    /// What the account page shows to `user`, signed in with `session`.
    pub async fn overview(&self, session: &Session, user: User) -> Result<Overview, AccountError> {
        let now = self.clock.now();
        let sessions = self
            .store
            .unended_sessions_of(&user.id, now)
            .await?
            .into_iter()
            .filter(|r| now - r.last_seen_at < self.idle_secs || r.id == session.id)
            .map(|r| SessionLine {
                device: device::summary(r.user_agent.as_deref()),
                address: r.client_addr,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                current: r.id == session.id,
                id: r.id,
            })
            .collect();
        let mut apps: Vec<AppLine> = Vec::new();
        for c in self.store.consents_of(&user.id).await? {
            apps.push(AppLine {
                name: c.client_id.clone(),
                client_id: c.client_id,
                scopes: c.scope.iter().cloned().collect(),
                consented_at: Some(c.updated_at),
                grant_since: None,
            });
        }
        for g in self.store.live_grants_of(&user.id, now).await? {
            match apps.iter_mut().find(|a| a.client_id == g.client_id) {
                Some(a) => a.grant_since = Some(g.since),
                None => apps.push(AppLine {
                    name: g.client_id.clone(),
                    client_id: g.client_id,
                    scopes: Vec::new(),
                    consented_at: None,
                    grant_since: Some(g.since),
                }),
            }
        }
        apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        for a in &mut apps {
            if let Some(client) = self.clients.get(&a.client_id).await? {
                a.name.clone_from(&client.name);
            }
        }
        Ok(Overview {
            user,
            sessions,
            apps,
        })
    }

    /// Ends session `id` of the signed-in user (with its grants, as a logout would), with the
    /// `user.sessions_ended` event by the user. False if it is not one of their live sessions.
    pub async fn end_session(
        &self,
        user: &User,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<bool, AccountError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(false);
        }
        let by = Operator {
            actor: Actor::User(user.id.clone()),
            request: meta.clone(),
        };
        Ok(self
            .sessions
            .end_for(&user.id, Some(id), &by)
            .await?
            .is_some())
    }

    /// Withdraws the user's consent to client `client_id` and ends every grant of the user at that
    /// client (`consent.withdrawn`). False if there was nothing to withdraw.
    pub async fn withdraw(
        &self,
        user: &User,
        client_id: &str,
        meta: &RequestMeta,
    ) -> Result<bool, AccountError> {
        if !crate::domain::is_plain_name(client_id, 255, b"-_.~") {
            return Ok(false);
        }
        let now = self.clock.now();
        let event = AuditEvent::new(EventType::ConsentWithdrawn, Actor::User(user.id.clone()))
            .user(&user.id)
            .client(client_id)
            .request(meta)
            .record(now);
        let done = self
            .store
            .withdraw_consent(&user.id, client_id, now, &event)
            .await?;
        if done {
            audit::log(&event);
        }
        Ok(done)
    }
}

/// How a password check on the account page ended, when it did not succeed.
pub type Problem = LoginProblem;
