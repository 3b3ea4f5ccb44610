#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use super::*;

fn env(vars: &[(&str, &str)]) -> ServiceEnv {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ServiceEnv::with_lookup("ORDERS", move |name| map.get(name).cloned())
}

const ISS: &str = "http://127.0.0.1:8080";
const AUD: &str = "https://orders.example.com";

#[test]
fn defaults_and_plain_variables() {
    let c = ServiceConfig::from_env(&env(&[]), ISS, AUD).unwrap();
    assert_eq!((c.issuer.as_str(), c.audience()), (ISS, AUD));
    assert!(c.client.is_none() && c.external_url.is_none());
    assert!(matches!(c.token_endpoint(), TokenEndpoint::Discover { issuer } if issuer == ISS));

    let c = ServiceConfig::from_env(
        &env(&[
            ("ORDERS_ISSUER", "https://idp.example.com"),
            ("ORDERS_AUDIENCE", "https://a.example, https://b.example"),
            ("ORDERS_CLIENT_ID", "orders"),
            ("ORDERS_CLIENT_SECRET", "s3cret"),
            ("ORDERS_TOKEN_ENDPOINT", "https://idp.example.com/token"),
            ("ORDERS_EXTERNAL_URL", ""),
        ]),
        ISS,
        AUD,
    )
    .unwrap();
    assert_eq!(c.audiences, ["https://a.example", "https://b.example"]);
    assert_eq!(c.client_auth().unwrap().client_id(), "orders");
    assert!(c.external_url.is_none(), "empty is unset");
    assert!(matches!(c.token_endpoint(), TokenEndpoint::Url(u) if u.ends_with("/token")));
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn files_hold_secrets() {
    let dir = std::env::temp_dir().join(format!("svc-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret");
    std::fs::write(&path, "from-a-file\n").unwrap();
    let p = path.to_str().unwrap();
    let c = ServiceConfig::from_env(
        &env(&[
            ("ORDERS_CLIENT_ID", "orders"),
            ("ORDERS_CLIENT_SECRET_FILE", p),
        ]),
        ISS,
        AUD,
    )
    .unwrap();
    assert_eq!(c.client.unwrap().1, "from-a-file");
    // Both forms: refused, naming the variable.
    let e = ServiceConfig::from_env(
        &env(&[
            ("ORDERS_CLIENT_ID", "orders"),
            ("ORDERS_CLIENT_SECRET", "x"),
            ("ORDERS_CLIENT_SECRET_FILE", p),
        ]),
        ISS,
        AUD,
    )
    .unwrap_err();
    assert_eq!(
        e,
        ConfigError::Conflict {
            var: "ORDERS_CLIENT_SECRET".into()
        }
    );
    // A value read from a file is never echoed.
    std::fs::write(&path, "not-a-number").unwrap();
    let e = env(&[("ORDERS_TOKEN_REFRESH_MARGIN_SECS_FILE", p)])
        .parse::<u64>("TOKEN_REFRESH_MARGIN_SECS", "a number of seconds")
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::Invalid { var, .. } if var == "ORDERS_TOKEN_REFRESH_MARGIN_SECS_FILE")
    );
    assert!(!e.to_string().contains("not-a-number"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
    // A missing file names the variable and the path.
    let e = env(&[("ORDERS_CLIENT_SECRET_FILE", "/nonexistent/secret")])
        .get("CLIENT_SECRET")
        .unwrap_err();
    assert!(matches!(&e, ConfigError::File { var, path, .. }
        if var == "ORDERS_CLIENT_SECRET_FILE" && path == "/nonexistent/secret"));
}

#[test]
fn typed_errors_name_the_variable() {
    let e = ServiceConfig::from_env(&env(&[("ORDERS_CLIENT_ID", "orders")]), ISS, AUD).unwrap_err();
    assert_eq!(
        e,
        ConfigError::Missing {
            var: "ORDERS_CLIENT_SECRET".into()
        }
    );
    assert!(e.to_string().contains("ORDERS_CLIENT_SECRET_FILE"));
    let e = ServiceConfig::from_env(
        &env(&[("ORDERS_ISSUER", "http://idp.example.com")]),
        ISS,
        AUD,
    )
    .unwrap_err();
    assert!(matches!(&e, ConfigError::Invalid { var, .. } if var == "ORDERS_ISSUER"));
    let e = ServiceConfig::from_env(&env(&[("ORDERS_AUDIENCE", " , ")]), ISS, AUD).unwrap_err();
    assert!(matches!(&e, ConfigError::Invalid { var, .. } if var == "ORDERS_AUDIENCE"));
    let e = env(&[("ORDERS_X_SECS", "ten")])
        .parse::<u64>("X_SECS", "a number")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "ORDERS_X_SECS: must be a number, not \"ten\""
    );
    assert_eq!(
        env(&[]).require("CLIENT_ID").unwrap_err(),
        ConfigError::Missing {
            var: "ORDERS_CLIENT_ID".into()
        }
    );
}
