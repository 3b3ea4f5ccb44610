//! The authorization-request validator (`auth_server::domain::sso::request::validate`).
//!
//! Parameters are drawn mostly from meaningful values (so that validation gets deep), sometimes
//! arbitrary; the client's flags vary. Properties:
//!
//! - never a redirect to a URI the client has not registered (RFC 6749 §4.1.2.1): an unknown or
//!   disabled client, or an unregistered `redirect_uri`, is always an error page;
//! - an error redirect starts with the registered URI, carries `iss` and no fragment;
//! - an accepted request has `response_type=code`, a registered redirect URI, only allowed scopes
//!   and resources, an S256 challenge of 43 characters whenever PKCE is required, no control
//!   characters in `state`/`nonce`/`login_hint`, a non-negative `max_age`, and `prompt=none` alone.
#![no_main]

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::Alg;
use auth_server::domain::clients::Client;
use auth_server::domain::sso::pkce::is_valid_challenge;
use auth_server::domain::sso::request::{AuthorizeParams, RequestError, validate};
use libfuzzer_sys::fuzz_target;

const REDIRECTS: [&str; 2] = ["https://app.example/cb", "http://127.0.0.1:8080/cb?x=1"];
const RESOURCES: [&str; 1] = ["https://api.example/orders"];
const ISSUER: &str = "https://idp.example";

#[derive(Debug, Arbitrary)]
enum Value {
    Pick(u8),
    Any(String),
}

fn choices(name: &str) -> &'static [&'static str] {
    match name {
        "response_type" => &["code", "token", "code id_token", ""],
        "client_id" => &["app"],
        "redirect_uri" => &[
            "https://app.example/cb",
            "http://127.0.0.1:8080/cb?x=1",
            "https://app.example/cb/",
            "https://evil.example/cb",
        ],
        "scope" => &[
            "openid",
            "openid profile",
            "openid openid",
            "admin",
            "openid  profile",
            "",
        ],
        "state" => &["s1", "a\0b", "é", ""],
        "nonce" => &["n", "\u{7f}", ""],
        "code_challenge" => &[
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
        ],
        "code_challenge_method" => &["S256", "plain", "s256"],
        "prompt" => &[
            "none",
            "login",
            "consent",
            "login consent",
            "none login",
            "select_account",
            "",
        ],
        "max_age" => &["0", "3600", "-1", "+5", "99999999999999999999"],
        "login_hint" => &["user@example.com"],
        "response_mode" => &["query", "fragment"],
        "resource" => &[
            "https://api.example/orders",
            "https://api.example/other",
            "https://api#x",
        ],
        _ => &["x"],
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    params: Vec<(u8, Option<Value>)>,
    known_client: bool,
    enabled: bool,
    public: bool,
    require_pkce: bool,
    repeated: bool,
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    let mut params = AuthorizeParams::default();
    for (i, v) in input.params {
        let names = AuthorizeParams::NAMES;
        let name = names[usize::from(i) % names.len()];
        let value = match v {
            None => String::new(),
            Some(Value::Pick(j)) => {
                let c = choices(name);
                c[usize::from(j) % c.len()].to_owned()
            }
            Some(Value::Any(s)) => s,
        };
        params.set(name, value);
    }
    params.repeated = input.repeated;
    let client = Arc::new(Client {
        id: "app".into(),
        name: "App".into(),
        secret_sha256: vec![1],
        enabled: input.enabled,
        alg: Alg::Es256,
        allowed_scopes: vec!["openid".into(), "profile".into()],
        default_scopes: vec!["openid".into()],
        allowed_resources: RESOURCES.iter().map(|r| (*r).to_owned()).collect(),
        redirect_uris: REDIRECTS.iter().map(|r| (*r).to_owned()).collect(),
        post_logout_redirect_uris: vec![],
        allowed_origins: vec![],
        public: input.public,
        first_party: false,
        always_refresh: false,
        created_at: 0,
        updated_at: 0,
    });
    let known = input.known_client.then(|| client.clone());
    let registered = params
        .redirect_uri
        .as_deref()
        .is_some_and(|r| REDIRECTS.contains(&r));
    let trusted = input.known_client && input.enabled && registered;
    let result = validate(params.clone(), known, ISSUER, input.require_pkce);
    match result {
        Err(RequestError::Page(_)) => assert!(!trusted, "error page for a trusted request"),
        Err(RequestError::Redirect(to)) => {
            assert!(trusted, "redirected for an untrusted request: {to}");
            let base = params.redirect_uri.as_deref().unwrap_or_default();
            assert!(to.starts_with(base), "{to} does not start with {base}");
            assert!(to.contains("error="), "{to}");
            assert!(to.ends_with("&iss=https%3A%2F%2Fidp.example"), "{to}");
            assert!(!to.contains('#'), "{to}");
        }
        Ok(r) => {
            assert!(trusted);
            assert!(!params.repeated);
            assert_eq!(params.response_type.as_deref(), Some("code"));
            assert!(REDIRECTS.contains(&r.redirect_uri.as_str()));
            assert!(r.scopes.iter().all(|s| client.allowed_scopes.contains(s)));
            let unique: std::collections::HashSet<&String> = r.scopes.iter().collect();
            assert_eq!(unique.len(), r.scopes.len(), "duplicate scopes");
            assert!(
                r.resources
                    .iter()
                    .all(|s| client.allowed_resources.contains(s))
            );
            if client.public || input.require_pkce {
                assert!(r.code_challenge.is_some(), "PKCE required but absent");
            }
            if let Some(c) = &r.code_challenge {
                assert!(is_valid_challenge(c));
                assert_eq!(params.code_challenge_method.as_deref(), Some("S256"));
            }
            for v in [&r.state, &r.nonce, &r.login_hint].into_iter().flatten() {
                assert!(!v.chars().any(char::is_control) && v.len() <= 2048);
            }
            assert!(r.max_age.is_none_or(|m| m >= 0));
            if r.prompt.none {
                assert!(!r.prompt.login && !r.prompt.consent);
                assert_eq!(params.prompt.as_deref(), Some("none"));
            }
            assert!(params.request.is_none() && params.request_uri.is_none());
            assert!(params.response_mode.as_deref().is_none_or(|m| m == "query"));
        }
    }
});
