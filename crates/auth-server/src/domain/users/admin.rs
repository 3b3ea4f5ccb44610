//! The administrative changes of users, for the admin API and the CLI: create, search with keyset
//! paging, update (profile and enabled flag), disable, set a password, delete with every grant.
//!
//! Each change is one transaction that stores its audit event (actor: the admin API's caller, or
//! `cli`), and the event is logged after the commit; a change that fails (an unknown user, a
//! username taken, bad input) writes no event. No event carries a password or its hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::{
    NewUser, User, UserError, Users, check_display_name, check_email, check_password,
    check_username,
};
use crate::domain::audit::{self, Actor, AuditEvent, EventType, RequestMeta};
use crate::model::audit::AuditRecord;
use crate::store::StoreError;
use crate::store::user_admin::{ProfileEdit, Standing, UserChange};

/// Users per page when the caller does not say.
pub const DEFAULT_PAGE: u64 = 50;
/// Most users per page.
pub const MAX_PAGE: u64 = 200;
/// Longest search text, in characters.
const MAX_SEARCH_CHARS: usize = 254;

/// Who makes an administrative change, for its audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// [`Actor::Admin`] with the admin API caller's client id, or `cli`.
    pub actor: Actor,
    /// The request that made it (none for the CLI).
    pub request: RequestMeta,
}

impl Operator {
    /// The command line (`auth-server user ...`).
    pub fn cli() -> Self {
        Self {
            actor: Actor::Admin("cli".into()),
            request: RequestMeta::default(),
        }
    }

    /// An admin API request by the client `client_id` (the `client_id` of its access token).
    pub fn api(client_id: &str, request: RequestMeta) -> Self {
        Self {
            actor: Actor::Admin(client_id.to_owned()),
            request,
        }
    }

    /// The event `event_type` about user `user_id`, by this operator.
    pub fn event(&self, event_type: EventType, user_id: &str) -> AuditEvent {
        AuditEvent::new(event_type, self.actor.clone())
            .user(user_id)
            .request(&self.request)
    }
}

/// What a search asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// Only users whose username or e-mail address contains this (ASCII case ignored).
    pub text: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Users per page (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]).
    pub limit: Option<u64>,
}

/// One page of users, by username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users.
    pub users: Vec<User>,
    /// Pass it as the next search's cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A change of a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEdit {
    /// A new login name.
    pub username: Option<String>,
    /// A new e-mail address, or `Some(None)` to remove it.
    pub email: Option<Option<String>>,
    /// A new display name.
    pub display_name: Option<String>,
    /// Disable (ending every session and grant) or enable sign-in.
    pub disabled: Option<bool>,
}

impl UserEdit {
    /// The names of the fields it changes.
    fn changed(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (set, name) in [
            (self.username.is_some(), "username"),
            (self.email.is_some(), "email"),
            (self.display_name.is_some(), "display_name"),
            (self.disabled.is_some(), "disabled"),
        ] {
            if set {
                out.push(name);
            }
        }
        out
    }
}

/// Logs the events of a committed change.
fn log_all(events: &[AuditRecord]) {
    events.iter().for_each(audit::log);
}

