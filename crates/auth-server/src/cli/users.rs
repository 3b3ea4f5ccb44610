//! `auth-server user ...`: users and their passwords.

use std::io::{IsTerminal, Write};

use anyhow::bail;
use serde_json::json;

use clap::Subcommand;

use super::{JsonFlag, PasswordInput, print_list, print_one};
use crate::app::App;
use crate::domain::sso::sessions::SessionInfo;
use crate::domain::users::{NewUser, Operator, User, UserEdit, UserSearch};

/// `user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (asks for a password unless `--no-password`).
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Read the password as one line from standard input instead of prompting.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Create the user without a password (cannot sign in until one is set).
        #[arg(long)]
        no_password: bool,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List users, by username.
    List {
        /// Only users whose username or e-mail address contains this (ASCII case ignored).
        #[arg(long)]
        search: Option<String>,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show one user.
    Show {
        /// Login name.
        username: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Refuse sign-in for a user.
    Disable {
        /// Login name.
        username: String,
    },
    /// Allow sign-in again.
    Enable {
        /// Login name.
        username: String,
    },
    /// Change a user's login name, e-mail address or display name.
    Update {
        /// Login name.
        username: String,
        /// A new login name.
        #[arg(long)]
        new_username: Option<String>,
        /// A new e-mail address.
        #[arg(long, conflicts_with = "no_email")]
        email: Option<String>,
        /// Remove the e-mail address.
        #[arg(long)]
        no_email: bool,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a user with their sessions, grants and consents (their access tokens are revoked).
    Delete {
        /// Login name.
        username: String,
    },
    /// List a user's live sessions, newest first.
    Sessions {
        /// Login name.
        username: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// End a user's sessions (or one of them) with their grants; the user may sign in again.
    EndSessions {
        /// Login name.
        username: String,
        /// Only this session id.
        #[arg(long)]
        session: Option<String>,
    },
    /// Set a new password (prompted, or one line from standard input).
    SetPassword {
        /// Login name.
        username: String,
        /// Read the password as one line from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Reads a password: one line of the input with `--password-stdin`, else a terminal prompt (twice).
fn read_password(from_stdin: bool, input: &mut PasswordInput<'_>) -> anyhow::Result<String> {
    if from_stdin {
        let PasswordInput::Lines(reader) = input else {
            bail!("--password-stdin needs standard input");
        };
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let pw = line.trim_end_matches(['\n', '\r']).to_owned();
        if pw.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(pw);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for a password: pass --password-stdin and give it on standard input"
        );
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Repeat password: ")?;
    if first != second {
        bail!("the passwords differ");
    }
    Ok(first)
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "sub": u.id, "username": u.username, "email": u.email, "display_name": u.display_name,
        "disabled": u.disabled, "has_password": u.has_password,
        "created_at": u.created_at, "updated_at": u.updated_at,
    })
}

fn user_line(u: &User) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        u.username,
        if u.disabled { "DISABLED" } else { "enabled" },
        if u.has_password {
            "password"
        } else {
            "no-password"
        },
        u.email.as_deref().unwrap_or("-"),
        u.display_name
    )
}

fn session_json(s: &SessionInfo) -> serde_json::Value {
    json!({
        "id": s.id, "created_at": s.created_at, "last_seen_at": s.last_seen_at,
        "auth_time": s.auth_time, "amr": s.amr, "expires_at": s.expires_at,
    })
}

fn session_line(s: &SessionInfo) -> String {
    format!(
        "{}\tcreated {}\tlast seen {}\tends {}\t{}",
        s.id,
        s.created_at,
        s.last_seen_at,
        s.expires_at,
        s.amr.join(" ")
    )
}

/// Every user `search` selects, page by page.
async fn all_users(app: &App, search: Option<String>) -> anyhow::Result<Vec<User>> {
    let mut out = Vec::new();
    let mut q = UserSearch {
        text: search,
        cursor: None,
        limit: Some(crate::domain::users::admin::MAX_PAGE),
    };
    loop {
        let page = app.users.search(&q).await?;
        out.extend(page.users);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The subject id of the user named `username`.
async fn id_of(app: &App, username: &str) -> anyhow::Result<String> {
    match app.users.find(username).await? {
        Some(u) => Ok(u.id),
        None => bail!("no user named {username:?}"),
    }
}

pub(super) async fn run(
    app: &App,
    cmd: UserCommand,
    input: &mut PasswordInput<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create {
            username,
            email,
            name,
            password_stdin,
            no_password,
            json: j,
        } => {
            let password = if no_password {
                None
            } else {
                Some(read_password(password_stdin, input)?)
            };
            let new = NewUser {
                username,
                email,
                display_name: name,
                password,
            };
            let u = app.users.create_as(new, &Operator::cli()).await?;
            if j.json {
                writeln!(out, "{}", user_json(&u))?;
            } else {
                writeln!(out, "created user {} (sub {})", u.username, u.id)?;
            }
        }
        UserCommand::List { search, json: j } => {
            let list = all_users(app, search).await?;
            print_list(out, j, &list, user_json, user_line)?;
        }
        UserCommand::Update {
            username,
            new_username,
            email,
            no_email,
            name,
            json: j,
        } => {
            let edit = UserEdit {
                username: new_username,
                email: if no_email {
                    Some(None)
                } else {
                    email.map(Some)
                },
                display_name: name,
                disabled: None,
            };
            let id = id_of(app, &username).await?;
            let u = app.users.update_as(&id, edit, &Operator::cli()).await?;
            print_one(out, j, &u, user_json, user_line)?;
        }
        UserCommand::Delete { username } => {
            let id = id_of(app, &username).await?;
            app.users.delete_as(&id, &Operator::cli()).await?;
            writeln!(out, "user {username} deleted")?;
        }
        UserCommand::Sessions { username, json: j } => {
            let id = id_of(app, &username).await?;
            let list = app.sessions.live_of(&id).await?;
            print_list(out, j, &list, session_json, session_line)?;
        }
        UserCommand::EndSessions { username, session } => {
            let id = id_of(app, &username).await?;
            match app
                .sessions
                .end_for(&id, session.as_deref(), &Operator::cli())
                .await?
            {
                Some(n) => writeln!(out, "{n} session(s) of {username} ended")?,
                None => bail!("{username} has no such session"),
            }
        }
        UserCommand::Show { username, json: j } => {
            let Some(u) = app.users.find(&username).await? else {
                bail!("no user named {username:?}");
            };
            print_one(out, j, &u, user_json, user_line)?;
        }
        UserCommand::Disable { username } => {
            app.users.set_disabled(&username, true).await?;
            writeln!(out, "user {username} disabled")?;
        }
        UserCommand::Enable { username } => {
            app.users.set_disabled(&username, false).await?;
            writeln!(out, "user {username} enabled")?;
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin, input)?;
            app.users.set_password(&username, password).await?;
            writeln!(out, "password of {username} set")?;
        }
    }
    Ok(())
}
