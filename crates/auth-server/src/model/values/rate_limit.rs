//! A client's rate limit, as an operator writes it: `off`, or `<requests>/<s|min|h>` with an
//! optional `,burst=<n>` (the most requests admitted at once after a quiet spell; default: one
//! period's worth). `10/s`, `600/min,burst=50`, `off`.

use std::fmt;
use std::str::FromStr;

/// The longest overlap a secret rotation may keep the previous secret for: 30 days.
pub const MAX_SECRET_OVERLAP_SECS: i64 = 30 * 86_400;

/// The most requests per period or burst a limit may name.
pub const MAX_REQUESTS: u32 = 1_000_000;

/// A rate limit: none, or `requests` per `period_secs` with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// Not limited.
    Off,
    /// At most `requests` per `period_secs` on average, `burst` at once.
    Every {
        /// Requests per period (1 to `MAX_REQUESTS`).
        requests: u32,
        /// The period: 1 (`s`), 60 (`min`) or 3600 (`h`) seconds.
        period_secs: u32,
        /// Requests admitted at once (1 to `MAX_REQUESTS`).
        burst: u32,
    },
}

/// Why a rate limit could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rate limit {0:?} is not `off` or `<requests>/<s|min|h>[,burst=<n>]` with requests and burst \
     from 1 to 1000000 (e.g. `10/s`, `600/min,burst=50`)"
)]
pub struct RateLimitError(pub String);

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RateLimitError(s.chars().take(64).collect());
        if s == "off" {
            return Ok(Self::Off);
        }
        let (rate, burst) = match s.split_once(',') {
            Some((rate, b)) => (rate, Some(b.strip_prefix("burst=").ok_or_else(err)?)),
            None => (s, None),
        };
        let (n, unit) = rate.split_once('/').ok_or_else(err)?;
        let number = |t: &str| {
            (!t.is_empty() && t.len() <= 7 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u32>().ok())
                .flatten()
                .filter(|v| (1..=MAX_REQUESTS).contains(v))
        };
        let requests = number(n).ok_or_else(err)?;
        let period_secs = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            _ => return Err(err()),
        };
        let burst = match burst {
            Some(b) => number(b).ok_or_else(err)?,
            None => requests,
        };
        Ok(Self::Every {
            requests,
            period_secs,
            burst,
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Off => f.write_str("off"),
            Self::Every {
                requests,
                period_secs,
                burst,
            } => {
                let unit = match period_secs {
                    1 => "s",
                    60 => "min",
                    _ => "h",
                };
                write!(f, "{requests}/{unit}")?;
                if burst != requests {
                    write!(f, ",burst={burst}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_back() {
        for s in [
            "off",
            "10/s",
            "600/min,burst=50",
            "1/h",
            "1000000/s,burst=1",
        ] {
            assert_eq!(s.parse::<RateLimit>().unwrap().to_string(), s);
        }
        assert_eq!(
            "5/s".parse::<RateLimit>().unwrap(),
            RateLimit::Every {
                requests: 5,
                period_secs: 1,
                burst: 5
            }
        );
        assert_eq!(
            "5/s,burst=5".parse::<RateLimit>().unwrap().to_string(),
            "5/s"
        );
    }

    #[test]
    fn refuses_nonsense() {
        for s in [
            "",
            "0/s",
            "-1/s",
            "10",
            "10/d",
            "10/s,burst=0",
            "10/s,b=3",
            "1000001/s",
            "+5/s",
            "10/s,burst=",
            "Off",
            "10 /s",
            "99999999999/s",
        ] {
            assert!(s.parse::<RateLimit>().is_err(), "{s:?}");
        }
    }
}
