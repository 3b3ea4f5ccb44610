//! Driving the browser side of the authorization-code flow over plain HTTP: an [`Agent`] that keeps
//! cookies and does not follow redirects, the IdP's forms read back from its HTML, and PKCE.

use std::collections::HashMap;

use auth_server::domain::clients::NewClient;
use auth_server::domain::users::NewUser;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{TestServer, basic, new_client};

/// A browser stand-in: a cookie jar, no redirect following. A clone is the same browser in another
/// tab (the cookies as they are now).
#[derive(Debug, Clone)]
pub struct Agent {
    http: reqwest::Client,
    /// Cookies by name.
    pub cookies: HashMap<String, String>,
}

/// One response, read.
#[derive(Debug)]
pub struct Page {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

impl Page {
    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// A query parameter of the `Location` header.
    pub fn location_param(&self, name: &str) -> Option<String> {
        query_param(self.location()?, name)
    }

    /// The value of `<input type="hidden" name="NAME" value="...">` (HTML-unescaped).
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(unescape(&self.body[start..end]))
    }

    /// Every hidden field, in order.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        let marker = "<input type=\"hidden\" name=\"";
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let Some(name_end) = rest.find('"') else {
                break;
            };
            let name = unescape(&rest[..name_end]);
            let Some(v) = rest.find("value=\"") else {
                break;
            };
            let value_rest = &rest[v + 7..];
            let Some(value_end) = value_rest.find('"') else {
                break;
            };
            out.push((name, unescape(&value_rest[..value_end])));
            rest = &value_rest[value_end..];
        }
        out
    }

    /// The `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A query parameter of a URL, percent-decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// `application/x-www-form-urlencoded` encoding of pairs.
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Default for Agent {
    fn default() -> Self {
        Self::new()
    }
}

impl Agent {
    /// An empty browser.
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    /// A browser that sends `value` as its SSO session cookie (`auth_session`), say a planted one.
    pub fn with_session(value: &str) -> Self {
        let mut agent = Self::new();
        agent
            .cookies
            .insert("auth_session".to_owned(), value.to_owned());
        agent
    }

