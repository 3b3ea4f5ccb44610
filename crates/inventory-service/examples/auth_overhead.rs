//! Serves `GET /items/{sku}` twice for `scripts/bench-services.sh`: behind the real bearer and scope
//! checks (`inventory_service::router`), and bare (`inventory_service::item_routes`), so a load
//! generator can compare the two. Prints `protected URL` and `open URL`, then serves until killed.
//!
//! `INVENTORY_ISSUER=http://127.0.0.1:8080 cargo run --release -p inventory-service --example auth_overhead`
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
    })
    .await?;
    let protected = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut out = std::io::stdout();
    writeln!(out, "protected http://{}", protected.local_addr()?)?;
    writeln!(out, "open http://{}", open.local_addr()?)?;
    out.flush()?;
    // The same handler and the same other layers as `router`, minus authentication.
    let bare = inventory_service::item_routes()
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(open, bare).await });
    axum::serve(protected, inventory_service::router(state)).await?;
    Ok(())
}
