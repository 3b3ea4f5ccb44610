//! The domain: stock levels per SKU and the reservations taken against them, in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Stock taken by one client for one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// `res-<n>`, unique in this process.
    pub id: String,
    /// The SKU reserved.
    pub sku: String,
    /// How many units.
    pub quantity: u32,
    /// The OAuth client that reserved (the token's `client_id`).
    pub client_id: Option<String>,
    /// For whom (the token's `sub`: a user, or a client acting as itself).
    pub subject: Option<String>,
    /// The service that acted for the subject (the token's `act.sub`, RFC 8693 §4.1), if any.
    pub actor: Option<String>,
}

/// Who takes a reservation, from the token that asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedBy {
    /// The token's `client_id`.
    pub client_id: Option<String>,
    /// Its `sub`.
    pub subject: Option<String>,
    /// Its `act.sub`.
    pub actor: Option<String>,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// No such SKU.
    #[error("unknown sku")]
    UnknownSku,
    /// Fewer units available than asked for; nothing was taken.
    #[error("insufficient stock")]
    InsufficientStock,
}

/// Stock levels and reservations. Share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct Stock {
    levels: Mutex<HashMap<String, u32>>,
    reservations: Mutex<HashMap<String, Reservation>>,
    next_id: AtomicU64,
}

/// A poisoned lock only means another request panicked mid-way; every update here is a single
/// assignment, so the data is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Stock {
    /// Stock seeded with these levels.
    pub fn new(levels: HashMap<String, u32>) -> Self {
        Self {
            levels: Mutex::new(levels),
            ..Self::default()
        }
    }

    /// Units of `sku` available, or `None` for an unknown SKU.
    pub fn available(&self, sku: &str) -> Option<u32> {
        lock(&self.levels).get(sku).copied()
    }

    /// Takes `quantity` units of `sku` for `by`: all of them or none (check and decrement happen
    /// under one lock).
    pub fn reserve(
        &self,
        sku: &str,
        quantity: u32,
        by: ReservedBy,
    ) -> Result<Reservation, ReserveError> {
        {
            let mut levels = lock(&self.levels);
            let level = levels.get_mut(sku).ok_or(ReserveError::UnknownSku)?;
            *level = level
                .checked_sub(quantity)
                .ok_or(ReserveError::InsufficientStock)?;
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let reservation = Reservation {
            id: format!("res-{n}"),
            sku: sku.to_owned(),
            quantity,
            client_id: by.client_id,
            subject: by.subject,
            actor: by.actor,
        };
        lock(&self.reservations).insert(reservation.id.clone(), reservation.clone());
        Ok(reservation)
    }

    /// A reservation by id.
    pub fn reservation(&self, id: &str) -> Option<Reservation> {
        lock(&self.reservations).get(id).cloned()
    }
}

/// Stock levels that do not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid stock levels: {0}")]
pub struct LevelsError(String);

/// Parses stock levels written as `sku=units,sku=units` (e.g. `widget=100,gadget=25`).
pub fn parse_levels(spec: &str) -> Result<HashMap<String, u32>, LevelsError> {
    let mut levels = HashMap::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (sku, units) = item
            .split_once('=')
            .ok_or_else(|| LevelsError(format!("{item:?} is not sku=units")))?;
        let sku = sku.trim();
        if sku.is_empty() {
            return Err(LevelsError(format!("{item:?} has an empty sku")));
        }
        let units = units
            .trim()
            .parse::<u32>()
            .map_err(|_| LevelsError(format!("{item:?}: units must be a non-negative integer")))?;
        if levels.insert(sku.to_owned(), units).is_some() {
            return Err(LevelsError(format!("sku {sku:?} is listed twice")));
        }
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reserve_is_all_or_nothing() {
        let stock = Stock::new(parse_levels("a=5, b=0").unwrap());
        let by = ReservedBy {
            client_id: Some("c1".into()),
            subject: Some("alice".into()),
            actor: Some("orders".into()),
        };
        let r = stock.reserve("a", 3, by).unwrap();
        assert_eq!((r.id.as_str(), r.quantity), ("res-1", 3));
        assert_eq!(stock.available("a"), Some(2));
        assert_eq!(
            stock.reserve("a", 3, ReservedBy::default()),
            Err(ReserveError::InsufficientStock)
        );
        assert_eq!(stock.available("a"), Some(2));
        let none = ReservedBy::default();
        assert_eq!(stock.reserve("zz", 1, none), Err(ReserveError::UnknownSku));
        let r = stock.reservation("res-1").unwrap();
        assert_eq!(r.client_id.unwrap(), "c1");
        assert_eq!(
            (r.subject.unwrap(), r.actor.unwrap()),
            ("alice".into(), "orders".into())
        );
    }

    #[test]
    fn levels_syntax() {
        assert_eq!(parse_levels("").unwrap().len(), 0);
        assert_eq!(parse_levels("x=1,y=2").unwrap()["y"], 2);
        assert!(parse_levels("x").is_err());
        assert!(parse_levels("x=-1").is_err());
        assert!(parse_levels("=1").is_err());
        assert!(parse_levels("x=1,x=2").is_err());
    }
}
