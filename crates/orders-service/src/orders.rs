//! The domain: orders, each owned by the subject of the token that placed it, in memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;

/// A placed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// `ord-<n>`, unique in this process.
    pub id: String,
    /// The SKU ordered.
    pub sku: String,
    /// How many units.
    pub quantity: u32,
    /// The inventory reservation backing it.
    pub reservation_id: String,
    /// The `sub` of the token that placed it; only it can see the order.
    pub owner: String,
}

/// Every order, in creation order.
#[derive(Debug, Default)]
pub struct Orders {
    orders: Mutex<Vec<Order>>,
    next_id: AtomicU64,
}

impl Orders {
    fn lock(&self) -> MutexGuard<'_, Vec<Order>> {
        // A poisoned lock only means a request panicked; a push is atomic, the data is consistent.
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new order and returns it.
    pub fn add(&self, owner: &str, sku: &str, quantity: u32, reservation_id: String) -> Order {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let order = Order {
            id: format!("ord-{n}"),
            sku: sku.to_owned(),
            quantity,
            reservation_id,
            owner: owner.to_owned(),
        };
        self.lock().push(order.clone());
        order
    }

    /// The orders of `owner`.
    pub fn list(&self, owner: &str) -> Vec<Order> {
        self.lock()
            .iter()
            .filter(|o| o.owner == owner)
            .cloned()
            .collect()
    }

    /// One order of `owner` (someone else's is `None`, like one that does not exist).
    pub fn get(&self, owner: &str, id: &str) -> Option<Order> {
        self.lock()
            .iter()
            .find(|o| o.id == id && o.owner == owner)
            .cloned()
    }
}
