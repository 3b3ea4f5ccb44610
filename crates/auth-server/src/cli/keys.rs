//! `auth-server keys ...`: the signing keys' lifecycle, rotation, emergency revocation, and KEK
//! rotation (`rewrap`).

use std::io::Write;

use anyhow::bail;
use auth_core::Alg;
use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::app::App;
use crate::domain::keys::{RevocationOutcome, RotationOutcome};

/// `keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key and its lifecycle (`--json` also names the KEK that sealed it).
    List(JsonFlag),
    /// Create the next key now; it is published at once and signs after the publish lead.
    Rotate {
        /// Only this algorithm (default: all).
        #[arg(long)]
        alg: Option<Alg>,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Emergency revocation of a compromised key: it leaves the JWKS and stops signing at once (on
    /// this process; running servers at their next key reload), a new key of its algorithm signs at
    /// once (no publication lead: verifiers learn it through their unknown-kid refetch), its
    /// private key is erased, and the revocation feed lists it so that verifiers refuse the tokens
    /// it signed from their next poll.
    Revoke {
        /// The key id.
        kid: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// KEK rotation: re-seal every stored private key under the current key-encryption key. Run
    /// it with the new KEK current (AUTH_SERVER_KEYS_KEK or keys.kek_file) and the old one
    /// previous (AUTH_SERVER_KEYS_KEK_PREVIOUS or keys.kek_previous_file), once every replica has
    /// the new KEK current. Safe to run twice or on two machines at once. Exits non-zero if a key
    /// could not be re-sealed (the old KEK is still needed for it).
    Rewrap(JsonFlag),
}

pub(super) async fn keys(app: &App, cmd: KeysCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List(j) => {
            let rows = app.store.list_keys().await?;
            let now = app.clock.now();
            let state = |r: &crate::domain::records::KeyRecord| {
                if r.revoked_at.is_some() {
                    "revoked"
                } else if r.removed_at.is_some_and(|t| t <= now) {
                    "removed"
                } else if r.activates_at > now {
                    "pending"
                } else if r.retires_at.is_some_and(|t| t <= now) {
                    "retired"
                } else {
                    "active"
                }
            };
            if j.json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "kid": r.kid, "alg": r.alg, "generation": r.generation, "state": state(r),
                            "published_at": r.published_at, "activates_at": r.activates_at,
                            "retires_at": r.retires_at, "removed_at": r.removed_at,
                            "revoked_at": r.revoked_at, "kek_id": r.kek_id,
                        })
                    })
                    .collect();
                writeln!(out, "{}", json!(v))?;
            } else {
                writeln!(
                    out,
                    "ALG\tGEN\tSTATE\tKID\tPUBLISHED\tACTIVATES\tRETIRES\tREMOVED"
                )?;
                let t = |v: Option<i64>| v.map_or("-".to_owned(), fmt_time);
                for r in &rows {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.alg,
                        r.generation,
                        state(r),
                        r.kid,
                        fmt_time(r.published_at),
                        fmt_time(r.activates_at),
                        t(r.retires_at),
                        t(r.removed_at)
                    )?;
                }
            }
        }
        KeysCommand::Rotate { alg, json: j } => {
            let algs: Vec<Alg> = alg.map_or_else(|| Alg::ALL.to_vec(), |a| vec![a]);
            let outcomes = app.keys.rotate(&algs).await?;
            let mut v = Vec::new();
            for (alg, o) in outcomes {
                let (status, text) = match &o {
                    RotationOutcome::Created {
                        kid, activates_at, ..
                    } => (
                        "created",
                        format!(
                            "{alg}: created {kid}, published now, signs from {}",
                            fmt_time(*activates_at)
                        ),
                    ),
                    RotationOutcome::AlreadyPending { activates_at } => (
                        "already_pending",
                        format!(
                            "{alg}: a key is already pending; it signs from {}",
                            fmt_time(*activates_at)
                        ),
                    ),
                    RotationOutcome::LostRace => (
                        "created_elsewhere",
                        format!("{alg}: another server created the key"),
                    ),
                    RotationOutcome::NotDue => ("not_due", format!("{alg}: nothing to do")),
                };
                if j.json {
                    let (kid, activates_at) = match o {
                        RotationOutcome::Created {
                            kid, activates_at, ..
                        } => (Some(kid), Some(activates_at)),
                        RotationOutcome::AlreadyPending { activates_at } => {
                            (None, Some(activates_at))
                        }
                        _ => (None, None),
                    };
                    v.push(json!({"alg": alg, "status": status, "kid": kid, "activates_at": activates_at}));
                } else {
                    writeln!(out, "{text}")?;
                }
            }
            if j.json {
                writeln!(out, "{}", json!(v))?;
            }
        }
        KeysCommand::Revoke { kid, json: j } => {
            let outcome = app.keys.revoke(&kid).await?;
            let refresh = app.config.keys.refresh_interval_secs;
            match outcome {
                RevocationOutcome::Revoked { alg, successor } => {
                    if j.json {
                        writeln!(
                            out,
                            "{}",
                            json!({"kid": kid, "alg": alg, "status": "revoked", "successor": successor})
                        )?;
                    } else {
                        writeln!(out, "{alg}: revoked {kid}")?;
                        match successor {
                            Some(s) => writeln!(out, "{alg}: {s} signs from now")?,
                            None => writeln!(out, "{alg}: it had retired; its successor signs")?,
                        }
                        writeln!(
                            out,
                            "running servers drop it within {refresh} s; verifiers polling the \
                             revocation feed refuse its tokens from their next poll"
                        )?;
                    }
                }
                RevocationOutcome::AlreadyRevoked => bail!("key {kid:?} is already revoked"),
                RevocationOutcome::NotFound => bail!("no key {kid:?}"),
            }
        }
        KeysCommand::Rewrap(j) => rewrap(app, j, out).await?,
    }
    Ok(())
}

async fn rewrap(app: &App, j: JsonFlag, out: &mut dyn Write) -> anyhow::Result<()> {
    let r = app.keys.rewrap().await?;
    if j.json {
        let failed: Vec<_> = r
            .failed
            .iter()
            .map(|(kid, why)| json!({"kid": kid, "error": why}))
            .collect();
        writeln!(
            out,
            "{}",
            json!({
                "kek_id": r.kek_id, "rewrapped": r.rewrapped, "already_current": r.already_current,
                "rewrapped_elsewhere": r.rewrapped_elsewhere, "revoked": r.revoked,
                "failed": failed, "complete": r.complete(),
            })
        )?;
    } else {
        for kid in &r.rewrapped {
            writeln!(out, "re-sealed {kid} under KEK {}", r.kek_id)?;
        }
        for (kid, why) in &r.failed {
            writeln!(out, "NOT re-sealed {kid}: {why}")?;
        }
        writeln!(
            out,
            "rewrapped {}, already under KEK {} {}, re-sealed by another process {}, revoked {}, failed {}",
            r.rewrapped.len(),
            r.kek_id,
            r.already_current,
            r.rewrapped_elsewhere,
            r.revoked,
            r.failed.len()
        )?;
    }
    if !r.complete() {
        bail!(
            "{} key(s) are not under KEK {}: keep the previous KEK",
            r.failed.len(),
            r.kek_id
        );
    }
    Ok(())
}

fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}
