//! Every malformed or hostile token request gets the standard error, and nothing else.

use auth_core::Alg;
use reqwest::Response;
use tests::{Backend, TestServer, basic};

tests::on_both_backends!(
    hostile_requests_get_standard_errors,
    disabled_and_rotated_clients_are_refused,
);

/// Asserts an RFC 6749 §5.2 error: status, JSON body with `error`, no-store, and the Basic challenge
/// on every 401. Returns the body.
async fn expect_error(res: Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status(), status, "expected {status} {code}");
    let h = res.headers().clone();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(h["cache-control"], "no-store");
    if status == 401 {
        assert!(
            h["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
    }
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "body: {body}");
    body
}

async fn hostile_requests_get_standard_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s
        .client("svc", Alg::Es256, &["read"], &["https://api.example"])
        .await;
    let auth = basic(&id, &secret);
    let cc = "grant_type=client_credentials";

    // Client authentication.
    let unknown = s
        .post_token(cc, &[("authorization", &basic("nobody", &secret))])
        .await;
    let b = expect_error(unknown, 401, "invalid_client").await;
    let wrong = s
        .post_token(cc, &[("authorization", &basic(&id, "wrong"))])
        .await;
    assert_eq!(
        expect_error(wrong, 401, "invalid_client").await,
        b,
        "same answer for unknown and wrong"
    );
    expect_error(s.post_token(cc, &[]).await, 401, "invalid_client").await;
    expect_error(
        s.post_token(format!("{cc}&client_id={id}"), &[]).await,
        401,
        "invalid_client",
    )
    .await;
    expect_error(
        s.post_token(cc, &[("authorization", "Basic !!notbase64")])
            .await,
        401,
        "invalid_client",
    )
    .await;
    expect_error(
        s.post_token(cc, &[("authorization", "Bearer abc")]).await,
        401,
        "invalid_client",
    )
    .await;
    // Secret sent twice (header and body): more than one method.
    let twice = s
        .post_token(
            format!("{cc}&client_secret={secret}"),
            &[("authorization", &auth)],
        )
        .await;
    expect_error(twice, 400, "invalid_request").await;
    let other_id = s
        .post_token(format!("{cc}&client_id=other"), &[("authorization", &auth)])
        .await;
    expect_error(other_id, 400, "invalid_request").await;
    let huge_secret = "x".repeat(4000);
    let r = s
        .post_token(cc, &[("authorization", &basic(&id, &huge_secret))])
        .await;
    expect_error(r, 401, "invalid_client").await;

    // Grant type.
    expect_error(
        s.post_token("", &[("authorization", &auth)]).await,
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        s.post_token("grant_type=password", &[("authorization", &auth)])
            .await,
        400,
        "unsupported_grant_type",
    )
    .await;
    let dup = s
        .post_token(format!("{cc}&{cc}"), &[("authorization", &auth)])
        .await;
    expect_error(dup, 400, "invalid_request").await;

    // Scope and resource.
    let r = s
        .post_token(format!("{cc}&scope=admin"), &[("authorization", &auth)])
        .await;
    expect_error(r, 400, "invalid_scope").await;
    let r = s
        .post_token(
            format!("{cc}&scope=read+admin"),
            &[("authorization", &auth)],
        )
        .await;
    expect_error(r, 400, "invalid_scope").await;
    let r = s
        .post_token(
            format!("{cc}&scope=read&scope=read"),
            &[("authorization", &auth)],
        )
        .await;
    expect_error(r, 400, "invalid_request").await;
    let r = s
        .post_token(
            format!("{cc}&resource=https://evil.example"),
            &[("authorization", &auth)],
        )
        .await;
    expect_error(r, 400, "invalid_target").await;
    let r = s
        .post_token(
            format!("{cc}&resource=not-absolute"),
            &[("authorization", &auth)],
        )
        .await;
    expect_error(r, 400, "invalid_target").await;
    let r = s
        .post_token(
            format!("{cc}&resource=https://api.example%23frag"),
            &[("authorization", &auth)],
        )
        .await;
    expect_error(r, 400, "invalid_target").await;

    // Transport: content type, size, encoding, method.
    let json = s
        .http
        .post(format!("{}/token", s.base))
        .header("content-type", "application/json")
        .header("authorization", &auth)
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    expect_error(json, 400, "invalid_request").await;
    let none = s
        .http
        .post(format!("{}/token", s.base))
        .header("authorization", &auth)
        .body(cc)
        .send()
        .await
        .unwrap();
    expect_error(none, 400, "invalid_request").await;
    let big = format!("{cc}&pad={}", "a".repeat(64 * 1024));
    let r = s.post_token(big, &[("authorization", &auth)]).await;
    assert!(
        r.headers().get("connection").is_none(),
        "the over-long body was read to its end, so the connection stays usable"
    );
    expect_error(r, 413, "invalid_request").await;
    let bad_utf8: Vec<u8> = [cc.as_bytes(), b"&scope=%ff%fe"].concat();
    expect_error(
        s.post_token(bad_utf8, &[("authorization", &auth)]).await,
        400,
        "invalid_request",
    )
    .await;
    let raw_utf8: Vec<u8> = [cc.as_bytes(), b"&scope=\xff"].concat();
    expect_error(
        s.post_token(raw_utf8, &[("authorization", &auth)]).await,
        400,
        "invalid_request",
    )
    .await;
    let get = s.get("/token").await;
    assert_eq!(get.status(), 405);

    // After all that, the client still works: nothing was half-written.
    let ok = s.cc_token(&id, &secret, "").await;
    assert!(ok["access_token"].is_string());
}

async fn disabled_and_rotated_clients_are_refused(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s
        .client("svc", Alg::Es256, &["read"], &["https://api.example"])
        .await;
    s.cc_token(&id, &secret, "").await;

    assert!(s.app.clients.set_enabled(&id, false).await.unwrap());
    let r = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic(&id, &secret))],
        )
        .await;
    expect_error(r, 401, "invalid_client").await;
    assert!(s.app.clients.set_enabled(&id, true).await.unwrap());
    s.cc_token(&id, &secret, "").await;

    let new_secret = s.app.clients.rotate_secret(&id).await.unwrap().unwrap();
    assert_ne!(new_secret, secret);
    let r = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic(&id, &secret))],
        )
        .await;
    expect_error(r, 401, "invalid_client").await;
    s.cc_token(&id, &new_secret, "").await;
}
