//! `auth-server user ...`: users and their passwords.

use std::io::{IsTerminal, Write};

use anyhow::bail;
use serde_json::json;

use clap::Subcommand;

use super::{JsonFlag, PasswordInput, print_list, print_one};
use crate::app::App;
use crate::domain::users::{NewUser, User};

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
    /// List users.
    List(JsonFlag),
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
            let u = app
                .users
                .create(NewUser {
                    username,
                    email,
                    display_name: name,
                    password,
                })
                .await?;
            if j.json {
                writeln!(out, "{}", user_json(&u))?;
            } else {
                writeln!(out, "created user {} (sub {})", u.username, u.id)?;
            }
        }
        UserCommand::List(j) => {
            let list = app.users.list().await?;
            print_list(out, j, &list, user_json, user_line)?;
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
