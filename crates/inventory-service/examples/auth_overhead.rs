//! Serves `GET /items/{sku}` twice for `scripts/bench-services.sh`: behind the real bearer and scope
//! checks (`inventory_service::router`), and bare (`inventory_service::item_routes`), so a load
//! generator can compare the two. Prints `protected URL` and `open URL`, then serves until killed.
//!
//! `INVENTORY_ISSUER=http://127.0.0.1:8080 cargo run --release -p inventory-service --example auth_overhead`
//!
//! With `AUTH_OVERHEAD_ONLY=protected` or `=open` it serves (and prints) only that one, so that
//! `scripts/bench-auth-ab.sh` can load two such processes at the same time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer =
        std::env::var("INVENTORY_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let state = inventory_service::build(inventory_service::Config {
        issuer,
        audience: inventory_service::DEFAULT_AUDIENCE.into(),
        stock: inventory_service::parse_levels("widget=100")?,
        metrics: None,
        external_url: None,
    })
    .await?;
    let only = std::env::var("AUTH_OVERHEAD_ONLY").unwrap_or_default();
    let mut out = std::io::stdout();
    let mut servers = tokio::task::JoinSet::new();
    if only != "open" {
        let protected = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        writeln!(out, "protected http://{}", protected.local_addr()?)?;
        let app = inventory_service::router(state.clone());
        servers.spawn(async move { axum::serve(protected, app).await });
    }
    if only != "protected" {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        writeln!(out, "open http://{}", open.local_addr()?)?;
        // The same handler and the same other layers as `router`, minus authentication.
        let bare = http_serve::service_router(inventory_service::item_routes(), state);
        servers.spawn(async move { axum::serve(open, bare).await });
    }
    out.flush()?;
    while let Some(done) = servers.join_next().await {
        done??;
    }
    Ok(())
}
