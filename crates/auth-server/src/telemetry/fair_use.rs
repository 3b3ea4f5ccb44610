//! Metrics of partners' use of the client-authenticated endpoints: requests refused by a rate
//! limit, and authentications with a client's previous secret during a rotation's overlap.

use metrics::{counter, describe_counter};

/// Counter: requests refused with 429, by `endpoint` (`token`, `introspect`, `revoke`) and `limit`
/// (`client`: the authenticated client's own limit; `address`: too many failed client
/// authentications from one address).
pub const RATE_LIMITED: &str = "auth_server_rate_limited_total";
/// Counter: client authentications with the previous secret (still in its rotation overlap), by
/// `client_id`: when it stops growing, the partner has switched to the new secret.
pub const PREVIOUS_SECRET_USED: &str = "auth_server_client_previous_secret_used_total";

/// Registers the help texts.
pub(super) fn describe() {
    describe_counter!(
        RATE_LIMITED,
        "Requests refused with 429 by endpoint (token, introspect, revoke) and limit (client: its own rate limit; address: failed client authentications from one address)."
    );
    describe_counter!(
        PREVIOUS_SECRET_USED,
        "Client authentications with the previous secret during a rotation's overlap, by client_id."
    );
}

/// Counts a request to `endpoint` refused by the `limit` (`"client"` or `"address"`).
pub fn rate_limited(endpoint: &'static str, limit: &'static str) {
    counter!(RATE_LIMITED, "endpoint" => endpoint, "limit" => limit).increment(1);
}

/// Counts an authentication of `client_id` with its previous secret. The label's values are
/// bounded by the registered clients (an unauthenticated caller never reaches this).
pub fn previous_secret_used(client_id: &str) {
    counter!(PREVIOUS_SECRET_USED, "client_id" => client_id.to_owned()).increment(1);
}
