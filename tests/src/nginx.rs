//! Debian's nginx as the reverse proxy in front of server processes: a configuration written into a
//! temporary directory (pid file, logs and temp paths all inside it, `daemon off`), started as a
//! child process of the test and killed with it.
//!
//! nginx comes from `AUTH_TEST_NGINX`, else `/usr/sbin/nginx`, else `nginx` on `PATH`
//! (`scripts/test.sh` installs Debian's package and sets `AUTH_TEST_NGINX`). Without it the tests
//! that need it are skipped with a message, unless `AUTH_TEST_REQUIRE_NGINX` is set, in which case
//! they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{free_port, tail, temp_dir};

/// The nginx binary, or `None` (with a message) when there is none and none is required.
pub fn nginx_binary() -> Option<PathBuf> {
    let configured = std::env::var("AUTH_TEST_NGINX").ok().map(PathBuf::from);
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("nginx"))
                .find(|p| p.is_file())
        })
    };
    let found = match configured {
        Some(p) => Some(p).filter(|p| p.is_file()),
        None => Some(PathBuf::from("/usr/sbin/nginx"))
            .filter(|p| p.is_file())
            .or_else(on_path),
    };
    if found.is_none() {
        assert!(
            std::env::var("AUTH_TEST_REQUIRE_NGINX").is_err(),
            "AUTH_TEST_REQUIRE_NGINX is set but nginx is not installed (AUTH_TEST_NGINX={:?})",
            std::env::var("AUTH_TEST_NGINX").ok()
        );
        eprintln!(
            "nginx not found: the reverse-proxy test is skipped (scripts/test.sh installs it)"
        );
    }
    found
}

/// nginx listening on a loopback port and balancing over upstream servers.
#[derive(Debug)]
pub struct Nginx {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
    dir: PathBuf,
}

/// The proxy's configuration: one process (`master_process off`: a master killed with the test would
/// leave its worker running, orphaned, on the port; and a lone process keeps the user it was
/// started as, where a root master would switch its workers to `nobody`), round robin over `upstreams` (each taken out for 10 s
/// after a failure), requests passed on to the next server on a connection error, a timeout, 502
/// or 503. Only requests not yet sent are passed on when they are not idempotent (nginx's default,
/// no `non_idempotent`): a POST whose server died after receiving it comes back as 502, and the
/// client decides whether to retry. Each response carries `X-Upstream` (`$upstream_addr`: the
/// servers tried, in order) so that a test can tell which replica answered.
pub fn config(dir: &Path, port: u16, upstreams: &[&str]) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|u| format!("    server {u} max_fails=1 fail_timeout=10s;\n"))
        .collect();
    format!(
        "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream idp {{
{servers}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://idp;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"
    )
}

impl Nginx {
    /// Starts `binary` on `port` in front of `upstreams` (`host:port` each); returns once it
    /// accepts connections. Panics with its error log if it exits or does not listen within 30 s.
    pub async fn start(binary: &Path, port: u16, upstreams: &[&str]) -> Self {
        let dir = temp_dir("auth-nginx");
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, port, upstreams)).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            // Also the log of the start itself, before the configuration is read (nginx >= 1.19.5).
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .expect("starting nginx");
        let mut nginx = Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        nginx.wait_listening(port).await;
        nginx
    }

    /// A loopback port for [`Nginx::start`] (the issuer must be known before the replicas start).
    pub fn pick_port() -> u16 {
        free_port()
    }

    async fn wait_listening(&mut self, port: u16) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("nginx exited ({status}):\n{}", self.logs());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx did not listen within 30 s:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// nginx's stderr and error log.
    pub fn logs(&self) -> String {
        format!(
            "{}\n{}",
            tail(&self.dir.join("stderr.log"), 20),
            tail(&self.dir.join("error.log"), 20)
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // One process (see [`config`]): SIGKILL ends all of nginx.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
