//! The domain's data, beneath every layer: the [`records`] it keeps in storage and the protocol
//! [`values`] it reasons with. The domain owns their meaning and re-exports them
//! (`domain::records`, `domain::values`); they live here, importing nothing else of this crate, so
//! that `store` can take and return them without importing the layer above it.

pub mod audit;
pub mod auth_method;
pub mod records;
pub mod registration;
pub mod token_exchange;
pub mod values;
