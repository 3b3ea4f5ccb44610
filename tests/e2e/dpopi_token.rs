//! DPoP (RFC 9449) at the IdP's token endpoint: bound tokens from the client-credentials and
//! code grants, the per-client policy, refused proofs, introspection and `/userinfo`.

use auth_server::domain::values::DpopPolicy;
use serde_json::json;
use tests::dpop::{
    Claims, DpopKey, assert_bearer, assert_bound, cc_client, cc_with, set_policy, token_with,
};
use tests::fixture::Sso;
use tests::oauth::Pkce;
use tests::sso_support::{OFFLINE, PW, alice_code};
use tests::{Backend, TestServer, on_both_backends};

on_both_backends!(
    client_credentials_with_a_proof_give_a_bound_token,
    bad_proofs_are_refused,
    the_policy_requires_or_refuses_proofs,
    code_flow_with_a_proof_binds_the_token_and_userinfo_checks_it,
    a_code_requested_with_dpop_jkt_needs_that_key,
);

async fn client_credentials_with_a_proof_give_a_bound_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    let partner = cc_client(&s, "partner").await;
    let key = DpopKey::new();

    let proof = key.for_token(&s, None);
    let bound = cc_with(&s, &partner, &[&proof]).await;
    let token = assert_bound(&s, &bound, &key).await;
    // No nonce demanded by default: no DPoP-Nonce header.
    assert_eq!(bound.nonce, None);
    // Discovery advertises exactly the algorithms the proof checker accepts (RFC 9449 §5.1).
    let accepted: Vec<&str> = auth_verifier::dpop::ProofAlg::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = s.get_json(path).await;
        assert_eq!(
            doc["dpop_signing_alg_values_supported"],
            json!(accepted),
            "{path}"
        );
    }

    // RFC 9449 §6.2 / RFC 7662: introspection reports the binding.
    let info = s.introspect(&partner, &token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["token_type"], "DPoP", "{info}");
    assert_eq!(info["cnf"], json!({ "jkt": key.jkt() }), "{info}");

    // The same proof again: a replay (§11.1), refused.
    let replay = cc_with(&s, &partner, &[&proof]).await;
    assert_eq!(
        (replay.status, replay.error()),
        (400, "invalid_dpop_proof"),
        "{}",
        replay.body
    );

    // Without a proof (policy `allowed`): a bearer token, reported as such.
    let bearer = assert_bearer(&s, &cc_with(&s, &partner, &[]).await).await;
    let info = s.introspect(&partner, &bearer).await;
    assert_eq!(info["token_type"], "Bearer", "{info}");
    assert!(info.get("cnf").is_none(), "{info}");
}

async fn bad_proofs_are_refused(backend: Backend) {
    let s = TestServer::start(backend).await;
    let partner = cc_client(&s, "partner").await;
    let key = DpopKey::new();
    let now = tests::now(&s.clock);
    let token_url = format!("{}/token", s.base);
    let other_url = format!("{}/revoke", s.base);
    let proof = |htm, htu, iat| {
        key.proof(Claims {
            htm,
            htu,
            iat,
            nonce: None,
            token: None,
        })
    };
    let cases = [
        ("another method", vec![proof("GET", &token_url, now)]),
        ("another URL", vec![proof("POST", &other_url, now)]),
        ("stale", vec![proof("POST", &token_url, now - 3600)]),
        (
            "from the future",
            vec![proof("POST", &token_url, now + 3600)],
        ),
        (
            "two proofs",
            vec![key.for_token(&s, None), key.for_token(&s, None)],
        ),
        ("not a JWT", vec!["not-a-proof".to_owned()]),
    ];
    for (what, proofs) in cases {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let a = cc_with(&s, &partner, &refs).await;
        assert_eq!(
            (a.status, a.error()),
            (400, "invalid_dpop_proof"),
            "{what}: {}",
            a.body
        );
    }
    // A proof whose signature is not by its jwk: the payload of one proof under another's
    // header and signature.
    let (a, b) = (key.for_token(&s, None), DpopKey::new().for_token(&s, None));
    let (ah, ap, _) = split3(&a);
    let (_, _, bs) = split3(&b);
    let forged = format!("{ah}.{ap}.{bs}");
    let r = cc_with(&s, &partner, &[&forged]).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "invalid_dpop_proof"),
        "{}",
        r.body
    );
    // After all these refusals, a good proof still works.
    assert_bound(
        &s,
        &cc_with(&s, &partner, &[&key.for_token(&s, None)]).await,
        &key,
    )
    .await;
}

