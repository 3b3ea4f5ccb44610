//! Native apps (RFC 8252): a loopback IP redirect URI matches on any port (§7.3), and nothing else
//! is loosened. Runs on SQLite and PostgreSQL.

use auth_server::domain::clients::NewClient;
use tests::fixture::Sso;
use tests::oauth::{Agent, Pkce, WebClient};
use tests::sso_support::{PW, authorize, good_params, grant, with};
use tests::{Backend, TestServer};

tests::on_both_backends!(a_loopback_redirect_uri_matches_on_any_port_and_nothing_else);

/// A public native-app client registered with loopback redirect URIs; returns its id.
async fn native_client(s: &TestServer) -> String {
    let new = NewClient {
        name: "Native app".into(),
        default_scopes: vec!["openid".to_owned()],
        redirect_uris: vec![
            "http://127.0.0.1/cb".into(),
            "http://[::1]:7000/cb".into(),
            "http://localhost:8000/cb".into(),
        ],
        public: true,
        first_party: true,
        ..tests::new_client(
            "native",
            auth_core::Alg::Es256,
            &["openid", "offline_access"],
            &[],
        )
    };
    s.app.clients.create(new).await.unwrap().0.id
}

fn at(id: &str, uri: &str) -> WebClient {
    WebClient {
        id: id.to_owned(),
        secret: None,
        redirect_uri: uri.to_owned(),
    }
}

async fn a_loopback_redirect_uri_matches_on_any_port_and_nothing_else(backend: Backend) {
    let Sso { s, mut browser, .. } = Sso::start(backend).await;
    let id = native_client(&s).await;

    // §7.3: the port the app listens on is chosen at request time. The code goes back to that
    // exact URI, and the token request must name the same URI (RFC 6749 §4.1.3).
    for uri in [
        "http://127.0.0.1:53123/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:9/cb",
        "http://localhost:8000/cb",
    ] {
        let app = at(&id, uri);
        let tokens = grant(&s, &mut browser, &app, "openid offline_access", "alice").await;
        assert!(tokens.refresh_token.is_some(), "{uri}: {:?}", tokens.raw);
    }
    let pkce = Pkce::new();
    let app = at(&id, "http://127.0.0.1:53123/cb");
    let code = s
        .code_for(&mut browser, &app, &pkce, "openid", "alice", PW)
        .await;
    let other_port = at(&id, "http://127.0.0.1:53124/cb");
    let (status, body) = s.redeem(&other_port, &code, &pkce.verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // Everything but a loopback IP literal's port must still match exactly: an error page, never a
    // redirect.
    let pkce = Pkce::new();
    let good = good_params(&app, &pkce);
    let mut stranger = Agent::new();
    for uri in [
        "http://127.0.0.1:53123/cb/",
        "http://127.0.0.1:53123/cb?x=1",
        "http://127.0.0.2:53123/cb",
        "http://[::1]:53123/other",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:1@evil.example/cb",
        "http://127.0.0.1.evil.example:1/cb",
        "https://127.0.0.1:53123/cb",
        "http://localhost:8001/cb",
        "http://localhost/cb",
    ] {
        for agent in [&mut browser, &mut stranger] {
            let page = agent
                .get(&authorize(&s, &with(&good, "redirect_uri", Some(uri))))
                .await;
            assert_eq!(page.status, 400, "{uri}: {}", page.body);
            assert!(page.location().is_none(), "{uri} was followed");
        }
    }
}
