//! Brute-force throttling of sign-ins, shared by every replica through the database (OWASP
//! Authentication Cheat Sheet, "Protect Against Automated Attacks"; OWASP "Slow Down Online Guessing
//! Attacks with Device Cookies"). An unknown username is counted exactly like a known one, so no
//! answer tells which usernames exist.
//!
//! The policy, so that a lockout cannot be used as a weapon against the real user:
//!
//! - **Pair** (account, client address): a hard limit. After `max_failures_per_pair` failures in the
//!   window the pair is refused for `lockout_secs`: the attacker's own address is locked out.
//! - **Address** (all usernames from one address): a hard limit, `max_failures_per_address`.
//! - **Account** (all addresses): never locked, slowed down. After `max_failures_per_account`
//!   failures each further attempt needs a slot, one per delay (doubling from
//!   `slowdown_initial_secs` to `slowdown_max_secs`); without one the answer is "try again in a
//!   moment". Guesses spread over many addresses get a handful an hour.
//! - **Device** (a browser holding a valid device cookie for the account, see
//!   [`device`](super::device)): counted only on its own counter, not by the three above, so an
//!   attack from elsewhere does not keep it out; `max_failures_per_device` failures invalidate the
//!   cookie, and the browser is an untrusted client again.
//!
//! Every attempt is counted *before* its password is checked, with atomic conditional updates in
//! the database, so parallel guesses on any number of replicas cannot outrun a limit; an attempt
//! that succeeds or is never checked is given back.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::Clock;

use super::device::Device;
use crate::config::LoginConfig;
use crate::domain::audit::{self, AuditEvent};
use crate::domain::random;
use crate::store::login_throttle::{Slot, SlowDown};
use crate::store::{Store, StoreError};

/// Throttling policy and state.
#[derive(Debug, Clone)]
pub struct Throttle {
    store: Store,
    clock: Arc<dyn Clock>,
    policy: LoginConfig,
}

/// Whether an attempt may be checked.
#[derive(Debug)]
pub enum Verdict {
    /// Counted: check the password, then report with [`Throttle::succeeded`] or
    /// [`Throttle::not_checked`] (a rejection needs no report: it stays counted).
    Go(Attempt),
    /// This pair or address is locked out.
    Locked,
    /// The account is slowed down: try again in this many seconds.
    Slowed(i64),
}

/// What an allowed attempt counted, to give it back.
#[derive(Debug)]
pub struct Attempt {
    /// The device counter, for a trusted client.
    device: Option<String>,
    /// The pair, address and account counters, for an untrusted one.
    pair: Option<String>,
    address: Option<String>,
    account: Option<String>,
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

fn pair_key(account: &str, addr: Option<IpAddr>) -> String {
    let address = addr.map_or_else(|| "addr:unknown".to_owned(), address_key);
    format!("pair:{}|{account}", &address[5..])
}

fn device_key(device: &Device) -> String {
    format!("device:{}", device.nonce)
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

    /// Counts an attempt for `username` from `addr` (with `device` if the browser presented a valid
    /// device cookie for this username) before its password is checked, and says whether it may go
    /// ahead. An attempt that reaches a hard limit starts a lockout: `lockout` (the event, without
    /// its details) is stored in that count's transaction, with the counter and its duration.
    ///
    /// Counting first is what makes the limits hold under concurrency: if failures were counted
    /// after the (slow) check, every attempt already in flight when a limit was reached would still
    /// be checked, so parallel requests could make many more guesses than the limit.
    pub async fn attempt(
        &self,
        username: &str,
        addr: Option<IpAddr>,
        device: Option<&Device>,
        lockout: &AuditEvent,
    ) -> Result<Verdict, StoreError> {
        let now = self.clock.now();
        let p = &self.policy;
        let count = |key: String, limit: i32, secs: i64, counter: &'static str| async move {
            let event = lockout
                .clone()
                .detail(serde_json::json!({ "counter": counter, "seconds": secs }))
                .record(now);
            let counted = self
                .store
                .count_login_attempt(
                    &key,
                    now,
                    (p.failure_window_secs, limit, secs),
                    Some(&event),
                )
                .await?;
            if counted.locked_now {
                audit::log(&event);
            }
            Ok::<_, StoreError>((key, counted.allowed))
        };
        if let Some(d) = device {
            // Reaching the limit locks the device key until the cookie expires: invalidated.
            let secs = d.expires_at.saturating_sub(now).max(1);
            let (key, allowed) =
                count(device_key(d), p.max_failures_per_device, secs, "device").await?;
            if allowed {
                return Ok(Verdict::Go(Attempt {
                    device: Some(key),
                    pair: None,
                    address: None,
                    account: None,
                }));
            }
            // An invalidated cookie: an untrusted client from here on.
        }
        let account = account_key(username);
        let pair = pair_key(&account, addr);
        // One refused counter counts nothing on the other: a user retrying on a locked pair must
        // not use up the address's allowance (everyone behind one NAT address), nor the reverse.
        let (pair, pair_ok) = count(pair, p.max_failures_per_pair, p.lockout_secs, "pair").await?;
        if !pair_ok {
            return Ok(Verdict::Locked);
        }
        let address = match addr {
            Some(a) => {
                let limit = p.max_failures_per_address;
                let (k, ok) = count(address_key(a), limit, p.lockout_secs, "address").await?;
                if !ok {
                    self.store.refund_login_attempt(&pair).await?;
                    return Ok(Verdict::Locked);
                }
                Some(k)
            }
            None => None,
        };
        let slow = SlowDown {
            free: p.max_failures_per_account,
            initial: p.slowdown_initial_secs,
            max: p.slowdown_max_secs,
            quiet: p.account_memory_secs,
        };
        match self.store.claim_login_slot(&account, now, slow).await? {
            Slot::Free | Slot::Claimed => Ok(Verdict::Go(Attempt {
                device: None,
                pair: Some(pair),
                address,
                account: Some(account),
            })),
            Slot::Wait(secs) => {
                // Not a guess: given back, so a user told to wait is not locked out by waiting.
                self.store.refund_login_attempt(&pair).await?;
                if let Some(a) = &address {
                    self.store.refund_login_attempt(a).await?;
                }
                Ok(Verdict::Slowed(secs))
            }
        }
    }

    /// A successful sign-in: this pair's (or device's) failures are forgotten, and the address and
    /// the account get back the attempt (an office behind one address signing in all day is not an
    /// attack; and forgetting the account's failures would give an attacker a fresh allowance).
    pub async fn succeeded(&self, a: &Attempt) -> Result<(), StoreError> {
        for key in [&a.device, &a.pair].into_iter().flatten() {
            self.store.clear_login_failures(key).await?;
        }
        for key in [&a.address, &a.account].into_iter().flatten() {
            self.store.refund_login_attempt(key).await?;
        }
        Ok(())
    }

    /// An attempt that was counted but never checked (the server was busy): given back.
    pub async fn not_checked(&self, a: &Attempt) -> Result<(), StoreError> {
        for key in [&a.device, &a.pair, &a.address, &a.account]
            .into_iter()
            .flatten()
        {
            self.store.refund_login_attempt(key).await?;
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
        assert_eq!(
            pair_key("user:Alice", Some(IpAddr::from([10, 0, 0, 1]))),
            "pair:10.0.0.1|user:Alice"
        );
        assert_eq!(pair_key("user:a", None), "pair:unknown|user:a");
    }
}