    /// A browser whose requests reach the IdP through a reverse proxy that reports the client as
    /// `forwarded_for` (the `X-Forwarded-For` value, sent on every request).
    pub fn forwarded_for(forwarded_for: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, res: reqwest::Response) -> Page {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = res.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// GET with the cookies.
    pub async fn get(&mut self, url: &str) -> Page {
        let res = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// POST a form with the cookies.
    pub async fn post(&mut self, url: &str, pairs: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(pairs))
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Submits the IdP form on `page` to `action`: its hidden fields plus `extra`.
    pub async fn submit(&mut self, page: &Page, action: &str, extra: &[(&str, &str)]) -> Page {
        let hidden = page.hidden_fields();
        let mut pairs: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.extend_from_slice(extra);
        self.post(action, &pairs).await
    }
}

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The verifier.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair.
    pub fn new() -> Self {
        let verifier = auth_server::domain::random::token(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// How a test client is registered.
#[derive(Debug, Clone)]
pub struct WebClient {
    /// Client id.
    pub id: String,
    /// Secret (None for public clients).
    pub secret: Option<String>,
    /// Its one redirect URI.
    pub redirect_uri: String,
}

/// Options for [`TestServer::web_client`].
#[derive(Debug, Clone, Default)]
pub struct WebClientOptions {
    /// A public client (no secret).
    pub public: bool,
    /// Skip consent.
    pub first_party: bool,
    /// Refresh tokens without `offline_access`.
    pub always_refresh: bool,
    /// Post-logout URI.
    pub post_logout: Option<String>,
}

/// Options for a first-party client (no consent page).
pub fn first_party() -> WebClientOptions {
    WebClientOptions {
        first_party: true,
        ..Default::default()
    }
}

impl WebClientOptions {
    /// Also a public client (no secret).
    pub fn public(self) -> Self {
        Self {
            public: true,
            ..self
        }
    }

    /// Also refresh tokens without `offline_access`.
    pub fn always_refresh(self) -> Self {
        Self {
            always_refresh: true,
            ..self
        }
    }

    /// Also the post-logout redirect URI `uri`.
    pub fn post_logout(self, uri: &str) -> Self {
        Self {
            post_logout: Some(uri.to_owned()),
            ..self
        }
    }
}

impl TestServer {
    /// `grant_type=refresh_token` as `client`, optionally narrowing `scope`.
    pub async fn refresh(
        &self,
        client: &WebClient,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> (u16, Value) {
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        self.token_as(client, &pairs).await
    }

    /// Creates a user with a password; returns the subject id.
    pub async fn user(&self, username: &str, password: &str) -> String {
        self.app
            .users
            .create(NewUser {
                username: username.to_owned(),
                email: Some(format!("{username}@example.com")),
                display_name: Some(format!("User {username}")),
                password: Some(password.to_owned()),
            })
            .await
            .unwrap()
            .id
    }

    /// Registers a client for the code flow, redirecting to `https://{id}.example/cb`, with scopes
    /// `openid profile email offline_access`.
    pub async fn web_client(&self, id: &str, o: WebClientOptions) -> WebClient {
        let redirect_uri = format!("https://{id}.example/cb");
        let scopes = ["openid", "profile", "email", "offline_access"];
        let new = NewClient {
            name: format!("App {id}"),
            default_scopes: vec!["openid".to_owned()],
            redirect_uris: vec![redirect_uri.clone()],
            post_logout_redirect_uris: o.post_logout.into_iter().collect(),
            public: o.public,
            first_party: o.first_party,
            always_refresh: o.always_refresh,
            ..new_client(id, auth_core::Alg::Es256, &scopes, &[])
        };
        let (c, secret) = self.app.clients.create(new).await.unwrap();
        WebClient {
            id: c.id,
            secret,
            redirect_uri,
        }
    }

    /// The `/authorize` URL for `client` with PKCE, `state=st`, `nonce=n-0S6`, and `extra` parameters.
    pub fn authorize_url(
        &self,
        client: &WebClient,
        pkce: &Pkce,
        scope: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", scope),
            ("state", "st"),
            ("nonce", "n-0S6"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        format!("{}/authorize?{}", self.base, encode_form(&pairs))
    }

    /// Signs in on the login page `page` (as returned by `/authorize`); returns the response.
    pub async fn sign_in(&self, agent: &mut Agent, page: &Page, user: &str, pw: &str) -> Page {
        assert_eq!(page.status, 200, "expected the login page: {}", page.body);
        crate::sso_support::try_login(self, agent, page, user, pw).await
    }

    /// The whole browser part for a first-party client: authorize, sign in; returns the code.
    pub async fn code_for(
        &self,
        agent: &mut Agent,
        client: &WebClient,
        pkce: &Pkce,
        scope: &str,
        user: &str,
        pw: &str,
    ) -> String {
        let page = agent
            .get(&self.authorize_url(client, pkce, scope, &[]))
            .await;
        let done = if page.status == 200 {
            self.sign_in(agent, &page, user, pw).await
        } else {
            page
        };
        assert!(
            matches!(done.status, 302 | 303),
            "expected a redirect: {} {}",
            done.status,
            done.body
        );
        let loc = done.location().unwrap();
        assert!(loc.starts_with(&client.redirect_uri), "{loc}");
        assert_eq!(done.location_param("state").as_deref(), Some("st"));
        done.location_param("code").expect("a code")
    }

    /// POSTs to `/token` as `client` (Basic for confidential clients, `client_id` for public ones).
    pub async fn token_as(&self, client: &WebClient, pairs: &[(&str, &str)]) -> (u16, Value) {
        self.endpoint_as("/token", client, pairs).await
    }

    /// POSTs a form to `path` authenticated as `client`; returns status and JSON body (Null if none).
    pub async fn endpoint_as(
        &self,
        path: &str,
        client: &WebClient,
        pairs: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut pairs = pairs.to_vec();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded");
        match &client.secret {
            Some(s) => req = req.header("authorization", basic(&client.id, s)),
            None => pairs.push(("client_id", client.id.as_str())),
        }
        let res = req.body(encode_form(&pairs)).send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Redeems a code.
    pub async fn redeem(&self, client: &WebClient, code: &str, verifier: &str) -> (u16, Value) {
        let redirect_uri = client.redirect_uri.as_str();
        let pairs = [
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        self.redeem_with(client, &pairs).await
    }

    /// `grant_type=authorization_code` as `client` with `pairs` (what [`TestServer::redeem`] sends,
    /// changed or left out).
    pub async fn redeem_with(&self, client: &WebClient, pairs: &[(&str, &str)]) -> (u16, Value) {
        let mut all = vec![("grant_type", "authorization_code")];
        all.extend_from_slice(pairs);
        self.token_as(client, &all).await
    }

    /// Introspects `token` as `client`.
    pub async fn introspect(&self, client: &WebClient, token: &str) -> Value {
        let (status, body) = self
            .endpoint_as("/introspect", client, &[("token", token)])
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}
