//! Audit events: the security-relevant changes, with who made them, stored durably and written as
//! log lines (target `audit`).
//!
//! An event is written in the same transaction as the change it records (the store's
//! `insert_audit_in` takes the caller's transaction), never after it, so the trail has an event
//! exactly when the change happened. Nothing is recorded per issued access token: audit writes on
//! the token path are what made another IdP's token endpoint stall under load.

use crate::model::audit::AuditRecord;

/// What happened. The stored and logged name is [`EventType::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A user signed in with the right password.
    SignInSuccess,
    /// A sign-in failed (wrong password or unknown user).
    SignInFailure,
    /// A sign-in was refused because the account, address or pair is locked out.
    SignInLockout,
    /// An SSO session ended by logout.
    Logout,
    /// A user consented to a client's scopes.
    ConsentGiven,
    /// A user's consent to a client was withdrawn.
    ConsentWithdrawn,
    /// A user's password was changed.
    PasswordChanged,
    /// An administrator created a user.
    UserCreated,
    /// An administrator changed a user (profile, enabled flag).
    UserUpdated,
    /// An administrator disabled a user.
    UserDisabled,
    /// An administrator deleted a user and their grants.
    UserDeleted,
    /// An administrator ended a user's sessions.
    SessionsEnded,
    /// An administrator registered a client.
    ClientCreated,
    /// An administrator changed a client.
    ClientUpdated,
    /// An administrator disabled a client.
    ClientDisabled,
    /// A client's secret was rotated.
    ClientSecretRotated,
    /// An administrator ended a client's previous secret before its overlap ran out.
    ClientPreviousSecretExpired,
    /// An administrator deleted a client.
    ClientDeleted,
    /// A new signing key was made (scheduled or by an administrator).
    KeyRotated,
    /// A signing key was revoked.
    KeyRevoked,
    /// A signing key's private key was re-sealed under the current key-encryption key
    /// (`auth-server keys rewrap`).
    KeyRewrapped,
    /// A rotated refresh token was presented again: its grant was revoked (RFC 9700 §4.14.2).
    RefreshReuseDetected,
    /// An authorization code was presented a second time: its tokens were revoked (RFC 6749
    /// §4.1.2).
    CodeReplay,
    /// A back-channel logout token could not be delivered after the last attempt (OpenID Connect
    /// Back-Channel Logout 1.0).
    BackchannelLogoutFailed,
    /// A user confirmed a TOTP factor (at `/account/mfa` or on the second-factor page).
    MfaTotpEnrolled,
    /// A user's TOTP factor and recovery codes were removed (by the user, or `mfa reset`).
    MfaFactorRemoved,
    /// A user's recovery codes were replaced by a new set.
    MfaRecoveryCodesRegenerated,
    /// An operator required MFA of a user (`mfa require`).
    MfaRequired,
    /// An operator stopped requiring MFA of a user (`mfa release`).
    MfaReleased,
    /// An operator created an initial access token for dynamic client registration (RFC 7591 §3).
    RegistrationTokenCreated,
    /// An operator revoked an initial access token.
    RegistrationTokenRevoked,
}

impl EventType {
    /// Every type, for documentation and parsing.
    pub const ALL: [EventType; 31] = [
        Self::SignInSuccess,
        Self::SignInFailure,
        Self::SignInLockout,
        Self::Logout,
        Self::ConsentGiven,
        Self::ConsentWithdrawn,
        Self::PasswordChanged,
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDisabled,
        Self::UserDeleted,
        Self::SessionsEnded,
        Self::ClientCreated,
        Self::ClientUpdated,
        Self::ClientDisabled,
        Self::ClientSecretRotated,
        Self::ClientPreviousSecretExpired,
        Self::ClientDeleted,
        Self::KeyRotated,
        Self::KeyRevoked,
        Self::KeyRewrapped,
        Self::RefreshReuseDetected,
        Self::CodeReplay,
        Self::BackchannelLogoutFailed,
        Self::MfaTotpEnrolled,
        Self::MfaFactorRemoved,
        Self::MfaRecoveryCodesRegenerated,
        Self::MfaRequired,
        Self::MfaReleased,
        Self::RegistrationTokenCreated,
        Self::RegistrationTokenRevoked,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignInSuccess => "sign_in.success",
            Self::SignInFailure => "sign_in.failure",
            Self::SignInLockout => "sign_in.lockout",
            Self::Logout => "logout",
            Self::ConsentGiven => "consent.given",
            Self::ConsentWithdrawn => "consent.withdrawn",
            Self::PasswordChanged => "password.changed",
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDisabled => "user.disabled",
            Self::UserDeleted => "user.deleted",
            Self::SessionsEnded => "user.sessions_ended",
            Self::ClientCreated => "client.created",
            Self::ClientUpdated => "client.updated",
            Self::ClientDisabled => "client.disabled",
            Self::ClientSecretRotated => "client.secret_rotated",
            Self::ClientPreviousSecretExpired => "client.previous_secret_expired",
            Self::ClientDeleted => "client.deleted",
            Self::KeyRotated => "key.rotated",
            Self::KeyRevoked => "key.revoked",
            Self::KeyRewrapped => "key.rewrapped",
            Self::RefreshReuseDetected => "refresh_token.reuse_detected",
            Self::CodeReplay => "authorization_code.replay",
            Self::BackchannelLogoutFailed => "backchannel_logout.failed",
            Self::MfaTotpEnrolled => "mfa.totp_enrolled",
            Self::MfaFactorRemoved => "mfa.factor_removed",
            Self::MfaRecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
            Self::MfaRequired => "mfa.required",
            Self::MfaReleased => "mfa.released",
            Self::RegistrationTokenCreated => "registration_token.created",
            Self::RegistrationTokenRevoked => "registration_token.revoked",
        }
    }

    /// The type of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// Who made the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in (or signing-in) user, by user id.
    User(String),
    /// An OAuth client, by client id.
    Client(String),
    /// An administrator: the admin API's caller (the client id of its token) or `cli` for the
    /// command line.
    Admin(String),
    /// The server itself (scheduled key rotation, expiry).
    System,
    /// Someone not (yet) authenticated: a sign-in attempt that failed or was locked out (the
    /// username it tried is the event's subject, its user id the `user_id` when it exists).
    Anonymous,
}

