use serde_json::json;

use super::*;

fn meta(v: serde_json::Value) -> ClientMetadata {
    serde_json::from_value(v).unwrap()
}

fn policy() -> Vec<String> {
    vec!["openid".into(), "api.read".into(), "offline_access".into()]
}

#[test]
fn defaults_are_a_confidential_code_client_with_the_policy_scopes() {
    let m = check_metadata(
        meta(json!({"redirect_uris": ["https://a.example/cb"]})),
        &policy(),
    )
    .unwrap();
    assert!(!m.public);
    assert_eq!(m.scopes, policy());
    assert_eq!(m.redirect_uris, ["https://a.example/cb"]);
    assert_eq!(m.name, None);
}

#[test]
fn client_credentials_only_needs_no_redirect_uri() {
    let m = check_metadata(
        meta(json!({"grant_types": ["client_credentials"], "scope": "api.read"})),
        &policy(),
    )
    .unwrap();
    assert_eq!(m.scopes, ["api.read"]);
    assert!(m.redirect_uris.is_empty());
}

#[test]
fn refusals() {
    let redirect = |v| {
        matches!(
            check_metadata(meta(v), &policy()),
            Err(MetadataError::RedirectUri(_))
        )
    };
    let metadata = |v| {
        matches!(
            check_metadata(meta(v), &policy()),
            Err(MetadataError::Metadata(_))
        )
    };
    assert!(
        redirect(json!({})),
        "authorization_code without redirect_uris"
    );
    assert!(redirect(
        json!({"redirect_uris": ["http://evil.example/cb"]})
    ));
    assert!(redirect(
        json!({"redirect_uris": ["https://a.example/cb#f"]})
    ));
    let cb = json!(["https://a.example/cb"]);
    assert!(metadata(json!({"redirect_uris": cb, "scope": "admin"})));
    assert!(metadata(
        json!({"redirect_uris": cb, "scope": "bad\"scope"})
    ));
    assert!(metadata(
        json!({"redirect_uris": cb, "grant_types": ["implicit"]})
    ));
    assert!(metadata(
        json!({"redirect_uris": cb, "response_types": ["token"]})
    ));
    assert!(metadata(json!({"redirect_uris": cb, "response_types": []})));
    assert!(metadata(
        json!({"grant_types": ["client_credentials"], "response_types": ["code"]})
    ));
    assert!(metadata(json!({"grant_types": ["refresh_token"]})));
    assert!(metadata(
        json!({"grant_types": ["client_credentials"], "redirect_uris": cb})
    ));
    assert!(metadata(
        json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]})
    ));
    assert!(metadata(
        json!({"redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"})
    ));
    assert!(metadata(json!({"redirect_uris": cb, "jwks": {"keys": []}})));
    assert!(metadata(
        json!({"redirect_uris": cb, "jwks_uri": "https://a.example/jwks"})
    ));
    assert!(metadata(
        json!({"redirect_uris": cb, "dpop_bound_access_tokens": true})
    ));
    assert!(metadata(
        json!({"redirect_uris": cb, "require_pushed_authorization_requests": true})
    ));
    assert!(metadata(json!({"redirect_uris": cb, "client_name": " "})));
    assert!(metadata(
        json!({"redirect_uris": cb, "post_logout_redirect_uris": ["javascript:x"]})
    ));
    // False is the default of both, so it is accepted.
    assert!(
        check_metadata(
            meta(
                json!({"redirect_uris": cb, "dpop_bound_access_tokens": false,
            "require_pushed_authorization_requests": false})
            ),
            &policy()
        )
        .is_ok()
    );
}
