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

/// A fresh directory for secret files, removed by the caller.
fn secret_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-config-secrets-{}",
        crate::domain::random::token(8)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn file_variables_read_values_from_files() {
    let dir = secret_dir();
    let url = dir.join("database_url");
    std::fs::write(&url, "postgres://app:s3cret@db/auth\n").unwrap_or_default();
    let ttl = dir.join("ttl");
    std::fs::write(&ttl, "300\r\n").unwrap_or_default();
    let path = |p: &std::path::Path| p.display().to_string();
    let c = Config::from_toml_and_env(
        DEFAULT_TOML,
        vec![
            ("AUTH_SERVER_DATABASE_URL_FILE".into(), path(&url)),
            (
                "AUTH_SERVER_TOKENS_ACCESS_TOKEN_TTL_SECS_FILE".into(),
                path(&ttl),
            ),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.database.url, "postgres://app:s3cret@db/auth",
        "newline trimmed"
    );
    assert_eq!(c.tokens.access_token_ttl_secs, 300);
    let _ = std::fs::remove_dir_all(dir);
}

/// `AUTH_SERVER_KEYS_KEK_FILE` is the setting `keys.kek_file` (the KEK is in that file: the same
/// meaning the generic `_FILE` rule gives it), and likewise `AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE`.
#[test]
fn kek_file_variables_are_the_kek_file_settings() {
    let c = Config::from_toml_and_env(
        DEFAULT_TOML,
        env(&[
            ("AUTH_SERVER_KEYS_KEK_FILE", "/run/secrets/kek"),
            (
                "AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE",
                "/run/secrets/kek_previous",
            ),
            ("AUTH_SERVER_KEYS_KEK_PREVIOUS", "ignored-by-the-config"),
        ]),
    );
    // KEYS_KEK_PREVIOUS and its _FILE form are both set: refused.
    let e = c.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.contains("AUTH_SERVER_KEYS_KEK_PREVIOUS ")
            && e.contains("AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE"),
        "{e}"
    );
    let c = Config::from_toml_and_env(
        DEFAULT_TOML,
        env(&[
            ("AUTH_SERVER_KEYS_KEK_FILE", "/run/secrets/kek"),
            (
                "AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE",
                "/run/secrets/kek_previous",
            ),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.keys.kek_file, Path::new("/run/secrets/kek"));
    assert_eq!(
        c.keys.kek_previous_file,
        Path::new("/run/secrets/kek_previous")
    );
    let d = Config::from_toml_and_env(DEFAULT_TOML, env(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.keys.kek_previous_file,
        Path::new(""),
        "no previous KEKs by default"
    );
}

#[test]
fn file_variable_errors_name_variables_and_paths_never_contents() {
    let err = |pairs: Vec<(String, String)>| {
        Config::from_toml_and_env(DEFAULT_TOML, pairs)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let dir = secret_dir();
    let secret = dir.join("secret");
    std::fs::write(&secret, "hunter2-not-a-number\n").unwrap_or_default();
    let s = secret.display().to_string();
    let both = err(vec![
        ("AUTH_SERVER_DATABASE_URL".into(), "sqlite://x".into()),
        ("AUTH_SERVER_DATABASE_URL_FILE".into(), s.clone()),
    ]);
    assert!(
        both.contains("AUTH_SERVER_DATABASE_URL ")
            && both.contains("AUTH_SERVER_DATABASE_URL_FILE"),
        "{both}"
    );
    let both_kek = err(env(&[
        ("AUTH_SERVER_KEYS_KEK", "x"),
        ("AUTH_SERVER_KEYS_KEK_FILE", "/run/secrets/kek"),
    ]));
    assert!(both_kek.contains("AUTH_SERVER_KEYS_KEK_FILE"), "{both_kek}");
    let missing = dir.join("missing").display().to_string();
    let unreadable = err(vec![(
        "AUTH_SERVER_DATABASE_URL_FILE".into(),
        missing.clone(),
    )]);
    assert!(
        unreadable.contains("AUTH_SERVER_DATABASE_URL_FILE") && unreadable.contains(&missing),
        "{unreadable}"
    );
    let typed = err(vec![(
        "AUTH_SERVER_TOKENS_ACCESS_TOKEN_TTL_SECS_FILE".into(),
        s.clone(),
    )]);
    assert!(
        typed.contains("AUTH_SERVER_TOKENS_ACCESS_TOKEN_TTL_SECS_FILE"),
        "{typed}"
    );
    assert!(
        !typed.contains("hunter2"),
        "the contents are never shown: {typed}"
    );
    let not_a_setting = err(vec![("AUTH_SERVER_NOPE_FILE".into(), s)]);
    assert!(
        not_a_setting.contains("AUTH_SERVER_NOPE_FILE"),
        "{not_a_setting}"
    );
    assert!(!not_a_setting.contains("hunter2"), "{not_a_setting}");
    let _ = std::fs::remove_dir_all(dir);
}
