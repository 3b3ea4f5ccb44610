//! Sign-in throttling counters, shared by every replica through the database, changed only by
//! atomic conditional updates (an increment guarded by the limit): a hard limit per key
//! ([`Store::count_login_attempt`]) and the account-wide slow-down, a growing delay between
//! attempts ([`Store::claim_login_slot`]).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter, TransactionTrait,
};

use super::audit::insert_audit_in;
use super::entities::login_failure;
use super::{Store, StoreError};
use crate::model::audit::AuditRecord;
use crate::model::records::ThrottleRecord;

/// What [`Store::claim_login_slot`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Within the free allowance: go ahead.
    Free,
    /// Past the allowance, and this attempt took the slot that was open: go ahead (the next slot
    /// opens after a longer delay).
    Claimed,
    /// Past the allowance, and no slot is open: try again in this many seconds.
    Wait(i64),
}

/// How [`Store::claim_login_slot`] slows a key down.
#[derive(Debug, Clone, Copy)]
pub struct SlowDown {
    /// Attempts allowed without delay.
    pub free: i32,
    /// The first delay; each further attempt doubles it.
    pub initial: i64,
    /// The longest delay.
    pub max: i64,
    /// Without an attempt this long (and with no delay running), the count starts over.
    pub quiet: i64,
}

impl SlowDown {
    /// The delay that follows the attempt made with `failures` already counted.
    pub fn delay_after(&self, failures: i32) -> i64 {
        let doublings = u32::try_from(failures.saturating_sub(self.free)).unwrap_or(0);
        Ord::min(
            self.initial
                .saturating_mul(1_i64 << Ord::min(doublings, 40)),
            self.max,
        )
    }
}

impl Store {
    /// Counts one attempt on `key` against a hard limit: true if it may go ahead (it was among the
    /// first `limit` in the window). The key is locked while its count is at the limit; the attempt
    /// that reaches it sets the lockout's end to `now + lockout`, and a count given back
    /// ([`Store::refund_login_attempt`]) unlocks it. A window that has passed, or a lockout that has
    /// ended, starts a new count.
    ///
    /// The count moves by one guarded statement (`SET failures = failures + 1 WHERE failures <
    /// limit`), which PostgreSQL re-checks after taking the row lock and SQLite runs alone: on any
    /// number of replicas exactly the first `limit` attempts go ahead, and a burst never refuses
    /// them.
    ///
    /// `on_lock` is the audit event of a lockout: stored in the transaction of the increment that
    /// reaches the limit (exactly one per lockout, whatever the concurrency), and only then.
    pub async fn count_login_attempt(
        &self,
        key: &str,
        now: i64,
        (window, limit, lockout): (i64, i32, i64),
        on_lock: Option<&AuditRecord>,
    ) -> Result<Counted, StoreError> {
        let db = self.conn();
        self.ensure_login_row(key, now).await?;
        // A lockout still running is never cut short.
        restart_count(key, now)
            .filter(login_failure::Column::LockedUntil.lte(now))
            .filter(
                login_failure::Column::WindowStart
                    .lte(now - window)
                    .or(login_failure::Column::LockedUntil.gt(0)),
            )
            .exec(db)
            .await?;
        // Twice at most: the purge may delete a quiet row between the two statements.
        for _ in 0..2 {
            let counted = count_in_txn(db, key, now, limit, lockout, on_lock).await?;
            if counted.allowed {
                return Ok(counted);
            }
            if self.find_login_failures(key).await?.is_some() {
                return Ok(counted);
            }
            self.ensure_login_row(key, now).await?;
        }
        Ok(Counted::default())
    }

    async fn ensure_login_row(&self, key: &str, now: i64) -> Result<(), StoreError> {
        login_failure::Entity::insert(login_failure::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(0),
            window_start: Set(now),
            locked_until: Set(0),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }

    /// Counts one attempt on `key` under the slow-down `s`: free while fewer than `s.free` attempts
    /// are counted, then one attempt per delay (`s.initial`, doubling up to `s.max`).
    ///
    /// Every decision is one conditional `UPDATE` whose `WHERE` holds the condition, so of
    /// concurrent attempts on any replicas at most `s.free` pass the free allowance and at most one
    /// claims each delay: a claim sets the next opening time only if the count is still the one it
    /// read and no delay is running (compare-and-set), and a loser is told to wait.
    pub async fn claim_login_slot(
        &self,
        key: &str,
        now: i64,
        s: SlowDown,
    ) -> Result<Slot, StoreError> {
        let db = self.conn();
        self.ensure_login_row(key, now).await?;
        // Quiet for `s.quiet`, with no delay running: start over. For these keys `window_start` is
        // the last counted attempt.
        restart_count(key, now)
            .filter(login_failure::Column::WindowStart.lte(now - s.quiet))
            .filter(login_failure::Column::LockedUntil.lte(now))
            .exec(db)
            .await?;
        let free = login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                Expr::col(login_failure::Column::Failures).add(1),
            )
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::Failures.lt(s.free))
            .exec(db)
            .await?
            .rows_affected;
        if free == 1 {
            return Ok(Slot::Free);
        }
        let Some(row) = self.find_login_failures(key).await? else {
            return Ok(Slot::Wait(1));
        };
        if row.locked_until > now {
            return Ok(Slot::Wait(row.locked_until - now));
        }
        let claimed = login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                Expr::value(row.failures.saturating_add(1)),
            )
            .col_expr(login_failure::Column::WindowStart, Expr::value(now))
            .col_expr(
                login_failure::Column::LockedUntil,
                Expr::value(now.saturating_add(s.delay_after(row.failures))),
            )
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::Failures.eq(row.failures))
            .filter(login_failure::Column::Failures.gte(s.free))
            .filter(login_failure::Column::LockedUntil.lte(now))
            .exec(db)
            .await?
            .rows_affected;
        if claimed == 1 {
            return Ok(Slot::Claimed);
        }
        // Another attempt took the slot first (or the count moved): wait for the next one.
        let wait = self
            .find_login_failures(key)
            .await?
            .map_or(1, |r| r.locked_until - now);
        Ok(Slot::Wait(Ord::max(wait, 1)))
    }
}

