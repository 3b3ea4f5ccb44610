//! Unit tests of the limiters, on a manual clock.

use super::*;
use auth_core::ManualClock;

fn limit(s: &str) -> RateLimit {
    s.parse().unwrap()
}

fn limits(clock: &ManualClock, per_client: &str, failed: &str, replicas: u32) -> RateLimits {
    RateLimits::new(
        Arc::new(clock.clone()),
        limit(per_client),
        limit(failed),
        replicas,
    )
}

/// How many of `n` requests of `id` are admitted now.
async fn admitted(l: &RateLimits, id: &str, own: Option<RateLimit>, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        if l.admit(id, own).await.is_ok() {
            ok += 1;
        }
    }
    ok
}

#[tokio::test]
async fn a_client_gets_its_burst_then_its_rate() {
    let clock = ManualClock::new(1_000);
    let l = limits(&clock, "2/s,burst=5", "off", 1);
    assert_eq!(admitted(&l, "a", None, 10).await, 5);
    assert_eq!(
        l.admit("a", None).await,
        Err(Refused {
            retry_after_secs: 1
        })
    );
    // Another client is unaffected.
    assert_eq!(admitted(&l, "b", None, 5).await, 5);
    clock.advance(1);
    assert_eq!(admitted(&l, "a", None, 10).await, 2);
    clock.advance(100);
    assert_eq!(
        admitted(&l, "a", None, 10).await,
        5,
        "full again, never more"
    );
}

#[tokio::test]
async fn a_client_of_its_own_overrides_the_default() {
    let clock = ManualClock::new(1_000);
    let l = limits(&clock, "100/s", "off", 1);
    assert_eq!(admitted(&l, "slow", Some(limit("1/min")), 5).await, 1);
    let r = l.admit("slow", Some(limit("1/min"))).await.unwrap_err();
    assert_eq!(r.retry_after_secs, 60);
    assert_eq!(
        admitted(&l, "free", Some(RateLimit::Off), 1_000).await,
        1_000
    );
    // A changed limit takes effect at once (a fresh limiter).
    assert_eq!(admitted(&l, "slow", Some(limit("3/s")), 5).await, 3);
    let off = RateLimits::off(Arc::new(clock.clone()));
    assert_eq!(admitted(&off, "x", None, 1_000).await, 1_000);
}

#[tokio::test]
async fn replicas_share_the_limit() {
    let clock = ManualClock::new(1_000);
    let l = limits(&clock, "30/min,burst=10", "off", 3);
    // ceil(10 / 3) at once, then one every 6 s (30/min over 3 replicas = 10/min here).
    assert_eq!(admitted(&l, "a", None, 10).await, 4);
    assert_eq!(l.admit("a", None).await.unwrap_err().retry_after_secs, 6);
    clock.advance(6);
    assert_eq!(admitted(&l, "a", None, 10).await, 1);
}

#[tokio::test]
async fn failed_authentications_block_an_address() {
    let clock = ManualClock::new(1_000);
    let l = limits(&clock, "off", "6/min,burst=3", 1);
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let other: IpAddr = "192.0.2.2".parse().unwrap();
    for _ in 0..3 {
        assert!(l.address_blocked(Some(a)).await.is_ok());
        assert!(l.failed_auth(Some(a)).await.is_ok());
    }
    let r = l.failed_auth(Some(a)).await.unwrap_err();
    assert_eq!(r.retry_after_secs, 10);
    assert_eq!(l.address_blocked(Some(a)).await, Err(r));
    assert!(l.address_blocked(Some(other)).await.is_ok());
    assert!(l.address_blocked(None).await.is_ok());
    clock.advance(10);
    assert!(l.address_blocked(Some(a)).await.is_ok());
    assert!(l.failed_auth(Some(a)).await.is_ok());
    assert!(l.failed_auth(Some(a)).await.is_err());
}

#[tokio::test]
async fn an_ipv6_host_counts_by_its_64() {
    let clock = ManualClock::new(1_000);
    let l = limits(&clock, "off", "1/h", 1);
    let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert!(l.failed_auth(Some(one)).await.is_ok());
    assert!(l.failed_auth(Some(two)).await.is_err());
    assert!(l.address_blocked(Some(one)).await.is_err());
    assert!(l.address_blocked(Some(elsewhere)).await.is_ok());
    assert_eq!(
        bucket("::ffff:192.0.2.1".parse().unwrap()),
        "192.0.2.1".parse::<IpAddr>().unwrap()
    );
}