impl Users {
    /// Registers a user, with its `user.created` event by `by`.
    pub async fn create_as(&self, new: NewUser, by: &Operator) -> Result<User, UserError> {
        let row = self.new_row(new).await?;
        let event = by
            .event(EventType::UserCreated, &row.id)
            .detail(json!({
                "username": row.username,
                "has_password": row.password_hash.is_some(),
            }))
            .record(row.created_at);
        match self.store.create_user(row.clone(), &event).await {
            Ok(()) => {
                audit::log(&event);
                Ok(User::from(&row))
            }
            Err(StoreError::Conflict(_)) => Err(UserError::Exists(row.username)),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of the users `q` selects, by username. A cursor names the last user of the page
    /// before, so a page never repeats a user of an earlier page, whatever is created meanwhile.
    pub async fn search(&self, q: &UserSearch) -> Result<UserPage, UserError> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(UserError::Invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let text = q.text.as_deref().filter(|t| !t.is_empty());
        if text.is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS) {
            return Err(UserError::Invalid(format!(
                "the search text has at most {MAX_SEARCH_CHARS} characters"
            )));
        }
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let mut rows = self
            .store
            .search_users(text, after.as_deref(), limit + 1)
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = more
            .then(|| rows.last().map(|r| URL_SAFE_NO_PAD.encode(&r.username)))
            .flatten();
        Ok(UserPage {
            users: rows.iter().map(User::from).collect(),
            next_cursor,
        })
    }

    /// Changes user `id` as `edit` says, in one transaction: `user.updated` for the profile or
    /// enabling, `user.disabled` for disabling (which ends every session and grant of the user).
    pub async fn update_as(
        &self,
        id: &str,
        edit: UserEdit,
        by: &Operator,
    ) -> Result<User, UserError> {
        if let Some(name) = &edit.username {
            check_username(name)?;
        }
        if let Some(Some(e)) = &edit.email {
            check_email(e)?;
        }
        if let Some(d) = &edit.display_name {
            check_display_name(d)?;
        }
        let changed = edit.changed();
        if changed.is_empty() {
            return Err(UserError::Invalid("nothing to change".into()));
        }
        let change = UserChange {
            profile: ProfileEdit {
                username: edit.username.clone(),
                email: edit.email.clone(),
                display_name: edit.display_name.clone(),
            },
            standing: edit.disabled.map(|d| {
                if d {
                    Standing::Disable
                } else {
                    Standing::Enable
                }
            }),
        };
        // Enabling is an update; disabling has its own event.
        let updated: Vec<&str> = changed
            .into_iter()
            .filter(|f| *f != "disabled" || edit.disabled == Some(false))
            .collect();
        let mut events = Vec::new();
        if !updated.is_empty() {
            events.push(
                by.event(EventType::UserUpdated, id)
                    .detail(json!({ "changed": updated })),
            );
        }
        if edit.disabled == Some(true) {
            events.push(by.event(EventType::UserDisabled, id));
        }
        self.change(id, &change, events, edit.username.as_deref())
            .await
    }

    /// Disables user `id`: sign-in is refused and every session and grant ends (`user.disabled`).
    pub async fn disable_as(&self, id: &str, by: &Operator) -> Result<User, UserError> {
        let edit = UserEdit {
            disabled: Some(true),
            ..UserEdit::default()
        };
        self.update_as(id, edit, by).await
    }

    /// Sets a new password for user `id`: every session and grant of the user ends, and its access
    /// tokens issued before now are revoked (`password.changed`, without the password).
    pub async fn set_password_as(
        &self,
        id: &str,
        password: String,
        by: &Operator,
    ) -> Result<User, UserError> {
        check_password(&password)?;
        let phc = self.hasher.hash(password).await?;
        let change = UserChange {
            profile: ProfileEdit::default(),
            standing: Some(Standing::Password(phc)),
        };
        let events = vec![by.event(EventType::PasswordChanged, id)];
        self.change(id, &change, events, None).await
    }

    /// Deletes user `id` with every grant it holds (`user.deleted`); its access tokens are revoked
    /// by the subject's cut-off and by `jti`. Returns the user as it was.
    pub async fn delete_as(&self, id: &str, by: &Operator) -> Result<User, UserError> {
        let now = self.clock.now();
        let mut logged = Vec::new();
        let row = self
            .store
            .delete_user(id, now, |row| {
                let event = by
                    .event(EventType::UserDeleted, id)
                    .detail(json!({ "username": row.username }))
                    .record(now);
                logged.push(event.clone());
                event
            })
            .await?
            .ok_or_else(|| UserError::UnknownId(id.to_owned()))?;
        log_all(&logged);
        Ok(User::from(&row))
    }

    /// Runs `change` on user `id` with `events`, then logs them.
    async fn change(
        &self,
        id: &str,
        change: &UserChange,
        events: Vec<AuditEvent>,
        new_username: Option<&str>,
    ) -> Result<User, UserError> {
        let now = self.clock.now();
        let records: Vec<AuditRecord> = events.iter().map(|e| e.record(now)).collect();
        let row = match self
            .store
            .change_user(id, change, now, |_| records.clone())
            .await
        {
            Ok(Some(row)) => row,
            Ok(None) => return Err(UserError::UnknownId(id.to_owned())),
            Err(StoreError::Conflict(_)) => {
                return Err(UserError::Exists(
                    new_username.unwrap_or_default().to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        log_all(&records);
        Ok(User::from(&row))
    }

    /// The subject id of the user named `username`.
    async fn id_of(&self, username: &str) -> Result<String, UserError> {
        Ok(self
            .store
            .find_user_by_username(username)
            .await?
            .ok_or_else(|| UserError::NotFound(username.to_owned()))?
            .id)
    }

    /// Sets a new password for the user named `username`, as the command line
    /// ([`Users::set_password_as`]).
    pub async fn set_password(&self, username: &str, password: String) -> Result<(), UserError> {
        check_password(&password)?;
        let id = self.id_of(username).await?;
        self.set_password_as(&id, password, &Operator::cli())
            .await
            .map(drop)
    }

    /// Disables or enables the user named `username`, as the command line ([`Users::update_as`]).
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), UserError> {
        let id = self.id_of(username).await?;
        let edit = UserEdit {
            disabled: Some(disabled),
            ..UserEdit::default()
        };
        self.update_as(&id, edit, &Operator::cli()).await.map(drop)
    }
}

/// The username a cursor names.
fn decode_cursor(cursor: &str) -> Result<String, UserError> {
    let bad = || UserError::Invalid("the cursor is not one this server gave".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let name = String::from_utf8(bytes).map_err(|_| bad())?;
    check_username(&name).map_err(|_| bad())?;
    Ok(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = URL_SAFE_NO_PAD.encode("alice@example");
        assert_eq!(decode_cursor(&c).unwrap(), "alice@example");
        for bad in [
            "!!",
            "",
            &URL_SAFE_NO_PAD.encode("a b"),
            &URL_SAFE_NO_PAD.encode([0xff]),
        ] {
            assert!(
                matches!(decode_cursor(bad), Err(UserError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_edit_names_what_it_changes() {
        let e = UserEdit {
            email: Some(None),
            disabled: Some(true),
            ..UserEdit::default()
        };
        assert_eq!(e.changed(), ["email", "disabled"]);
        assert!(UserEdit::default().changed().is_empty());
    }
}
