//! `auth-server backup DEST`: an online backup of the SQLite database into a new file, taken while
//! the server runs (SQLite's `VACUUM INTO`: a consistent snapshot; writers are not blocked), checked
//! with `PRAGMA integrity_check` before the command reports success.
//!
//! The key-encryption key (KEK) is not in the database, so it is not in the backup: the command says
//! where this instance reads it from. A backup restored without its KEK cannot open its signing keys
//! (the server refuses to start); the KEK alone opens nothing.
//!
//! On PostgreSQL the command copies nothing and fails, naming the `pg_dump` command to use instead:
//! PostgreSQL's own dump is the consistent snapshot there.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use super::JsonFlag;
use crate::config::Config;
use crate::store::Store;
use crate::store::backup::{sqlite_file, sqlite_integrity};

/// `backup` options.
#[derive(Debug, Args, Clone)]
pub struct BackupArgs {
    /// The file to write the backup to. It must not exist (it is created with mode 0600).
    pub dest: PathBuf,
    #[command(flatten)]
    json: JsonFlag,
}

/// Where this instance reads its key-encryption key from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    /// The environment variable `AUTH_SERVER_KEYS_KEK`.
    Env,
    /// The file that `AUTH_SERVER_KEYS_KEK_FILE` names.
    EnvFile(PathBuf),
    /// The configured `keys.kek_file`.
    File(PathBuf),
}

impl KekSource {
    /// As the server chooses it: the variable, else the variable's file, else `keys.kek_file`.
    pub fn of(config: &Config, env: impl Fn(&str) -> Option<String>) -> Self {
        if env("AUTH_SERVER_KEYS_KEK").is_some() {
            Self::Env
        } else if let Some(path) = env("AUTH_SERVER_KEYS_KEK_FILE") {
            Self::EnvFile(PathBuf::from(path))
        } else {
            Self::File(config.keys.kek_file.clone())
        }
    }

    /// One sentence for the operator.
    fn describe(&self) -> String {
        let file = |p: &Path, from: &str| {
            let state = if p.exists() {
                ""
            } else {
                "; it does not exist here"
            };
            format!("the file {} ({from}{state})", p.display())
        };
        match self {
            Self::Env => "the environment variable AUTH_SERVER_KEYS_KEK".to_owned(),
            Self::EnvFile(p) => file(p, "AUTH_SERVER_KEYS_KEK_FILE"),
            Self::File(p) => file(p, "keys.kek_file"),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Self::Env => json!({ "variable": "AUTH_SERVER_KEYS_KEK" }),
            Self::EnvFile(p) => {
                json!({ "variable": "AUTH_SERVER_KEYS_KEK_FILE", "file": p.display().to_string() })
            }
            Self::File(p) => json!({ "file": p.display().to_string() }),
        }
    }
}

/// Runs `backup`: refuses PostgreSQL, a missing source and an existing destination; writes the
/// snapshot, checks it, and reports it with where the KEK lives. A failed backup leaves no file.
pub async fn run(config: &Config, args: &BackupArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let kek = KekSource::of(config, |k| std::env::var(k).ok());
    let url = &config.database.url;
    let Some(source) = sqlite_file(url) else {
        if url.starts_with("postgres") {
            bail!("{}", postgres_advice(url, &args.dest, &kek));
        }
        bail!("the database is not a SQLite file: nothing to copy");
    };
    if !source.is_file() {
        bail!("{} does not exist: nothing to back up", source.display());
    }
    create_private_new(&args.dest)?;
    let result = write_and_check(config, &args.dest).await;
    let bytes = match result {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = std::fs::remove_file(&args.dest);
            return Err(e);
        }
    };
    let dest = args.dest.display().to_string();
    if args.json.json {
        let report = json!({
            "backup": dest,
            "bytes": bytes,
            "integrity": "ok",
            "kek_in_backup": false,
            "kek": kek.json(),
        });
        writeln!(out, "{report}")?;
    } else {
        writeln!(
            out,
            "backup written: {dest} ({bytes} bytes, integrity check ok)"
        )?;
        writeln!(
            out,
            "NOT in the backup: the key-encryption key (KEK). This instance reads it from {}.",
            kek.describe()
        )?;
        writeln!(
            out,
            "Keep a copy of that KEK apart from the backup: restored without it, the backup's signing \
             keys cannot be opened and the server refuses to start. The backup holds password hashes: \
             keep it private."
        )?;
    }
    Ok(())
}

