//! Time as an input.
//!
//! Domain code never calls `SystemTime::now()` itself; it asks a [`Clock`]. Production uses
//! [`SystemClock`]; tests use `ManualClock` (feature `test-helpers`) and move time forward explicitly,
//! so expiry, rotation and grace windows are tested without sleeping.

use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: the JWT `NumericDate` (RFC 7519 §2) and the unit every stored
/// timestamp in this project uses.
pub type UnixTime = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> UnixTime {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a broken host; report the epoch rather than panic.
            Err(_) => 0,
        }
    }
}

#[cfg(feature = "test-helpers")]
pub use manual::ManualClock;

#[cfg(feature = "test-helpers")]
mod manual {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::{Clock, UnixTime};

    /// A clock that only moves when told to. For tests only; never use it in production.
    #[derive(Debug, Clone)]
    pub struct ManualClock(Arc<AtomicI64>);

    impl ManualClock {
        /// A clock that reads `now` until advanced.
        pub fn new(now: UnixTime) -> Self {
            Self(Arc::new(AtomicI64::new(now)))
        }

        /// Moves the clock forward by `secs` seconds (all clones see it).
        pub fn advance(&self, secs: i64) {
            self.0.fetch_add(secs, Ordering::SeqCst);
        }

        /// Sets the clock to `now`.
        pub fn set(&self, now: UnixTime) {
            self.0.store(now, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> UnixTime {
            self.0.load(Ordering::SeqCst)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > 1_704_067_200);
    }
}
