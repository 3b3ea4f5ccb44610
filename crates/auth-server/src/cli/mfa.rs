//! `auth-server mfa ...`: the per-user MFA policy, and resetting a user's second factors (a lost
//! phone and lost recovery codes).

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::app::App;
use crate::domain::audit::Actor;

/// `mfa ...`
#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Require a second factor of a user at every sign-in (one without a factor enrolls TOTP at
    /// the next sign-in).
    Require {
        /// Login name.
        username: String,
    },
    /// Stop requiring a second factor of a user (an enrolled factor is still asked for).
    Release {
        /// Login name.
        username: String,
    },
    /// Remove a user's TOTP factor and recovery codes.
    Reset {
        /// Login name.
        username: String,
    },
    /// Re-seal every TOTP secret under the current key-encryption key (after a KEK rotation, with
    /// the previous KEK still configured; run it with `keys rewrap`, before dropping the old KEK).
    Rewrap,
    /// Show a user's factors and whether MFA is required.
    Show {
        /// Login name.
        username: String,
    },
}

pub(super) async fn run(app: &App, cmd: MfaCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let id_of = async |username: &str| match app.users.find(username).await? {
        Some(u) => Ok::<_, anyhow::Error>(u.id),
        None => bail!("no user named {username:?}"),
    };
    let mfa = app.flow.mfa();
    match cmd {
        MfaCommand::Require { username } => {
            mfa.set_required(&id_of(&username).await?, true, Actor::Admin("cli".into()))
                .await?;
            writeln!(out, "MFA required for {username}")?;
        }
        MfaCommand::Release { username } => {
            mfa.set_required(&id_of(&username).await?, false, Actor::Admin("cli".into()))
                .await?;
            writeln!(out, "MFA no longer required for {username}")?;
        }
        MfaCommand::Reset { username } => {
            let removed = mfa
                .remove_totp(&id_of(&username).await?, Actor::Admin("cli".into()))
                .await?;
            match removed {
                true => writeln!(out, "second factors of {username} removed")?,
                false => writeln!(out, "{username} had no second factor")?,
            }
        }
        MfaCommand::Rewrap => {
            let n = mfa.rewrap().await?;
            writeln!(
                out,
                "{n} TOTP secret(s) re-sealed under the current key-encryption key"
            )?;
        }
        MfaCommand::Show { username } => {
            let id = id_of(&username).await?;
            let f = mfa.factors(&id).await?;
            let required = mfa.required_for(&id).await?;
            writeln!(
                out,
                "{username}\ttotp={} recovery_codes_left={} required={required}",
                f.totp, f.recovery_codes
            )?;
        }
    }
    Ok(())
}
