//! The real `auth-server` binary as a child process: found (or built) once, started with a
//! configuration file the test writes, waited for until `/readyz` answers, and stopped, or killed
//! with SIGKILL, by the test.
//!
//! The binary is `AUTH_TEST_SERVER_BIN` when set (`scripts/test.sh` builds it before the suite and
//! sets it); otherwise the test builds it with the cargo that built the tests, into the same target
//! directory, so that a developer's `cargo nextest run` never runs a stale binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The `auth-server` binary to start.
pub fn server_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(bin) = std::env::var("AUTH_TEST_SERVER_BIN") {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "AUTH_TEST_SERVER_BIN={} is missing",
                bin.display()
            );
            return bin;
        }
        build_server_binary()
    })
    .clone()
}

/// `cargo build -p auth-server --bin auth-server` into the target directory of this test binary
/// (`<target>/<profile>/deps/<test>` → `<target>/<profile>/auth-server`).
fn build_server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lies in <target>/<profile>/deps")
        .to_owned();
    let target_dir = profile_dir.parent().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(workspace)
        .args(["build", "--quiet", "--locked", "-p", "auth-server", "--bin"])
        .arg("auth-server")
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p auth-server failed");
    let bin = profile_dir.join("auth-server");
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

/// A loopback port that was free a moment ago (bound to port 0, then released for a child process
/// to bind: the kernel hands out ephemeral ports in turn, so another test is unlikely to take it in
/// between).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private temporary directory, removed by its owner's `Drop`.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}",
        auth_server::domain::random::token(9).replace(['-', '_'], "x")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The last `n` lines of a log file (for failure messages).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `auth-server serve` running as a child process.
#[derive(Debug)]
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`, the public listener.
    pub base: String,
    /// `127.0.0.1:PORT` of the public listener.
    pub addr: String,
    /// `http://127.0.0.1:PORT/admin/v1`, the admin API on the admin listener.
    pub admin_api: String,
    child: Mutex<Option<Child>>,
    dir: PathBuf,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `auth-server --config <file> serve` with `config` (TOML) as the file, on two fresh
    /// loopback ports (public and admin, set through `AUTH_SERVER_SERVER_BIND` and
    /// `AUTH_SERVER_ADMIN_BIND`), with only `env` (plus `PATH`) in its environment; returns once
    /// `/readyz` answers 200. Panics with the server's log if it exits or is not ready in 60 s.
    pub async fn start(name: &str, config: &str, env: &[(&str, &str)]) -> Self {
        let dir = temp_dir(&format!("auth-proc-{name}"));
        let file = dir.join("auth-server.toml");
        std::fs::write(&file, config).unwrap();
        let log = dir.join("server.log");
        let (port, admin_port) = (free_port(), free_port());
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(server_binary());
        cmd.arg("--config")
            .arg(&file)
            .arg("serve")
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AUTH_SERVER_SERVER_BIND", &addr)
            .env("AUTH_SERVER_ADMIN_BIND", format!("127.0.0.1:{admin_port}"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = cmd.spawn().expect("starting auth-server");
        let server = Self {
            base: format!("http://{addr}"),
            addr,
            admin_api: format!("http://127.0.0.1:{admin_port}/admin/v1"),
            child: Mutex::new(Some(child)),
            dir,
            log,
        };
        server.wait_ready(name).await;
        server
    }

    async fn wait_ready(&self, name: &str) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let exited = self
                .child
                .lock()
                .unwrap()
                .as_mut()
                .unwrap()
                .try_wait()
                .unwrap();
            if let Some(status) = exited {
                panic!(
                    "auth-server {name} exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "auth-server {name} not ready within 60 s:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 40)
    }

    /// Kills the process with SIGKILL (no shutdown of any kind: open connections and transactions
    /// are cut where they are) and reaps it; returns the signal it died of.
    /// `None` if it was killed before.
    pub fn kill(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let mut child = self.child.lock().unwrap().take()?;
        // `Child::kill` sends SIGKILL on Unix.
        child.kill().unwrap();
        child.wait().unwrap().signal()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
