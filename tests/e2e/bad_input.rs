//! Every malformed or hostile token request gets the standard error, and nothing else.

use auth_core::Alg;
use reqwest::Response;
use tests::responses::ErrorBody;
use tests::{Backend, TestServer, assert_json_no_store, basic};

tests::on_both_backends!(
    hostile_requests_get_standard_errors,
    disabled_and_rotated_clients_are_refused,
);

const CC: &str = "grant_type=client_credentials";
const FORM: &str = "application/x-www-form-urlencoded";

/// One hostile request to `/token` and the RFC 6749 §5.2 error it must get.
struct Case {
    /// The `Authorization` header, if any.
    authorization: Option<String>,
    /// The `Content-Type` header, if any.
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    error: &'static str,
}

/// A form body (`Content-Type` set) with an optional `Authorization` header.
fn form(
    authorization: Option<&str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    error: &'static str,
) -> Case {
    Case {
        authorization: authorization.map(str::to_owned),
        content_type: Some(FORM),
        body: body.into(),
        status,
        error,
    }
}

/// Sends `case` and asserts its error; returns the body.
async fn run(s: &TestServer, case: Case) -> serde_json::Value {
    let mut req = s
        .http
        .post(format!("{}/token", s.base))
        .body(case.body.clone());
    if let Some(a) = &case.authorization {
        req = req.header("authorization", a);
    }
    if let Some(t) = case.content_type {
        req = req.header("content-type", t);
    }
    let res = req.send().await.unwrap();
    let what = format!(
        "{:?} {:?}",
        case.authorization,
        String::from_utf8_lossy(&case.body)
    );
    expect_error(res, case.status, case.error, &what).await
}

/// Asserts an RFC 6749 §5.2 error: status, JSON body with `error`, no-store, and the Basic challenge
/// on every 401. Returns the body.
async fn expect_error(res: Response, status: u16, code: &str, what: &str) -> serde_json::Value {
    assert_eq!(res.status(), status, "expected {status} {code} for {what}");
    assert_json_no_store(&res);
    if status == 401 {
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic "), "{challenge}");
    }
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(ErrorBody::parse(&body).error, code, "{what}: body: {body}");
    body
}

async fn hostile_requests_get_standard_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s
        .client("svc", Alg::Es256, &["read"], &["https://api.example"])
        .await;
    let auth = basic(&id, &secret);
    let ok = Some(auth.as_str());
    let (unknown, wrong) = (basic("nobody", &secret), basic(&id, "wrong"));
    let huge_secret = basic(&id, &"x".repeat(4000));
    let cases = [
        // Client authentication. The first two must get the same answer.
        form(Some(&unknown), CC, 401, "invalid_client"),
        form(Some(&wrong), CC, 401, "invalid_client"),
        form(None, CC, 401, "invalid_client"),
        form(None, format!("{CC}&client_id={id}"), 401, "invalid_client"),
        form(Some("Basic !!notbase64"), CC, 401, "invalid_client"),
        form(Some("Bearer abc"), CC, 401, "invalid_client"),
        // Secret sent twice (header and body): more than one method.
        form(
            ok,
            format!("{CC}&client_secret={secret}"),
            400,
            "invalid_request",
        ),
        form(ok, format!("{CC}&client_id=other"), 400, "invalid_request"),
        form(Some(&huge_secret), CC, 401, "invalid_client"),
        // Grant type.
        form(ok, "", 400, "invalid_request"),
        form(ok, "grant_type=password", 400, "unsupported_grant_type"),
        form(ok, format!("{CC}&{CC}"), 400, "invalid_request"),
        // Scope and resource.
        form(ok, format!("{CC}&scope=admin"), 400, "invalid_scope"),
        form(ok, format!("{CC}&scope=read+admin"), 400, "invalid_scope"),
        form(
            ok,
            format!("{CC}&scope=read&scope=read"),
            400,
            "invalid_request",
        ),
        form(
            ok,
            format!("{CC}&resource=https://evil.example"),
            400,
            "invalid_target",
        ),
        form(
            ok,
            format!("{CC}&resource=not-absolute"),
            400,
            "invalid_target",
        ),
        form(
            ok,
            format!("{CC}&resource=https://api.example%23frag"),
            400,
            "invalid_target",
        ),
        // Transport: content type, encoding.
        Case {
            content_type: Some("application/json"),
            ..form(
                ok,
                r#"{"grant_type":"client_credentials"}"#,
                400,
                "invalid_request",
            )
        },
        Case {
            content_type: None,
            ..form(ok, CC, 400, "invalid_request")
        },
        form(
            ok,
            [CC.as_bytes(), b"&scope=%ff%fe"].concat(),
            400,
            "invalid_request",
        ),
        form(
            ok,
            [CC.as_bytes(), b"&scope=\xff"].concat(),
            400,
            "invalid_request",
        ),
    ];
    let mut bodies = Vec::new();
    for case in cases {
        bodies.push(run(&s, case).await);
    }
    assert_eq!(bodies[0], bodies[1], "same answer for unknown and wrong");

    // Size: the over-long body is read to its end, so the connection stays usable.
    let big = format!("{CC}&pad={}", "a".repeat(64 * 1024));
    let r = s.post_token(big, &[("authorization", &auth)]).await;
    assert!(
        r.headers().get("connection").is_none(),
        "the over-long body was read to its end, so the connection stays usable"
    );
    expect_error(r, 413, "invalid_request", "an over-long body").await;
    // Method.
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
    let refused = || {
        run(
            &s,
            form(Some(&basic(&id, &secret)), CC, 401, "invalid_client"),
        )
    };

    assert!(s.app.clients.set_enabled(&id, false).await.unwrap());
    refused().await;
    assert!(s.app.clients.set_enabled(&id, true).await.unwrap());
    s.cc_token(&id, &secret, "").await;

    let new_secret = s.app.clients.rotate_secret(&id).await.unwrap().unwrap();
    assert_ne!(new_secret, secret);
    refused().await;
    s.cc_token(&id, &new_secret, "").await;
}