/// Takes the snapshot into the (empty) file `dest` and checks it; its size in bytes.
async fn write_and_check(config: &Config, dest: &Path) -> anyhow::Result<u64> {
    let mut db = config.database.clone();
    db.max_connections = 1;
    let store = Store::connect(&db).await.context("opening the database")?;
    store
        .vacuum_into(dest)
        .await
        .with_context(|| format!("writing {}", dest.display()))?;
    drop(store);
    let problems = sqlite_integrity(dest)
        .await
        .context("checking the backup")?;
    if problems != ["ok"] {
        bail!(
            "the backup failed its integrity check ({}); it was removed",
            problems.join("; ")
        );
    }
    Ok(std::fs::metadata(dest)?.len())
}

/// Creates `dest` empty with mode 0600 (it will hold password hashes and sealed keys), refusing a
/// file that exists: a backup never overwrites anything.
fn create_private_new(dest: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} exists already: a backup never overwrites a file; name a new one",
            dest.display()
        ),
        Err(e) => Err(e).with_context(|| format!("creating {}", dest.display())),
    }
}

/// What to do instead on PostgreSQL: the `pg_dump` command (the URL without its password).
fn postgres_advice(url: &str, dest: &Path, kek: &KekSource) -> String {
    let url = without_password(url);
    let dest = dest.display();
    format!(
        "`auth-server backup` copies SQLite databases; this one is PostgreSQL, whose own dump is the \
         consistent online backup: run\n  pg_dump --format=custom --file='{dest}' '{url}'\n\
         (restore into a new, empty database with `pg_restore --no-owner --dbname=URL '{dest}'`). \
         The key-encryption key is not in the database either: this instance reads it from {}; \
         keep it apart from the dump",
        kek.describe()
    )
}

/// `url` with its password removed, from the user information (`postgres://u:secret@h/db` becomes
/// `postgres://u@h/db`) and from the query (`?password=...`, which libpq and sqlx also read), so
/// that advice printed to a terminal or a log leaks no secret.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.to_ascii_lowercase().starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn advice_never_shows_a_password() {
        assert_eq!(
            without_password("postgres://auth:s3cr%40t@db:5432/auth?sslmode=require"),
            "postgres://auth@db:5432/auth?sslmode=require"
        );
        assert_eq!(without_password("postgres://a:b:c@h/d"), "postgres://a@h/d");
        assert_eq!(without_password("postgres://h/d"), "postgres://h/d");
        assert_eq!(without_password("postgres://u@h"), "postgres://u@h");
        assert_eq!(
            without_password("postgres://u@h/d?sslmode=require&Password=s3cret&application_name=x"),
            "postgres://u@h/d?sslmode=require&application_name=x"
        );
        assert_eq!(
            without_password("postgres://h/d?password=s3cret"),
            "postgres://h/d"
        );
    }

    #[test]
    fn the_kek_source_follows_the_server() {
        let config = Config::from_toml_and_env(crate::config::DEFAULT_TOML, Vec::new()).unwrap();
        let none = |_: &str| None;
        assert_eq!(
            KekSource::of(&config, none),
            KekSource::File(config.keys.kek_file.clone())
        );
        let var = |k: &str| (k == "AUTH_SERVER_KEYS_KEK").then(|| "x".to_owned());
        assert_eq!(KekSource::of(&config, var), KekSource::Env);
        let file = |k: &str| (k == "AUTH_SERVER_KEYS_KEK_FILE").then(|| "/run/kek".to_owned());
        assert_eq!(
            KekSource::of(&config, file),
            KekSource::EnvFile(PathBuf::from("/run/kek"))
        );
    }
}
