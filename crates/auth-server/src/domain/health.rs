//! Readiness: whether this replica can serve, for `/readyz`.

use crate::store::{Store, StoreError};

/// Checks the dependencies a request needs (today: the database).
#[derive(Debug, Clone)]
pub struct Health {
    store: Store,
}

impl Health {
    /// Readiness over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// `Ok` when the database answers.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}
