//! Every metric's name, with its help text. The README's metric table lists the same.

use metrics::{describe_counter, describe_gauge, describe_histogram};

/// Histogram: HTTP request latency by `method`, `route` (the route template) and `status`; its
/// `_count` is the request counter.
pub const HTTP_DURATION: &str = "auth_server_http_request_duration_seconds";
/// Counter: access tokens issued, by `grant` and `alg`.
pub const TOKENS_ISSUED: &str = "auth_server_tokens_issued_total";
/// Counter: sign-in attempts by `outcome`.
pub const SIGN_INS: &str = "auth_server_sign_ins_total";
/// Counter: client-cache lookups by `result` (`hit`, `miss`).
pub const CLIENT_CACHE_LOOKUPS: &str = "auth_server_client_cache_lookups_total";
/// Counter: database errors by `kind`.
pub const DB_ERRORS: &str = "auth_server_db_errors_total";
/// Histogram: seconds a job waited for a thread, by `pool` (`argon2`, `rsa-sign`).
pub const POOL_WAIT: &str = "auth_server_pool_wait_seconds";
/// Counter: back-channel logout tokens by `outcome` (`delivered`, `retried`, `failed`).
pub const BACKCHANNEL_LOGOUTS: &str = "auth_server_backchannel_logouts_total";
/// Gauge: entries in the revocation feed last rendered, by `kind`.
pub const REVOCATION_FEED_ENTRIES: &str = "auth_server_revocation_feed_entries";
/// Gauge: bytes of the revocation feed last rendered.
pub const REVOCATION_FEED_BYTES: &str = "auth_server_revocation_feed_bytes";
/// Counter: revocation feed answers by `answer` (`full`, `incremental`, `not_modified`).
pub const REVOCATION_FEED_ANSWERS: &str = "auth_server_revocation_feed_answers_total";

/// Gauge (at scrape): build information, `version` label, value 1.
pub const BUILD_INFO: &str = "auth_server_build_info";
/// Gauge (at scrape): jobs waiting for a thread (not yet started), by `pool`.
pub const POOL_QUEUE_DEPTH: &str = "auth_server_pool_queue_depth";
/// Gauge (at scrape): password checks admitted (queued or running).
pub const PASSWORD_HASH_IN_FLIGHT: &str = "auth_server_password_hash_in_flight";
/// Gauge (at scrape): most password checks admitted at once (threads + queue); beyond: busy.
pub const PASSWORD_HASH_CAPACITY: &str = "auth_server_password_hash_capacity";
/// Gauge (at scrape): database connections by `state` (`in_use`, `idle`).
pub const DB_POOL_CONNECTIONS: &str = "auth_server_db_pool_connections";
/// Gauge (at scrape): the pool's connection limit.
pub const DB_POOL_MAX: &str = "auth_server_db_pool_max_connections";
/// Gauge (at scrape): seconds since each held key activated (negative while pending), by `alg`,
/// `kid` and `state`.
pub const KEY_AGE: &str = "auth_server_signing_key_age_seconds";
/// Gauge (at scrape): seconds until a new key next starts signing, by `alg`.
pub const KEY_NEXT_ACTIVATION: &str = "auth_server_signing_key_next_activation_seconds";
/// Gauge (at scrape): seconds until the key job creates the next key, by `alg`.
pub const KEY_NEXT_ROTATION: &str = "auth_server_signing_key_next_rotation_seconds";

/// Registers the help texts of the recorder's metrics.
pub(super) fn describe_all() {
    describe_histogram!(
        HTTP_DURATION,
        "HTTP request latency (to the response head) by method, route template and status; _count counts requests."
    );
    describe_counter!(
        TOKENS_ISSUED,
        "Access tokens issued, by grant and algorithm."
    );
    describe_counter!(
        SIGN_INS,
        "Sign-in attempts by outcome: success, rejected (wrong password or unknown user), locked, slowed, busy, csrf, invalid, error."
    );
    describe_counter!(
        BACKCHANNEL_LOGOUTS,
        "Back-channel logout tokens by outcome: delivered, retried (an attempt failed, another follows), failed (given up)."
    );
    describe_counter!(
        CLIENT_CACHE_LOOKUPS,
        "Client lookups by result: hit (from memory) or miss (from the database)."
    );
    describe_counter!(
        DB_ERRORS,
        "Database errors by kind: acquire (pool timeout), connection, conflict (unique constraint), query."
    );
    describe_histogram!(
        POOL_WAIT,
        "Seconds a job waited for a thread, by pool: argon2 (password checks), rsa-sign (RS256 signatures)."
    );
    describe_gauge!(
        REVOCATION_FEED_ENTRIES,
        "Entries in the revocation feed last rendered, by kind: tokens, subjects, keys."
    );
    describe_gauge!(
        REVOCATION_FEED_BYTES,
        "Bytes of the revocation feed last rendered."
    );
    describe_counter!(
        REVOCATION_FEED_ANSWERS,
        "Revocation feed answers by kind: full (the whole list), incremental (changes since a cursor), not_modified (304)."
    );
}
