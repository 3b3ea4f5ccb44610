//! The `chromedriver` process: finding it, a port for it, and ending it (and its browser) on drop.

use std::path::PathBuf;
use std::time::Duration;

use super::{Driver, Result, WebDriverError};

/// `name` found in a directory of `PATH`.
pub(super) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A port nothing listens on right now.
pub(super) fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| WebDriverError::Start(format!("no free port: {e}")))
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Drop cannot await: end the session with a blocking request on a plain socket so that
            // chromedriver closes the browser before it is killed (killed first, it leaves Chromium
            // running).
            delete_session_blocking(&self.base, &self.session);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `DELETE {session}` with std's blocking socket, bounded by timeouts.
fn delete_session_blocking(base: &str, session: &str) {
    use std::io::{Read, Write};
    let Some(addr) = base.strip_prefix("http://") else {
        return;
    };
    let path = session.strip_prefix(base).unwrap_or(session);
    let Ok(addr) = addr.parse::<std::net::SocketAddr>() else {
        return;
    };
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        // Read the answer: chromedriver answers once the browser is closed.
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}
