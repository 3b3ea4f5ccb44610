//! The invariants of multi-factor sign-in, raced by many requests at once over two replicas on one
//! database, on SQLite and PostgreSQL: a TOTP code is accepted at most once, a recovery code is
//! used at most once, second-factor guesses cannot outrun the limit, and a pending sign-in
//! completes at most once.

use std::sync::Arc;

use tests::Backend;
use tests::oauth::{Agent, Page, Pkce, WebClient};
use tests::replicas::{PARALLEL, Replicas, pick, replicas_with};
use tests::sso_support::PW;
use tokio::sync::Barrier;

use crate::mfa::alice_id;
use crate::mfa_support::{assert_second_factor_page, code_now, enroll, password_step, wrong_code};

tests::on_both_backends!(
    a_totp_code_is_accepted_at_most_once,
    a_recovery_code_is_used_at_most_once,
    second_factor_guesses_cannot_outrun_the_limit,
    a_pending_sign_in_completes_at_most_once,
);

/// Alice with TOTP enrolled on the first replica: her app, the secret and the recovery codes.
async fn enrolled(servers: &Replicas) -> (WebClient, Vec<u8>, Vec<String>) {
    let a = &servers.0;
    let (app, mut browser) = tests::fixture::alice_at_app(a).await;
    a.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    let (secret, codes) = enroll(a, &mut browser).await;
    (app, secret, codes)
}

/// `PARALLEL` browsers, each on the second-factor page of its own sign-in (alternating replicas).
async fn pages(servers: &Replicas, app: &WebClient) -> Vec<(Agent, Page, Arc<tests::TestServer>)> {
    let mut out = Vec::new();
    for i in 0..PARALLEL {
        let s = pick(servers, i);
        let mut browser = Agent::new();
        let page = password_step(&s, &mut browser, app, &Pkce::new(), &[]).await;
        assert_second_factor_page(&page);
        out.push((browser, page, s));
    }
    out
}

/// One answer to race: the browser, the page's hidden fields, the replica, the answer's fields.
type Answer = (
    Agent,
    Vec<(String, String)>,
    Arc<tests::TestServer>,
    Vec<(String, String)>,
);

/// Posts every answer at once (behind a barrier); the statuses.
async fn race(answers: Vec<Answer>) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(answers.len()));
    let tasks: Vec<_> = answers
        .into_iter()
        .map(|(mut browser, mut fields, s, extra)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                fields.extend(extra);
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let url = format!("{}/login/mfa", s.base);
                barrier.wait().await;
                browser.post(&url, &pairs).await.status
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn a_totp_code_is_accepted_at_most_once(backend: Backend) {
    // A limit the race cannot reach: the step alone must stop the copies.
    let servers = replicas_with(backend, |c| c.login.max_failures_per_pair = 1000).await;
    let (app, secret, _) = enrolled(&servers).await;
    let code = code_now(&servers.0, &secret);
    let answers = pages(&servers, &app)
        .await
        .into_iter()
        .map(|(b, p, s)| {
            (
                b,
                p.hidden_fields(),
                s,
                vec![("code".to_owned(), code.clone())],
            )
        })
        .collect();
    let statuses = race(answers).await;
    assert_eq!(count(&statuses, 303), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 401), PARALLEL - 1, "{statuses:?}");
}

async fn a_recovery_code_is_used_at_most_once(backend: Backend) {
    let servers = replicas_with(backend, |c| c.login.max_failures_per_pair = 1000).await;
    let (app, _, codes) = enrolled(&servers).await;
    let answers = pages(&servers, &app)
        .await
        .into_iter()
        .map(|(b, p, s)| {
            (
                b,
                p.hidden_fields(),
                s,
                vec![("recovery_code".to_owned(), codes[0].clone())],
            )
        })
        .collect();
    let statuses = race(answers).await;
    assert_eq!(count(&statuses, 303), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 401), PARALLEL - 1, "{statuses:?}");
    let f = servers
        .0
        .app
        .flow
        .mfa()
        .factors(&alice_id(&servers.0).await)
        .await
        .unwrap();
    assert_eq!(f.recovery_codes, 9);
}

async fn second_factor_guesses_cannot_outrun_the_limit(backend: Backend) {
    let servers = replicas_with(backend, |_| {}).await;
    let limit = usize::try_from(servers.0.app.config.login.max_failures_per_pair).unwrap();
    let (app, secret, _) = enrolled(&servers).await;
    let wrong = wrong_code(&servers.0, &secret);
    let answers = pages(&servers, &app)
        .await
        .into_iter()
        .map(|(b, p, s)| {
            (
                b,
                p.hidden_fields(),
                s,
                vec![("code".to_owned(), wrong.clone())],
            )
        })
        .collect();
    let statuses = race(answers).await;
    // Exactly the first `limit` guesses were checked; every other one was refused unchecked.
    assert_eq!(count(&statuses, 401), limit, "{statuses:?}");
    assert_eq!(count(&statuses, 429), PARALLEL - limit, "{statuses:?}");
}

async fn a_pending_sign_in_completes_at_most_once(backend: Backend) {
    let servers = replicas_with(backend, |c| c.login.max_failures_per_pair = 1000).await;
    let (app, _, codes) = enrolled(&servers).await;
    let alice = alice_id(&servers.0).await;
    let before = servers.0.app.sessions.live_of(&alice).await.unwrap().len();
    let mut browser = Agent::new();
    let page = password_step(&servers.0, &mut browser, &app, &Pkce::new(), &[]).await;
    assert_second_factor_page(&page);
    // One page answered at once with every (distinct, valid) recovery code, over both replicas.
    let answers = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let extra = vec![("recovery_code".to_owned(), c.clone())];
            (
                browser.clone(),
                page.hidden_fields(),
                pick(&servers, i),
                extra,
            )
        })
        .collect();
    let statuses = race(answers).await;
    assert_eq!(count(&statuses, 303), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 400), codes.len() - 1, "{statuses:?}");
    let after = servers.0.app.sessions.live_of(&alice).await.unwrap().len();
    assert_eq!(after, before + 1, "one session from one pending sign-in");
}
