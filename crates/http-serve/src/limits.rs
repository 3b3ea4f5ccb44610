//! The three limits a listener enforces, their defaults, validation, and reading them from
//! `<PREFIX>_*` environment variables (the example services' configuration style).

use std::time::Duration;

/// How long a client may take, how long it may idle, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From the first byte of a request to its last header line. A client that sends its headers
    /// slower than this (slowloris) is disconnected.
    pub header_read_timeout: Duration,
    /// How long a connection may wait, with no request in progress, for the first byte of its next
    /// request: after it is accepted, and between requests on a kept-alive connection.
    pub idle_timeout: Duration,
    /// Connections served at once. When all are taken the listener stops accepting until one
    /// closes: newcomers wait in the kernel's accept backlog instead of being refused.
    pub max_connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(Self::DEFAULT_HEADER_READ_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(Self::DEFAULT_IDLE_TIMEOUT_SECS),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A limit is out of range or not a number; the message names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` {problem}")]
pub struct LimitsError {
    /// The setting, as the caller named it (a config key or an environment variable).
    pub name: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Which of the three settings is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// [`Limits::header_read_timeout`].
    HeaderReadTimeout,
    /// [`Limits::idle_timeout`].
    IdleTimeout,
    /// [`Limits::max_connections`].
    MaxConnections,
}

impl Setting {
    /// The key of the setting, as in `[server]` of the IdP and (upper-cased) in the services'
    /// environment variables.
    pub const fn key(self) -> &'static str {
        match self {
            Self::HeaderReadTimeout => "header_read_timeout_secs",
            Self::IdleTimeout => "idle_timeout_secs",
            Self::MaxConnections => "max_connections",
        }
    }
}

impl Limits {
    /// Default of `header_read_timeout_secs`.
    pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
    /// Default of `idle_timeout_secs`.
    pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
    /// Default of `max_connections`.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
    /// Upper bound of either timeout.
    pub const MAX_TIMEOUT_SECS: u64 = 3600;
    /// Upper bound of `max_connections` (far above any sensible file-descriptor limit).
    pub const MAX_CONNECTIONS: u32 = 1_000_000;

    /// Builds limits from whole seconds and a count, checking each is in range.
    pub fn from_secs(
        header_read_timeout_secs: u64,
        idle_timeout_secs: u64,
        max_connections: u32,
    ) -> Result<Self, (Setting, &'static str)> {
        let timeout = |secs: u64, setting| {
            if (1..=Self::MAX_TIMEOUT_SECS).contains(&secs) {
                Ok(Duration::from_secs(secs))
            } else {
                Err((setting, "must be between 1 and 3600 seconds"))
            }
        };
        if !(1..=Self::MAX_CONNECTIONS).contains(&max_connections) {
            return Err((Setting::MaxConnections, "must be between 1 and 1000000"));
        }
        Ok(Self {
            header_read_timeout: timeout(header_read_timeout_secs, Setting::HeaderReadTimeout)?,
            idle_timeout: timeout(idle_timeout_secs, Setting::IdleTimeout)?,
            max_connections,
        })
    }

    /// Reads `<PREFIX>_HEADER_READ_TIMEOUT_SECS`, `<PREFIX>_IDLE_TIMEOUT_SECS` and
    /// `<PREFIX>_MAX_CONNECTIONS` through `var` (unset or empty: the default).
    pub fn from_vars(
        prefix: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, LimitsError> {
        let name = |s: Setting| format!("{prefix}_{}", s.key().to_ascii_uppercase());
        let read = |s: Setting, default: u64| -> Result<u64, LimitsError> {
            match var(&name(s)).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| LimitsError {
                    name: name(s),
                    problem: "must be a whole number",
                }),
            }
        };
        let header = read(
            Setting::HeaderReadTimeout,
            Self::DEFAULT_HEADER_READ_TIMEOUT_SECS,
        )?;
        let idle = read(Setting::IdleTimeout, Self::DEFAULT_IDLE_TIMEOUT_SECS)?;
        let max = read(
            Setting::MaxConnections,
            u64::from(Self::DEFAULT_MAX_CONNECTIONS),
        )?;
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        Self::from_secs(header, idle, max).map_err(|(s, problem)| LimitsError {
            name: name(s),
            problem,
        })
    }

    /// As [`Limits::from_vars`], from the process environment.
    pub fn from_env(prefix: &str) -> Result<Self, LimitsError> {
        Self::from_vars(prefix, |n| std::env::var(n).ok())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    }

    #[test]
    fn defaults_when_unset() {
        assert_eq!(Limits::from_vars("X", vars(&[])), Ok(Limits::default()));
    }

    #[test]
    fn reads_and_validates() {
        let l = Limits::from_vars(
            "X",
            vars(&[
                ("X_HEADER_READ_TIMEOUT_SECS", "2"),
                ("X_IDLE_TIMEOUT_SECS", "5"),
                ("X_MAX_CONNECTIONS", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(l.header_read_timeout, Duration::from_secs(2));
        assert_eq!(l.idle_timeout, Duration::from_secs(5));
        assert_eq!(l.max_connections, 7);
        for (k, v) in [
            ("X_HEADER_READ_TIMEOUT_SECS", "0"),
            ("X_IDLE_TIMEOUT_SECS", "3601"),
            ("X_MAX_CONNECTIONS", "0"),
            ("X_MAX_CONNECTIONS", "99999999999"),
            ("X_IDLE_TIMEOUT_SECS", "ten"),
            ("X_IDLE_TIMEOUT_SECS", "-1"),
        ] {
            let e = Limits::from_vars("X", vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.name, k, "{v}");
        }
    }
}
