//! The OpenAPI document at `/admin/v1/openapi.json` is true: every documented operation is routed
//! (and authenticated unless documented public), no other method answers on a documented path,
//! undocumented paths are 404, and every `$ref` resolves.

use reqwest::Method;
use serde_json::Value;
use tests::Backend;
use tests::admin::{AdminServer, problem};

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_matches_the_router() {
    let a = AdminServer::start(Backend::Sqlite).await;
    let res = a.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc, auth_server::http::admin::document());
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20, "{} refs", all.len());
    for r in all {
        let path = r.strip_prefix("#/").unwrap().split('/').collect::<Vec<_>>();
        let target = path.iter().fold(&doc, |v, seg| &v[*seg]);
        assert!(target.is_object(), "{r} does not resolve");
    }
    let methods = ["get", "post", "put", "patch", "delete"];
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 8, "{paths:?}");
    let mut operations = 0;
    for (path, item) in paths {
        let rel = path.strip_prefix("/admin/v1").unwrap();
        // Path parameters become a value no resource has.
        let concrete = rel
            .split('/')
            .map(|s| if s.starts_with('{') { "x-none" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for m in methods {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let res = a.call(method, &concrete, None, None).await;
            match item.get(m) {
                Some(op) if op["security"] == serde_json::json!([]) => {
                    assert_eq!(res.status(), 200, "{m} {path}: public");
                }
                // Documented: routed, and refused without a token (an unrouted path is 404).
                Some(_) => {
                    operations += 1;
                    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"admin\"");
                    problem(res, 401).await;
                }
                // Not documented on this path: not served (405 once authenticated, or 401 first).
                None => {
                    let status = res.status().as_u16();
                    assert!(status == 405 || status == 401, "{m} {path}: {status}");
                }
            }
        }
    }
    assert!(operations >= 12, "{operations} operations");
    // With a token, an undocumented method is 405, an undocumented path 404.
    let token = a.token("ops", tests::admin::ADMIN_SCOPES).await;
    for (path, item) in paths {
        let rel = path.strip_prefix("/admin/v1").unwrap();
        let concrete = rel
            .replace("{client_id}", "x-none")
            .replace("{kid}", "x-none");
        for m in methods.iter().filter(|m| item.get(**m).is_none()) {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            problem(a.call(method, &concrete, Some(&token), None).await, 405).await;
        }
    }
    problem(
        a.call(Method::GET, "/clientz", Some(&token), None).await,
        404,
    )
    .await;
    problem(
        a.call(Method::GET, "/clients/a/b/c", Some(&token), None)
            .await,
        404,
    )
    .await;
}
