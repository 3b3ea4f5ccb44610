//! Schema migrations, one per file. They run unchanged on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod kit;
mod m0001_clients;
mod m0002_signing_keys;
mod m0003_users;
mod m0004_client_redirects;
mod m0005_sso;
pub(crate) mod m0006_invariants;
mod m0007_key_binding;
mod m0008_pending_consents;
mod m0010_revocation_shares;
mod m0011_audit_events;
mod m0012_backchannel_logout;
mod m0013_account_sessions;
mod m0014_mfa;
mod m0015_webauthn;
mod m0016_client_origins;
mod m0017_seen_ids;
mod m0018_client_auth_method;
mod m0019_client_secret_rotation;
mod m0020_dpop;
mod m0021_pushed_requests;
mod m0022_dynamic_registration;
mod m0023_token_exchange;
mod m0024_revocation_cursor;

/// All migrations in order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_clients::Migration),
            Box::new(m0002_signing_keys::Migration),
            Box::new(m0003_users::Migration),
            Box::new(m0004_client_redirects::Migration),
            Box::new(m0005_sso::Migration),
            Box::new(m0006_invariants::Migration),
            Box::new(m0007_key_binding::Migration),
            Box::new(m0008_pending_consents::Migration),
            Box::new(m0010_revocation_shares::Migration),
            Box::new(m0011_audit_events::Migration),
            Box::new(m0012_backchannel_logout::Migration),
            Box::new(m0013_account_sessions::Migration),
            Box::new(m0014_mfa::Migration),
            Box::new(m0015_webauthn::Migration),
            Box::new(m0016_client_origins::Migration),
            Box::new(m0017_seen_ids::Migration),
            Box::new(m0018_client_auth_method::Migration),
            Box::new(m0019_client_secret_rotation::Migration),
            Box::new(m0020_dpop::Migration),
            Box::new(m0021_pushed_requests::Migration),
            Box::new(m0022_dynamic_registration::Migration),
            Box::new(m0023_token_exchange::Migration),
            Box::new(m0024_revocation_cursor::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names recorded in `seaql_migrations` of databases already migrated.
    #[test]
    fn migrations_keep_their_recorded_names() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "m0001_clients",
                "m0002_signing_keys",
                "m0003_users",
                "m0004_client_redirects",
                "m0005_sso",
                "m0006_invariants",
                "m0007_key_binding",
                "m0008_pending_consents",
                "m0010_revocation_shares",
                "m0011_audit_events",
                "m0012_backchannel_logout",
                "m0013_account_sessions",
                "m0014_mfa",
                "m0015_webauthn",
                "m0016_client_origins",
                "m0017_seen_ids",
                "m0018_client_auth_method",
                "m0019_client_secret_rotation",
                "m0020_dpop",
                "m0021_pushed_requests",
                "m0022_dynamic_registration",
                "m0023_token_exchange",
                "m0024_revocation_cursor",
            ]
        );
    }
}
