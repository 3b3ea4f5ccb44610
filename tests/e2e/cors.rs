//! CORS for single-page apps over HTTP: preflights answered for registered origins only, the
//! actual responses of `/token`, `/revoke` and `/userinfo` readable only by the requesting
//! client's own origins (errors included), `*` on discovery and the JWKS, and nothing on the
//! browser pages. Runs on SQLite and PostgreSQL.

use auth_server::domain::audit::{Actor, RequestMeta};
use auth_server::domain::clients::{ClientUpdate, NewClient};
use reqwest::Method;
use reqwest::header::HeaderMap;
use tests::fixture::Sso;
use tests::oauth::{Pkce, WebClient, encode_form, first_party};
use tests::sso_support::{PW, field};
use tests::{Backend, TestServer};

tests::on_both_backends!(
    preflights_are_answered_for_registered_origins_only,
    responses_are_readable_only_by_the_clients_own_origins,
    public_documents_are_readable_by_any_origin_and_pages_by_none,
);

const SPA: &str = "https://spa.example";
const OTHER: &str = "https://other.example";
const EVIL: &str = "https://evil.example";

/// The public client `spa` (redirect URI `https://spa.example/cb`) and the client `other`, which
/// lists `https://other.example` explicitly.
async fn clients(s: &TestServer) -> WebClient {
    let spa = s.web_client("spa", first_party().public()).await;
    let other = NewClient {
        name: "Other".into(),
        redirect_uris: vec!["com.example.other:/cb".into()],
        allowed_origins: vec![OTHER.into()],
        public: true,
        ..tests::new_client("other", auth_core::Alg::Es256, &["openid"], &[])
    };
    s.app.clients.create(other).await.unwrap();
    spa
}

