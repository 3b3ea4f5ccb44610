//! Tests of loading and validating the configuration.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[test]
fn embedded_defaults_load_and_derive_a_max_age_below_the_lead() {
    let c = Config::from_toml_and_env(DEFAULT_TOML, env(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server.issuer, "http://127.0.0.1:8080");
    assert!(c.database.url.starts_with("sqlite:"));
    let max_age = c.jwks_max_age_secs();
    assert!(max_age > 0);
    assert!(max_age + c.keys.refresh_interval_secs < c.keys.publish_lead_secs);
}

#[test]
fn environment_overrides_are_typed() {
    let c = Config::from_toml_and_env(
        DEFAULT_TOML,
        env(&[
            ("AUTH_SERVER_DATABASE_URL", "postgres://db/x"),
            ("AUTH_SERVER_TOKENS_ACCESS_TOKEN_TTL_SECS", "300"),
            ("UNRELATED", "1"),
            ("AUTH_SERVER_LOG", "debug"),
            ("AUTH_SERVER_CONFIG", "x.toml"),
            ("AUTH_SERVER_KEYS_KEK", "not-a-setting"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.database.url, "postgres://db/x");
    assert_eq!(c.tokens.access_token_ttl_secs, 300);
}

#[test]
fn errors_name_the_bad_key_or_variable() {
    let err = |pairs: &[(&str, &str)]| {
        Config::from_toml_and_env(DEFAULT_TOML, env(pairs))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        err(&[("AUTH_SERVER_TOKENS_ACCESS_TOKEN_TTL_SECS", "soon")])
            .contains("AUTH_SERVER_TOKENS_ACCESS_TOKEN_TTL_SECS")
    );
    assert!(err(&[("AUTH_SERVER_NOPE_X", "1")]).contains("AUTH_SERVER_NOPE_X"));
    assert!(err(&[("AUTH_SERVER_SERVER_ISSUER", "http://example.com")]).contains("server.issuer"));
    assert!(err(&[("AUTH_SERVER_SERVER_ISSUER", "https://idp.example.com/")]).contains("slash"));
    assert!(
        err(&[("AUTH_SERVER_KEYS_PUBLISH_LEAD_SECS", "60")]).contains("keys.publish_lead_secs")
    );
    assert!(err(&[("AUTH_SERVER_KEYS_RSA_BITS", "1024")]).contains("keys.rsa_bits"));
    assert!(
        err(&[("AUTH_SERVER_SERVER_HEADER_READ_TIMEOUT_SECS", "0")])
            .contains("server.header_read_timeout_secs")
    );
    assert!(
        err(&[("AUTH_SERVER_SERVER_IDLE_TIMEOUT_SECS", "86400")])
            .contains("server.idle_timeout_secs")
    );
    assert!(err(&[("AUTH_SERVER_SERVER_MAX_CONNECTIONS", "0")]).contains("server.max_connections"));
    assert!(err(&[("AUTH_SERVER_PASSWORDS_MEMORY_KIB", "4096")]).contains("passwords.memory_kib"));
    let partial = Config::from_toml_and_env("[tokens]\naccess_token_ttl_secs = 60\n", env(&[]));
    assert_eq!(
        partial.ok().map(|c| c.tokens.access_token_ttl_secs),
        Some(60)
    );
    let typo = Config::from_toml_and_env("[server]\nbnd = 1\n", env(&[]));
    assert!(
        typo.err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("bnd")
    );
}

/// Regression (fuzz target `config`): a huge `keys.publish_lead_secs` overflowed
/// `2 * publish_lead_secs` (a panic in debug builds, a wrapped comparison in release).
#[test]
fn a_huge_publish_lead_is_refused_without_overflow() {
    for lead in ["9223372036854775807", "4611686018427387904"] {
        let e = Config::from_toml_and_env(
            DEFAULT_TOML,
            env(&[("AUTH_SERVER_KEYS_PUBLISH_LEAD_SECS", lead)]),
        );
        let e = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("keys.rotation_period_secs"), "{lead}: {e}");
    }
    let e = Config::from_toml_and_env(
        "[keys]\nrotation_period_secs = 9223372036854775807\npublish_lead_secs = 4611686018427387904\n",
        env(&[]),
    );
    let e = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("keys.rotation_period_secs"), "{e}");
}

#[test]
fn production_example_loads() {
    let text = include_str!("../../../../config/production.example.toml");
    let c = Config::from_toml_and_env(text, env(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.server.issuer.starts_with("https://"));
    assert!(c.database.url.starts_with("postgres://"));
    assert_eq!(c.jwks_max_age_secs(), 3570);
}
