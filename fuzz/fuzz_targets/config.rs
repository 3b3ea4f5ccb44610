//! The configuration loader (`auth_server::config::Config::from_toml_and_env`).
//!
//! Input: a TOML text (the embedded defaults, a few generated `key = value` lines, or arbitrary
//! text) and `AUTH_SERVER_*` environment overrides, mostly naming real settings, with arbitrary or
//! extreme values. Properties: never a panic (no arithmetic overflow on hostile numbers), and an
//! accepted configuration satisfies the documented bounds: the JWKS `max-age` is below the
//! publication lead minus the refresh interval, the rotation period is at least twice the lead,
//! lifetimes are within their ranges, and an `http` issuer is on a loopback host.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use auth_server::config::{Config, DEFAULT_TOML, ENV_PREFIX};
use libfuzzer_sys::fuzz_target;

/// `(section, key)` of every setting in the embedded defaults.
fn settings() -> &'static [(String, String)] {
    static S: OnceLock<Vec<(String, String)>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out = Vec::new();
        for line in DEFAULT_TOML.lines() {
            let line = line.trim();
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                out.push((section.to_owned(), String::new()));
            } else if let Some((key, _)) = line.split_once('=')
                && !line.starts_with('#')
                && let Some((section, _)) = out.last().cloned()
            {
                out.push((section, key.trim().to_owned()));
            }
        }
        out.retain(|(_, k)| !k.is_empty());
        out
    })
}

#[derive(Debug, Arbitrary)]
enum Val {
    Int(i64),
    Extreme(u8),
    Text(String),
    Bool(bool),
}

impl Val {
    fn text(&self) -> String {
        match self {
            Val::Int(i) => i.to_string(),
            Val::Extreme(i) => [
                "9223372036854775807",
                "-9223372036854775808",
                "0",
                "-1",
                "4294967296",
            ][usize::from(*i) % 5]
                .to_owned(),
            Val::Text(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
        }
    }

    fn toml(&self) -> String {
        match self {
            Val::Text(s) => format!("{s:?}"),
            other => other.text(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum File {
    Defaults,
    Lines(Vec<(u8, Val)>),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Var {
    Setting(u8, Val),
    Raw(String, String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    file: File,
    env: Vec<Var>,
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    let all = settings();
    let text = match &input.file {
        File::Defaults => DEFAULT_TOML.to_owned(),
        File::Raw(s) => s.clone(),
        File::Lines(lines) => {
            let mut t = String::new();
            for (i, v) in lines {
                let (section, key) = &all[usize::from(*i) % all.len()];
                t.push_str(&format!("[{section}]\n{key} = {}\n", v.toml()));
            }
            t
        }
    };
    let env: Vec<(String, String)> = input
        .env
        .iter()
        .map(|v| match v {
            Var::Setting(i, val) => {
                let (section, key) = &all[usize::from(*i) % all.len()];
                let name = format!("{ENV_PREFIX}{section}_{key}").to_ascii_uppercase();
                (name, val.text())
            }
            Var::Raw(k, v) => (format!("{ENV_PREFIX}{k}"), v.clone()),
        })
        .collect();
    let Ok(c) = Config::from_toml_and_env(&text, env) else {
        return;
    };
    let k = &c.keys;
    let max_age = c.jwks_max_age_secs();
    assert!((0..=86_400).contains(&max_age));
    assert!(
        max_age + k.refresh_interval_secs < k.publish_lead_secs,
        "{c:?}"
    );
    assert!(k.rotation_period_secs / 2 >= k.publish_lead_secs);
    assert!(k.rotation_period_secs <= 10 * 366 * 86_400);
    assert!((30..=86_400).contains(&c.tokens.access_token_ttl_secs));
    assert!(c.sessions.idle_timeout_secs >= 60);
    assert!(c.sessions.absolute_timeout_secs >= c.sessions.idle_timeout_secs);
    assert!((10..=600).contains(&c.authorize.code_ttl_secs));
    let issuer = &c.server.issuer;
    if issuer
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    {
        let host = url::Url::parse(issuer)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()));
        let loopback = match &host {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        assert!(
            loopback,
            "http issuer {issuer:?} is not on a loopback host ({host:?})"
        );
    }
});