/// One request with `headers` (and a form `body` when given): status, headers, body.
async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[(&str, &str)]>,
) -> (u16, HeaderMap, String) {
    let mut req = s.http.request(method, format!("{}{path}", s.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(pairs) = body {
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(pairs));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

async fn preflight(
    s: &TestServer,
    path: &str,
    origin: &str,
    method: &str,
    request_headers: &str,
) -> (u16, HeaderMap) {
    let mut h = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    if !request_headers.is_empty() {
        h.push(("access-control-request-headers", request_headers));
    }
    let (status, headers, _) = send(s, Method::OPTIONS, path, &h, None).await;
    (status, headers)
}

fn allow_origin(h: &HeaderMap) -> Option<&str> {
    h.get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

/// Asserts the CORS headers of an allowed answer for `origin`: the origin itself, never `*` or
/// credentials, and `Vary: Origin`.
#[track_caller]
fn assert_allowed(h: &HeaderMap, origin: &str, what: &str) {
    assert_eq!(allow_origin(h), Some(origin), "{what}: {h:?}");
    assert!(
        h.get("access-control-allow-credentials").is_none(),
        "{what}"
    );
    assert_varies_by_origin(h, what);
}

#[track_caller]
fn assert_refused(h: &HeaderMap, what: &str) {
    assert_eq!(allow_origin(h), None, "{what}: {h:?}");
    assert!(
        h.get("access-control-allow-credentials").is_none(),
        "{what}"
    );
}

#[track_caller]
fn assert_varies_by_origin(h: &HeaderMap, what: &str) {
    let vary: Vec<&str> = h
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        vary.iter()
            .any(|v| v.to_ascii_lowercase().contains("origin")),
        "{what}: Vary {vary:?}"
    );
}

async fn preflights_are_answered_for_registered_origins_only(backend: Backend) {
    let Sso { s, .. } = Sso::start(backend).await;
    clients(&s).await;

    // A redirect URI's origin, and an origin listed explicitly: allowed, with the methods and
    // headers these calls need and a cache lifetime.
    for (path, origin, method, headers) in [
        ("/token", SPA, "POST", "content-type"),
        ("/token", OTHER, "POST", ""),
        ("/revoke", SPA, "POST", "Content-Type"),
        ("/userinfo", SPA, "GET", "authorization"),
        ("/userinfo", OTHER, "POST", "authorization, content-type"),
        ("/token", SPA, "POST", "content-type, dpop"),
        ("/userinfo", SPA, "GET", "authorization, dpop"),
    ] {
        let what = format!("{path} {origin} {method} [{headers}]");
        let (status, h) = preflight(&s, path, origin, method, headers).await;
        assert_eq!(status, 204, "{what}");
        assert_allowed(&h, origin, &what);
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains(method), "{what}: {methods}");
        let allowed = h["access-control-allow-headers"].to_str().unwrap();
        assert_eq!(allowed, "Authorization, Content-Type, DPoP", "{what}");
        assert_eq!(h["access-control-max-age"], "600", "{what}");
    }

    // An origin no client registered, another method, another header, a look-alike origin: no
    // CORS headers, which the browser reads as a failed preflight.
    for (path, origin, method, headers) in [
        ("/token", EVIL, "POST", "content-type"),
        ("/token", "https://spa.example:8443", "POST", ""),
        ("/token", "http://spa.example", "POST", ""),
        ("/token", "https://spa.example.evil.example", "POST", ""),
        ("/token", "null", "POST", ""),
        ("/token", SPA, "DELETE", ""),
        ("/token", SPA, "GET", ""),
        ("/token", SPA, "POST", "x-custom"),
        ("/revoke", SPA, "POST", "content-type, cookie"),
    ] {
        let what = format!("{path} {origin} {method} [{headers}]");
        let (status, h) = preflight(&s, path, origin, method, headers).await;
        // 403 from the CORS check; an opaque ("null") origin is no origin, so the method
        // router answers OPTIONS with 405.
        assert!(matches!(status, 403 | 405), "{what}: {status}");
        assert_refused(&h, &what);
    }

    // A change through the registry is seen at once (the cached set is dropped), and a disabled
    // client's origins are no longer allowed.
    let (status, _) = preflight(&s, "/token", "https://late.example", "POST", "").await;
    assert_eq!(status, 403);
    let update = ClientUpdate {
        allowed_origins: Some(vec![OTHER.into(), "https://late.example".into()]),
        ..ClientUpdate::default()
    };
    let admin = Actor::Admin("test".into());
    let meta = RequestMeta::default();
    let updated = s.app.clients.update_by("other", update, &admin, &meta);
    assert!(updated.await.unwrap().is_some());
    let (status, h) = preflight(&s, "/token", "https://late.example", "POST", "").await;
    assert_eq!(status, 204);
    assert_allowed(&h, "https://late.example", "a newly listed origin");
    assert!(s.app.clients.set_enabled("other", false).await.unwrap());
    for origin in [OTHER, "https://late.example"] {
        let (status, h) = preflight(&s, "/token", origin, "POST", "").await;
        assert_eq!(status, 403, "{origin} of a disabled client");
        assert_refused(&h, origin);
    }

    // Bad input to the registry: a path, a wildcard, a default port are refused.
    for bad in [
        "https://a.example/",
        "https://*.example",
        "https://a.example:443",
    ] {
        let update = ClientUpdate {
            allowed_origins: Some(vec![bad.into()]),
            ..ClientUpdate::default()
        };
        let refused = s.app.clients.update_by("spa", update, &admin, &meta);
        let err = refused.await.unwrap_err().to_string();
        assert!(err.contains(bad), "{bad}: {err}");
    }
}

async fn responses_are_readable_only_by_the_clients_own_origins(backend: Backend) {
    let Sso { s, mut browser, .. } = Sso::start(backend).await;
    let spa = clients(&s).await;
    let origin = |o: &'static str| vec![("origin", o)];

    // The code flow's token request from the SPA's own origin: readable.
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &spa, &pkce, "openid", "alice", PW)
        .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", spa.redirect_uri.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
        ("client_id", "spa"),
    ];
    let (status, h, body) = send(&s, Method::POST, "/token", &origin(SPA), Some(&form)).await;
    assert_eq!(status, 200, "{body}");
    assert_allowed(&h, SPA, "token");
    let tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    let access = field(&tokens, "access_token");

    // userinfo: for the client the token was issued to.
    let bearer = format!("Bearer {access}");
    let with = |o: &'static str| vec![("origin", o), ("authorization", bearer.as_str())];
    let (status, h, body) = send(&s, Method::GET, "/userinfo", &with(SPA), None).await;
    assert_eq!(status, 200, "{body}");
    assert_allowed(&h, SPA, "userinfo");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("WWW-Authenticate"), "{exposed}");
    for o in [OTHER, EVIL] {
        let (status, h, _) = send(&s, Method::GET, "/userinfo", &with(o), None).await;
        assert_eq!(status, 200);
        assert_refused(&h, o);
    }
    // An invalid token names no client: the generic 401 is readable by a registered origin (it
    // says nothing about any client or user), never by an unregistered one.
    let junk = [("authorization", "Bearer not-a-token")];
    let (status, h, _) = send(
        &s,
        Method::GET,
        "/userinfo",
        &[junk[0], ("origin", OTHER)],
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_allowed(&h, OTHER, "an error before any client is known");
    let (status, h, _) = send(
        &s,
        Method::GET,
        "/userinfo",
        &[junk[0], ("origin", EVIL)],
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_refused(&h, "unregistered origin");

    // Revocation, identified by client_id.
    let revoke = [("token", access.as_str()), ("client_id", "spa")];
    let (status, h, _) = send(&s, Method::POST, "/revoke", &origin(SPA), Some(&revoke)).await;
    assert_eq!(status, 200);
    assert_allowed(&h, SPA, "revoke");
    let (status, h, _) = send(&s, Method::POST, "/revoke", &origin(OTHER), Some(&revoke)).await;
    assert_eq!(status, 200);
    assert_refused(&h, "revoke from another client's origin");

    // The same code again is invalid_grant (and revokes what it gave): the SPA can read the
    // error...
    let (status, h, body) = send(&s, Method::POST, "/token", &origin(SPA), Some(&form)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    assert_allowed(&h, SPA, "token error");
    // ...but another client's origin, or one nobody registered, cannot read the spa's answers.
    for o in [OTHER, EVIL] {
        let (status, h, _) = send(&s, Method::POST, "/token", &origin(o), Some(&form)).await;
        assert_eq!(status, 400);
        assert_refused(&h, o);
        assert_varies_by_origin(&h, o);
    }

    // Without an Origin header (a server-side client): no CORS headers, still Vary: Origin.
    let (status, h, _) = send(&s, Method::POST, "/revoke", &[], Some(&revoke)).await;
    assert_eq!(status, 200);
    assert_refused(&h, "no origin");
    assert_varies_by_origin(&h, "no origin");
}

async fn public_documents_are_readable_by_any_origin_and_pages_by_none(backend: Backend) {
    let Sso { s, .. } = Sso::start(backend).await;
    let spa = clients(&s).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/jwks",
    ] {
        for headers in [vec![("origin", EVIL)], vec![]] {
            let (status, h, _) = send(&s, Method::GET, path, &headers, None).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(allow_origin(&h), Some("*"), "{path}");
            assert!(h.get("access-control-allow-credentials").is_none());
        }
    }

    // The browser pages (sign-in, consent, logout, account) and the confidential endpoints: no CORS, whatever the origin, preflight
    // or not.
    let authorize = s.authorize_url(&spa, &Pkce::new(), "openid", &[]);
    let authorize = authorize.strip_prefix(&s.base).unwrap();
    for (method, path) in [
        (Method::GET, authorize),
        (Method::POST, "/login"),
        (Method::POST, "/consent"),
        (Method::GET, "/logout"),
        (Method::GET, "/account"),
        (Method::POST, "/account/password"),
        (Method::POST, "/introspect"),
        (Method::GET, "/revocations"),
        (Method::GET, "/healthz"),
    ] {
        let (_, h, _) = send(&s, method.clone(), path, &[("origin", SPA)], None).await;
        assert_refused(&h, path);
        let (_, h) = preflight(&s, path, SPA, method.as_str(), "content-type").await;
        assert_refused(&h, &format!("preflight {path}"));
    }
}
