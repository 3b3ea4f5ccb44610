//! Brute-force throttling of sign-ins, per account and per client address, shared by every replica
//! through the database. An unknown username is counted exactly like a known one, so a lockout does
//! not tell which usernames exist.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::Clock;

use crate::config::LoginConfig;
use crate::domain::random;
use crate::store::{Store, StoreError};

/// Throttling policy and state.
#[derive(Debug, Clone)]
pub struct Throttle {
    store: Store,
    clock: Arc<dyn Clock>,
    policy: LoginConfig,
}

fn account_key(username: &str) -> String {
    let name = username.to_ascii_lowercase();
    // A username that cannot exist (too long, or with control characters such as a NUL, which
    // PostgreSQL refuses) is still counted, under a digest: bounded, and storable everywhere.
    if name.len() <= 64 && !name.chars().any(char::is_control) {
        format!("user:{name}")
    } else {
        let digest: String = random::sha256(name.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("user#{digest}")
    }
}

fn address_key(addr: IpAddr) -> String {
    // An IPv6 client controls its whole /64, so count the /64.
    match addr {
        IpAddr::V4(a) => format!("addr:{a}"),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

impl Throttle {
    /// A throttle with `policy`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, policy: LoginConfig) -> Self {
        Self {
            store,
            clock,
            policy,
        }
    }

    /// Whether a sign-in for `username` from `addr` is refused right now (checked before any hashing).
    pub async fn is_locked(
        &self,
        username: &str,
        addr: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut keys = vec![account_key(username)];
        keys.extend(addr.map(address_key));
        for key in keys {
            if let Some(row) = self.store.find_login_failures(&key).await?
                && row.locked_until > now
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Counts a failed sign-in.
    pub async fn failed(&self, username: &str, addr: Option<IpAddr>) -> Result<(), StoreError> {
        let now = self.clock.now();
        let p = &self.policy;
        self.store
            .record_login_failure(
                &account_key(username),
                now,
                p.failure_window_secs,
                p.max_failures_per_account,
                p.lockout_secs,
            )
            .await?;
        if let Some(a) = addr {
            self.store
                .record_login_failure(
                    &address_key(a),
                    now,
                    p.failure_window_secs,
                    p.max_failures_per_address,
                    p.lockout_secs,
                )
                .await?;
        }
        Ok(())
    }

    /// Forgets an account's failures after a successful sign-in (the address keeps its count).
    pub async fn succeeded(&self, username: &str) -> Result<(), StoreError> {
        self.store
            .clear_login_failures(&account_key(username))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(account_key("Alice"), "user:alice");
        let odd = account_key("a\0b");
        assert!(odd.starts_with("user#") && odd.len() == 5 + 64, "{odd}");
        assert_eq!(account_key(&"X".repeat(500)), account_key(&"x".repeat(500)));
        assert_ne!(account_key(&"x".repeat(500)), account_key(&"x".repeat(501)));
        assert_eq!(
            address_key(
                "2001:db8:1:2:3:4:5:6"
                    .parse()
                    .unwrap_or(IpAddr::from([0; 4]))
            ),
            "addr:2001:db8:1:2::/64"
        );
        assert_eq!(address_key(IpAddr::from([10, 0, 0, 1])), "addr:10.0.0.1");
    }
}
