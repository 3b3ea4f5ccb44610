//! Two `auth-server` processes on one fresh PostgreSQL database behind nginx, for
//! `tests/e2e/proxy_replicas*.rs`: the issuer is the proxy's URL, both replicas trust the proxy's
//! `X-Forwarded-For`, share the KEK, and reload keys every 5 s. Plus the HTTP calls the tests make
//! to the proxy or to one replica directly.

use auth_core::{Alg, Clock, SystemClock};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::admin::ADMIN_SCOPES;
use crate::nginx::{Nginx, nginx_binary};
use crate::oauth::{Pkce, WebClient, encode_form, first_party};
use crate::process::ServerProcess;
use crate::{
    Backend, ManualClock, TEST_KEK, TestServer, basic, fresh_database, new_client,
    postgres_available,
};

/// alice's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The audience of the resource service the tests' client-credentials client calls.
pub const AUD: &str = "https://api.proxy.test";
/// `keys.refresh_interval_secs` of both replicas (the smallest the configuration allows).
pub const KEY_REFRESH_SECS: i64 = 5;
/// `keys.publish_lead_secs` of both replicas (the smallest allowed: 4 x the refresh interval).
pub const PUBLISH_LEAD_SECS: i64 = 4 * KEY_REFRESH_SECS;

/// The proxy, the two replicas behind it, and the clients registered before they started.
#[allow(missing_debug_implementations)]
pub struct Cluster {
    /// nginx in front of `a` and `b`; its URL is the issuer.
    pub nginx: Nginx,
    /// Replica A.
    pub a: ServerProcess,
    /// Replica B.
    pub b: ServerProcess,
    /// `http://127.0.0.1:PORT` of the proxy: the issuer of every token.
    pub issuer: String,
    /// The database both replicas use.
    pub db_url: String,
    /// A first-party web client (no consent page) with `offline_access`.
    pub app: WebClient,
    /// A client-credentials client `(id, secret)` for [`AUD`], ES256.
    pub svc: (String, String),
    /// A client-credentials client `(id, secret)` with the admin scopes.
    pub ops: (String, String),
    /// An HTTP client (no redirects followed).
    pub http: reqwest::Client,
}

/// The replicas' configuration file.
fn config(issuer: &str, db_url: &str) -> String {
    format!(
        "[server]
issuer = \"{issuer}\"
trusted_proxies = \"127.0.0.1\"

[database]
url = \"{db_url}\"
max_connections = 8

[keys]
kek_file = \"unused-kek\"
refresh_interval_secs = {KEY_REFRESH_SECS}
publish_lead_secs = {PUBLISH_LEAD_SECS}
rotation_period_secs = 86400
rsa_bits = 2048

[health]
shutdown_delay_secs = 0
"
    )
}

impl Cluster {
    /// Starts everything on a fresh PostgreSQL database; `None` (with a message) where PostgreSQL
    /// or nginx is missing and not required. The users and clients are created first, in-process
    /// on the same database (which also migrates it and makes the first keys), then both replicas
    /// start, then the proxy.
    pub async fn start() -> Option<Self> {
        if !postgres_available() {
            return None;
        }
        let nginx_bin = nginx_binary()?;
        let (db_url, db_name) = fresh_database(Backend::Postgres).await;
        let port = Nginx::pick_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let iss = issuer.clone();
        let setup = TestServer::start_on(
            &db_url,
            &db_name,
            ManualClock::new(SystemClock.now()),
            move |c| c.server.issuer = iss,
        )
        .await;
        setup.user("alice", PASSWORD).await;
        let app = setup.web_client("app", first_party()).await;
        let svc = setup.client("svc", Alg::Es256, &["api:read"], &[AUD]).await;
        let audience = setup.app.config.admin.audience.clone();
        let (ops, ops_secret) = setup
            .app
            .clients
            .create(new_client("ops", Alg::Es256, ADMIN_SCOPES, &[&audience]))
            .await
            .unwrap();
        setup.stop().await;

        let config = config(&issuer, &db_url);
        let kek = STANDARD.encode(TEST_KEK);
        let env = [
            ("AUTH_SERVER_KEYS_KEK", kek.as_str()),
            ("AUTH_SERVER_LOG", "warn"),
        ];
        let (a, b) = tokio::join!(
            ServerProcess::start("a", &config, &env),
            ServerProcess::start("b", &config, &env)
        );
        let nginx = Nginx::start(&nginx_bin, port, &[&a.addr, &b.addr]).await;
        Some(Self {
            nginx,
            a,
            b,
            issuer,
            db_url,
            app,
            svc,
            ops: (ops.id, ops_secret.unwrap()),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap(),
        })
    }

    /// The `/authorize` URL at `base` (a replica or the proxy) for the web client, with PKCE.
    pub fn authorize_url(&self, base: &str, pkce: &Pkce) -> String {
        let pairs = [
            ("response_type", "code"),
            ("client_id", self.app.id.as_str()),
            ("redirect_uri", self.app.redirect_uri.as_str()),
            ("scope", "openid offline_access"),
            ("state", "st"),
            ("nonce", "n-0S6"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        format!("{base}/authorize?{}", encode_form(&pairs))
    }

    /// POSTs `pairs` to `base/token` as the web client.
    pub async fn token_at(&self, base: &str, pairs: &[(&str, &str)]) -> Reply {
        let secret = self.app.secret.as_deref().unwrap();
        let auth = basic(&self.app.id, secret);
        post_token(&self.http, base, &auth, &encode_form(pairs))
            .await
            .expect("the token endpoint answers")
    }

    /// Redeems `code` at `base`.
    pub async fn redeem_at(&self, base: &str, code: &str, pkce: &Pkce) -> Reply {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.app.redirect_uri.as_str()),
            ("code_verifier", pkce.verifier.as_str()),
        ];
        self.token_at(base, &pairs).await
    }

    /// Refreshes `refresh_token` at `base`.
    pub async fn refresh_at(&self, base: &str, refresh_token: &str) -> Reply {
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token_at(base, &pairs).await
    }

    /// A client-credentials access token of `svc` from `base`.
    pub async fn svc_token_at(&self, base: &str) -> String {
        let (id, secret) = &self.svc;
        let r = post_token(
            &self.http,
            base,
            &basic(id, secret),
            "grant_type=client_credentials",
        )
        .await
        .expect("the token endpoint answers");
        assert_eq!(r.status, 200, "{}", r.body);
        r.string("access_token")
    }

    /// The JWKS served at `base`.
    pub async fn jwks_at(&self, base: &str) -> Value {
        let res = self.http.get(format!("{base}/jwks")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

/// A token endpoint's answer, and which server behind the proxy gave it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body (`Null` if none).
    pub body: Value,
    /// The last address in the proxy's `X-Upstream` (the replica that answered), if any.
    pub upstream: Option<String>,
}

impl Reply {
    /// A string field of the body.
    pub fn string(&self, k: &str) -> String {
        self.body[k]
            .as_str()
            .unwrap_or_else(|| panic!("no string {k} in {}", self.body))
            .to_owned()
    }
}

/// POSTs a form `body` to `base/token` with `authorization`; a transport error is returned.
pub async fn post_token(
    http: &reqwest::Client,
    base: &str,
    authorization: &str,
    body: &str,
) -> Result<Reply, reqwest::Error> {
    let res = http
        .post(format!("{base}/token"))
        .header("authorization", authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await?;
    let status = res.status().as_u16();
    let upstream = res
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(", ").next())
        .map(str::to_owned);
    let text = res.text().await?;
    Ok(Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        upstream,
    })
}
