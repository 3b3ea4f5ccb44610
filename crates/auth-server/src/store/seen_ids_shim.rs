//! TEMPORARY stand-in for the coordinator's `store/seen_ids.rs` (lands on main at about 04:05 UTC),
//! so this branch compiles until it is rebased; deleted then. In memory, one process only.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::{Store, StoreError};

static SEEN: OnceLock<Mutex<HashMap<(String, String), i64>>> = OnceLock::new();

impl Store {
    /// True the first time (scope, id) is seen among unexpired entries.
    pub async fn remember_once(
        &self,
        scope: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut m = SEEN
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| StoreError::Corrupt("poisoned".into()))?;
        let key = (scope.to_owned(), id.to_owned());
        match m.get(&key) {
            Some(until) if *until > now => Ok(false),
            _ => {
                m.insert(key, expires_at);
                Ok(true)
            }
        }
    }
}
