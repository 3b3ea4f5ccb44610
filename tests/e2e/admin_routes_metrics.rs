//! The admin API's requests are measured under their route templates: with the API on the public
//! listener, `GET /admin/v1/clients/{client_id}` is counted as that template (never as
//! `unmatched`, and never under the raw path or the client id). Runs on SQLite and PostgreSQL.

use auth_server::config::AdminApiPlacement;
use reqwest::Method;
use tests::Backend;
use tests::admin::{ADMIN_SCOPES, AdminServer};

tests::on_both_backends!(admin_requests_are_measured_by_route_template);

const REQUESTS: &str = "auth_server_http_request_duration_seconds_count";

async fn admin_requests_are_measured_by_route_template(backend: Backend) {
    let a = AdminServer::start_with(backend, |c| c.admin.api = AdminApiPlacement::Public).await;
    let metrics = a.s.admin_listener().await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let get = |path: String| {
        a.s.http
            .request(Method::GET, format!("{}/admin/v1{path}", a.s.base))
            .bearer_auth(&token)
            .send()
    };

    let before = metrics.scrape().await;
    assert_eq!(get("/clients/ops".into()).await.unwrap().status(), 200);
    assert_eq!(get("/clients/ops".into()).await.unwrap().status(), 200);
    assert_eq!(get("/keys".into()).await.unwrap().status(), 200);
    let after = metrics.scrape().await;
    let count = |route: &str, status: &str| {
        let labels = [("method", "GET"), ("route", route), ("status", status)];
        after.delta(&before, REQUESTS, &labels)
    };
    assert_eq!(
        count("/admin/v1/clients/{client_id}", "200"),
        2.0,
        "{}",
        after.text
    );
    assert_eq!(count("/admin/v1/keys", "200"), 1.0, "{}", after.text);
    assert_eq!(count("unmatched", "200"), 0.0, "{}", after.text);
    assert!(
        !after.text.contains("/admin/v1/clients/ops"),
        "{}",
        after.text
    );

    // An unknown admin path is still a problem answer, and never a label of its own.
    let res = get("/no-such-4711".into()).await.unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 404, "{body}");
    let later = metrics.scrape().await;
    // The path, not the digits: a duration sum may contain "4711" by chance.
    assert!(!later.text.contains("no-such-4711"), "{}", later.text);
}
