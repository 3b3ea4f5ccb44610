//! End-to-end tests of the IdP over HTTP, each on SQLite and PostgreSQL.
//!
//! One test binary (each file under `tests/` would be its own binary and cost link time); one module
//! per capability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod account_apps;
mod account_races;
mod admin_api;
mod admin_client_grants;
mod admin_clients;
mod admin_keys;
mod admin_openapi;
mod admin_races;
mod admin_users;
mod admin_users_grants;
mod audit;
mod audit_cli;
mod audit_races;
mod backup;
mod bad_input;
mod browser;
mod browser_account;
mod browser_webauthn;
mod cli;
mod client_credentials;
mod health;
mod invariants;
mod invariants_accounts;
mod jwks_and_discovery;
mod kek_rewrap;
mod key_binding;
mod key_revocation;
mod logs;
mod metrics;
mod native_apps;
mod outage;
mod proxy_replicas;
mod proxy_replicas_kill;
mod revocation_feed;
mod rotation;
mod services;
mod slow_clients;
mod sso_bruteforce;
mod sso_codes;
mod sso_flow;
mod sso_forms;
mod sso_lifetimes;
mod sso_lockout_policy;
mod sso_redirects;
mod sso_refresh;
mod sso_revocation;
mod users;
mod verifier;
mod verifier_attacks;
mod verifier_metrics;