impl Actor {
    fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Self::User(id) => ("user", Some(id.clone())),
            Self::Client(id) => ("client", Some(id.clone())),
            Self::Admin(id) => ("admin", Some(id.clone())),
            Self::System => ("system", None),
            Self::Anonymous => ("anonymous", None),
        }
    }
}

/// Where a request came from: its id (the `x-request-id` of its response) and client address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The request id.
    pub request_id: Option<String>,
    /// The client address (after trusted proxies).
    pub client_addr: Option<String>,
    /// The browser's `User-Agent`, cut to a bounded length: kept on a session started by the
    /// request (the account page lists it), never stored in the audit trail.
    pub user_agent: Option<String>,
}

/// One event, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// What happened.
    pub event_type: EventType,
    /// Who did it.
    pub actor: Actor,
    /// The user it is about.
    pub user_id: Option<String>,
    /// The client it is about.
    pub client_id: Option<String>,
    /// What else it is about (a key id...).
    pub subject: Option<String>,
    /// The request.
    pub request: RequestMeta,
    /// Details (a JSON object; never a secret).
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    /// An event of `event_type` by `actor`, about nothing yet.
    pub fn new(event_type: EventType, actor: Actor) -> Self {
        Self {
            event_type,
            actor,
            user_id: None,
            client_id: None,
            subject: None,
            request: RequestMeta::default(),
            detail: None,
        }
    }

    /// About user `id`.
    pub fn user(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// About client `id`.
    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// About `subject` (a key id...).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Made by `request`.
    pub fn request(mut self, request: &RequestMeta) -> Self {
        self.request = request.clone();
        self
    }

    /// With details.
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// The record to store, happening at `at`.
    pub fn record(&self, at: i64) -> AuditRecord {
        let (actor_kind, actor_id) = self.actor.parts();
        AuditRecord {
            id: 0,
            at,
            event_type: self.event_type.as_str().to_owned(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            user_id: self.user_id.clone(),
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            client_addr: self.request.client_addr.clone(),
            request_id: self.request.request_id.clone(),
            detail: self.detail.as_ref().map(serde_json::Value::to_string),
        }
    }
}

/// A stored event as a JSON object (for `audit list --json` and the admin API): its fields as
/// stored, `detail` as the JSON object it is.
pub fn record_json(r: &AuditRecord) -> serde_json::Value {
    let detail = r
        .detail
        .as_deref()
        .map(|d| serde_json::from_str(d).unwrap_or_else(|_| serde_json::Value::from(d)));
    serde_json::json!({
        "id": r.id,
        "at": r.at,
        "event_type": r.event_type,
        "actor_kind": r.actor_kind,
        "actor_id": r.actor_id,
        "user_id": r.user_id,
        "client_id": r.client_id,
        "subject": r.subject,
        "client_addr": r.client_addr,
        "request_id": r.request_id,
        "detail": detail,
    })
}

/// Writes the log line of a stored event (target `audit`, one line; JSON with `log.format =
/// "json"`). Call it after the transaction that stored the event committed.
pub fn log(record: &AuditRecord) {
    tracing::info!(
        target: "audit",
        event_type = %record.event_type,
        at = record.at,
        actor_kind = %record.actor_kind,
        actor_id = record.actor_id.as_deref(),
        user_id = record.user_id.as_deref(),
        client_id = record.client_id.as_deref(),
        subject = record.subject.as_deref(),
        client_addr = record.client_addr.as_deref(),
        request_id = record.request_id.as_deref(),
        detail = record.detail.as_deref(),
        "audit event"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert!(seen.insert(t.as_str()), "{} twice", t.as_str());
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("nope"), None);
    }

    #[test]
    fn a_record_carries_actor_request_and_detail() {
        let meta = RequestMeta {
            request_id: Some("r-1".into()),
            client_addr: Some("10.0.0.9".into()),
            user_agent: None,
        };
        let r = AuditEvent::new(EventType::KeyRevoked, Actor::Admin("ops".into()))
            .subject("kid-1")
            .request(&meta)
            .detail(serde_json::json!({"reason": "leak"}))
            .record(42);
        assert_eq!(r.event_type, "key.revoked");
        assert_eq!(
            (r.actor_kind.as_str(), r.actor_id.as_deref()),
            ("admin", Some("ops"))
        );
        assert_eq!(r.subject.as_deref(), Some("kid-1"));
        assert_eq!(r.client_addr.as_deref(), Some("10.0.0.9"));
        assert_eq!(r.request_id.as_deref(), Some("r-1"));
        assert_eq!(r.detail.as_deref(), Some(r#"{"reason":"leak"}"#));
        assert_eq!(r.at, 42);
        let system = AuditEvent::new(EventType::KeyRotated, Actor::System).record(1);
        assert_eq!(
            (system.actor_kind.as_str(), system.actor_id),
            ("system", None)
        );
    }
}
