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
    // Exactly as typed: usernames are case-sensitive, so `Alice` is another (probably unknown) account
    // whose guesses cannot sign anyone in as `alice`.
    let name = username;
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
    // An IPv6 client controls its whole /64, so count the /64. An IPv4 client reaching a dual-stack
    // socket arrives as `::ffff:a.b.c.d`: count it as the IPv4 address it is, not as one shared /64.
    match addr.to_canonical() {
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

    /// Counts an attempt before its password is checked, and says whether it may go ahead.
    ///
    /// Counting first is what makes the limit hold under concurrency: if failures were counted after
    /// the (slow) check, every attempt already in flight when the limit was reached would still be
    /// checked, so parallel requests could make many more guesses than the limit. An attempt that
    /// turns out to succeed (or is not checked at all) is given back with [`Throttle::succeeded`] or
    /// [`Throttle::not_checked`].
    pub async fn attempt(&self, username: &str, addr: Option<IpAddr>) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let p = &self.policy;
        let account = self
            .store
            .record_login_failure(
                &account_key(username),
                now,
                p.failure_window_secs,
                p.max_failures_per_account,
                p.lockout_secs,
            )
            .await?;
        let mut allowed = account <= p.max_failures_per_account;
        if let Some(a) = addr {
            let from_address = self
                .store
                .record_login_failure(
                    &address_key(a),
                    now,
                    p.failure_window_secs,
                    p.max_failures_per_address,
                    p.lockout_secs,
                )
                .await?;
            allowed &= from_address <= p.max_failures_per_address;
        }
        Ok(allowed)
    }

    /// A successful sign-in: the account's failures are forgotten, and the address's count gets back
    /// the attempt (an office behind one address signing in all day is not an attack).
    pub async fn succeeded(&self, username: &str, addr: Option<IpAddr>) -> Result<(), StoreError> {
        self.store
            .clear_login_failures(&account_key(username))
            .await?;
        if let Some(a) = addr {
            self.store.refund_login_attempt(&address_key(a)).await?;
        }
        Ok(())
    }

    /// An attempt that was counted but never checked (the server was busy): given back.
    pub async fn not_checked(
        &self,
        username: &str,
        addr: Option<IpAddr>,
    ) -> Result<(), StoreError> {
        self.store
            .refund_login_attempt(&account_key(username))
            .await?;
        if let Some(a) = addr {
            self.store.refund_login_attempt(&address_key(a)).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(account_key("Alice"), "user:Alice");
        assert_eq!(
            address_key("::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]))),
            "addr:192.0.2.7"
        );
        let odd = account_key("a\0b");
        assert!(odd.starts_with("user#") && odd.len() == 5 + 64, "{odd}");
        assert_ne!(account_key(&"X".repeat(500)), account_key(&"x".repeat(500)));
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