impl Store {
    /// The throttling record of `key`.
    pub async fn find_login_failures(
        &self,
        key: &str,
    ) -> Result<Option<ThrottleRecord>, StoreError> {
        self.one_as(login_failure::Entity::find_by_id(key.to_owned()))
            .await
    }

    /// Gives back one counted attempt of `key` (never below zero).
    pub async fn refund_login_attempt(&self, key: &str) -> Result<(), StoreError> {
        login_failure::Entity::update_many()
            .col_expr(
                login_failure::Column::Failures,
                Expr::col(login_failure::Column::Failures).sub(1),
            )
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::Failures.gt(0))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Forgets the failures of `key` (after a successful sign-in). The row is zeroed, not deleted:
    /// an attempt counted at the same moment on another request then still finds its row, where a
    /// deletion between its two statements would refuse it (many sign-ins of one account from one
    /// address at once did exactly that). The purge deletes rows that have gone quiet.
    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        login_failure::Entity::update_many()
            .col_expr(login_failure::Column::Failures, Expr::value(0))
            .col_expr(login_failure::Column::LockedUntil, Expr::value(0))
            .filter(login_failure::Column::Key.eq(key))
            .exec(self.conn())
            .await?;
        Ok(())
    }
}

/// What [`Store::count_login_attempt`] decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    /// Among the first `limit`: go ahead.
    pub allowed: bool,
    /// This attempt reached the limit and started a lockout (its event, if any, is stored).
    pub locked_now: bool,
}

/// The guarded increment of [`Store::count_login_attempt`], and the lockout's event when it
/// reaches the limit, in one transaction whose first statement is the write (so SQLite takes its
/// write lock at once, and PostgreSQL holds the row's lock while the count is read back).
async fn count_in_txn(
    db: &sea_orm::DatabaseConnection,
    key: &str,
    now: i64,
    limit: i32,
    lockout: i64,
    on_lock: Option<&AuditRecord>,
) -> Result<Counted, StoreError> {
    let txn = db.begin().await?;
    let reaches_limit = Expr::col(login_failure::Column::Failures).add(1).gte(limit);
    let won = login_failure::Entity::update_many()
        .col_expr(
            login_failure::Column::Failures,
            Expr::col(login_failure::Column::Failures).add(1),
        )
        .col_expr(
            login_failure::Column::LockedUntil,
            Expr::case(reaches_limit, now.saturating_add(lockout))
                .finally(Expr::col(login_failure::Column::LockedUntil))
                .into(),
        )
        .filter(login_failure::Column::Key.eq(key))
        .filter(login_failure::Column::Failures.lt(limit))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    let mut locked_now = false;
    if won && let Some(event) = on_lock {
        // Only one increment moves the count from `limit - 1` to `limit`.
        locked_now = login_failure::Entity::find_by_id(key.to_owned())
            .one(&txn)
            .await?
            .is_some_and(|r| r.failures >= limit);
        if locked_now {
            insert_audit_in(&txn, event).await?;
        }
    }
    txn.commit().await?;
    Ok(Counted {
        allowed: won,
        locked_now,
    })
}

/// `UPDATE login_failures SET failures = 0, window_start = now, locked_until = 0 WHERE key = key`,
/// to which the caller adds the conditions for starting the count over.
fn restart_count(key: &str, now: i64) -> sea_orm::UpdateMany<login_failure::Entity> {
    login_failure::Entity::update_many()
        .col_expr(login_failure::Column::Failures, Expr::value(0))
        .col_expr(login_failure::Column::WindowStart, Expr::value(now))
        .col_expr(login_failure::Column::LockedUntil, Expr::value(0))
        .filter(login_failure::Column::Key.eq(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap() {
        let s = SlowDown {
            free: 5,
            initial: 30,
            max: 900,
            quiet: 900,
        };
        let delays: Vec<i64> = (5..12).map(|f| s.delay_after(f)).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(s.delay_after(i32::MAX), 900);
        assert_eq!(s.delay_after(0), 30);
    }
}