fn split3(jwt: &str) -> (&str, &str, &str) {
    let mut it = jwt.split('.');
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

async fn the_policy_requires_or_refuses_proofs(backend: Backend) {
    let s = TestServer::start(backend).await;
    let partner = cc_client(&s, "partner").await;
    let key = DpopKey::new();

    set_policy(&s, "partner", DpopPolicy::Required).await;
    let without = cc_with(&s, &partner, &[]).await;
    assert_eq!(
        (without.status, without.error()),
        (400, "invalid_request"),
        "{}",
        without.body
    );
    let with = cc_with(&s, &partner, &[&key.for_token(&s, None)]).await;
    assert_bound(&s, &with, &key).await;

    set_policy(&s, "partner", DpopPolicy::Disabled).await;
    let with = cc_with(&s, &partner, &[&key.for_token(&s, None)]).await;
    assert_eq!(
        (with.status, with.error()),
        (400, "invalid_dpop_proof"),
        "{}",
        with.body
    );
    assert_bearer(&s, &cc_with(&s, &partner, &[]).await).await;

    set_policy(&s, "partner", DpopPolicy::Allowed).await;
    assert_bound(
        &s,
        &cc_with(&s, &partner, &[&key.for_token(&s, None)]).await,
        &key,
    )
    .await;
}

async fn code_flow_with_a_proof_binds_the_token_and_userinfo_checks_it(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let key = DpopKey::new();
    let (pkce, code) = alice_code(&s, &mut browser, &app, OFFLINE).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let a = token_with(&s, &app, &pairs, &[&key.for_token(&s, None)]).await;
    let access = assert_bound(&s, &a, &key).await;
    let info = s.introspect(&app, &access).await;
    assert_eq!(info["cnf"], json!({ "jkt": key.jkt() }), "{info}");

    // /userinfo with the DPoP scheme and a proof for it (RFC 9449 §7).
    let (status, _, body) = userinfo(
        &s,
        &access,
        "DPoP",
        Some(&key.for_userinfo(&s, "GET", &access)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"sub\""), "{body}");
    // The bound token as a bearer token: refused, with a DPoP challenge among the answers.
    let (status, challenges, _) = userinfo(&s, &access, "Bearer", None).await;
    assert_eq!(status, 401);
    assert!(
        challenges.iter().any(|c| c.starts_with("DPoP algs=")),
        "{challenges:?}"
    );
    // A proof by another key, a proof for another method, no proof, a replayed proof: refused.
    let other = DpopKey::new().for_userinfo(&s, "GET", &access);
    let post = key.for_userinfo(&s, "POST", &access);
    let good = key.for_userinfo(&s, "GET", &access);
    assert_eq!(userinfo(&s, &access, "DPoP", Some(&good)).await.0, 200);
    for (what, proof) in [
        ("other key", Some(&other)),
        ("POST proof", Some(&post)),
        ("none", None),
        ("replay", Some(&good)),
    ] {
        let (status, challenges, _) =
            userinfo(&s, &access, "DPoP", proof.map(String::as_str)).await;
        assert_eq!(status, 401, "{what}");
        assert!(
            challenges
                .iter()
                .any(|c| c.starts_with("DPoP algs=") && c.contains("error=")),
            "{what}: {challenges:?}"
        );
    }
    // A forged token with the DPoP scheme is refused before its proof is looked at: the proof's
    // `jti` is not recorded, so the same proof still works with the real token afterwards.
    let fresh = key.for_userinfo(&s, "GET", &access);
    let forged = format!("{}AAAA", &access[..access.len() - 4]);
    let (status, challenges, _) = userinfo(&s, &forged, "DPoP", Some(&fresh)).await;
    assert_eq!(status, 401);
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("DPoP") && c.contains("invalid_token")),
        "{challenges:?}"
    );
    assert_eq!(userinfo(&s, &access, "DPoP", Some(&fresh)).await.0, 200);
    // A bearer token with the DPoP scheme: not bound, refused.
    let bearer = assert_bearer(
        &s,
        &token_with(
            &s,
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", a.body["refresh_token"].as_str().unwrap()),
            ],
            &[],
        )
        .await,
    )
    .await;
    let proof = key.for_userinfo(&s, "GET", &bearer);
    assert_eq!(userinfo(&s, &bearer, "DPoP", Some(&proof)).await.0, 401);
    assert_eq!(userinfo(&s, &bearer, "Bearer", None).await.0, 200);
}

/// `GET /userinfo` with `Authorization: {scheme} {token}` and the proof: status, the
/// `WWW-Authenticate` values, body.
async fn userinfo(
    s: &TestServer,
    token: &str,
    scheme: &str,
    proof: Option<&str>,
) -> (u16, Vec<String>, String) {
    let mut req = s
        .http
        .get(format!("{}/userinfo", s.base))
        .header("authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        req = req.header("dpop", p);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenges = res
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (status, challenges, res.text().await.unwrap())
}

/// RFC 9449 §10: `dpop_jkt` binds the code to a key; a malformed one is refused at `/authorize`.
async fn a_code_requested_with_dpop_jkt_needs_that_key(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let key = DpopKey::new();
    let jkt = key.jkt();
    let mut codes = Vec::new();
    for _ in 0..3 {
        let pkce = Pkce::new();
        let url = s.authorize_url(&app, &pkce, "openid", &[("dpop_jkt", jkt.as_str())]);
        let page = browser.get(&url).await;
        let done = if page.status == 200 {
            s.sign_in(&mut browser, &page, "alice", PW).await
        } else {
            page
        };
        codes.push((done.location_param("code").expect("a code"), pkce));
    }
    let send = |code: &str, verifier: &str, proofs: Vec<String>| {
        let pairs = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", app.redirect_uri.clone()),
            ("code_verifier", verifier.to_owned()),
        ];
        let (s, app) = (&s, &app);
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            token_with(s, app, &pairs, &refs).await
        }
    };
    // Another key, or no proof: invalid_grant.
    let (c, p) = &codes[0];
    let a = send(c, &p.verifier, vec![DpopKey::new().for_token(&s, None)]).await;
    assert_eq!((a.status, a.error()), (400, "invalid_grant"), "{}", a.body);
    let (c, p) = &codes[1];
    let a = send(c, &p.verifier, vec![]).await;
    assert_eq!((a.status, a.error()), (400, "invalid_grant"), "{}", a.body);
    // The key it names: a bound token.
    let (c, p) = &codes[2];
    assert_bound(
        &s,
        &send(c, &p.verifier, vec![key.for_token(&s, None)]).await,
        &key,
    )
    .await;

    // Not a thumbprint: invalid_request, back to the client.
    let url = s.authorize_url(&app, &Pkce::new(), "openid", &[("dpop_jkt", "short")]);
    let page = browser.get(&url).await;
    assert_eq!(
        page.location_param("error").as_deref(),
        Some("invalid_request"),
        "{}",
        page.body
    );
}
