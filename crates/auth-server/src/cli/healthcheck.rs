//! `auth-server healthcheck`: asks a running server whether it is ready (`GET /readyz`) or alive
//! (`--live`: `GET /healthz`), for a container `HEALTHCHECK` in an image without curl. Exit status
//! 0 on `200 OK`, 1 on anything else (another status, a refused connection, no answer within
//! `--timeout-secs`).
//!
//! The server is found from the configuration: `server.bind` (a wildcard address, `0.0.0.0` or
//! `::`, is asked on the loopback address of its family) and the path of `server.issuer`, under
//! which the routes sit.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use clap::Args;

use crate::config::Config;

/// `healthcheck` options.
#[derive(Debug, Args, Clone)]
pub struct HealthcheckArgs {
    /// Check liveness (`/healthz`: the process answers) instead of readiness (`/readyz`).
    #[arg(long)]
    pub live: bool,
    /// Seconds to wait for the whole answer.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout_secs: u64,
}

/// The URL the check asks.
pub fn url(config: &Config, args: &HealthcheckArgs) -> String {
    let addr = local_address(config.server.bind);
    let path = crate::http::issuer_path(&config.server.issuer);
    let endpoint = if args.live { "healthz" } else { "readyz" };
    format!("http://{addr}{path}/{endpoint}")
}

/// `bind`, with a wildcard address replaced by the loopback address of its family.
fn local_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// Runs the check, writing one line about the outcome to `out`; `Ok(true)` when the server
/// answered `200 OK`. Errors only when `out` cannot be written.
pub async fn run(
    config: &Config,
    args: &HealthcheckArgs,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let url = url(config, args);
    match ask(&url, Duration::from_secs(args.timeout_secs)).await {
        Ok((status, body)) if status == 200 => {
            writeln!(out, "{url}: {status} {body}")?;
            Ok(true)
        }
        Ok((status, body)) => {
            writeln!(out, "{url}: {status} {body}")?;
            Ok(false)
        }
        Err(e) => {
            writeln!(out, "{url}: no answer: {e}")?;
            Ok(false)
        }
    }
}

/// GETs `url` (no proxy: the server is local), returning its status and the start of its body.
async fn ask(url: &str, timeout: Duration) -> Result<(u16, String), reqwest::Error> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()?;
    let res = client.get(url).send().await?;
    let status = res.status().as_u16();
    let body = res.text().await?;
    let body: String = body.trim().chars().take(200).collect();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_asked_on_loopback() {
        let at = |s: &str| local_address(s.parse().unwrap_or(SocketAddr::from(([1, 1, 1, 1], 1))));
        assert_eq!(at("0.0.0.0:8080").to_string(), "127.0.0.1:8080");
        assert_eq!(at("[::]:8080").to_string(), "[::1]:8080");
        assert_eq!(at("10.0.0.5:80").to_string(), "10.0.0.5:80");
    }
}
