//! `/admin/v1/clients`: register, list (paged by id), show, update (scopes, redirect URIs,
//! flags), enable and disable, rotate the secret, delete. Secrets are returned once, at creation
//! and rotation, and never stored.

use auth_core::Alg;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    AdminApi, AdminJson, AdminPath, AdminQuery, Caller, Op, Problem, Routes, client_auth_fields,
    schemas,
};
use crate::domain::clients::{
    Client, ClientError, ClientUpdate, Flip, NewClient, PreviousSecret, RateLimit,
    is_valid_client_id,
};
use crate::domain::values::DpopPolicy;

/// Most clients on one page.
pub const MAX_PAGE: u64 = 200;
/// Most entries in one list of a request (scopes, URIs...).
const MAX_LIST: usize = 100;

/// A client as the admin API shows it (never its secret or digest).
#[derive(Debug, Serialize)]
pub struct ClientView {
    client_id: String,
    name: String,
    enabled: bool,
    alg: &'static str,
    allowed_scopes: Vec<String>,
    default_scopes: Vec<String>,
    allowed_resources: Vec<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
    public: bool,
    first_party: bool,
    always_refresh: bool,
    introspect_any: bool,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    require_mfa: bool,
    rate_limit: Option<String>,
    previous_secret_valid_until: Option<i64>,
    token_endpoint_auth_method: &'static str,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    dpop: &'static str,
    require_pushed_authorization_requests: bool,
    created_at: i64,
    updated_at: i64,
}

impl ClientView {
    /// `c` as shown at `now`: whether (and until when) its previous secret is still accepted
    /// depends on it; never a secret or a digest.
    fn at(c: &Client, now: i64) -> Self {
        let mut v = Self::from(c);
        v.previous_secret_valid_until = c.previous_secret_valid_until(now);
        v
    }
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.clone(),
            name: c.name.clone(),
            enabled: c.enabled,
            alg: c.alg.as_str(),
            allowed_scopes: c.allowed_scopes.iter().cloned().collect(),
            default_scopes: c.default_scopes.iter().cloned().collect(),
            allowed_resources: c.allowed_resources.iter().cloned().collect(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            allowed_origins: c.allowed_origins.clone(),
            public: c.public,
            first_party: c.first_party,
            always_refresh: c.always_refresh,
            introspect_any: c.introspect_any,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            require_mfa: c.require_mfa,
            rate_limit: c.rate_limit.map(|r| r.to_string()),
            previous_secret_valid_until: None,
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str(),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            dpop: c.dpop.as_str(),
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// `POST /clients` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    client_id: Option<String>,
    name: String,
    alg: Option<String>,
    #[serde(default)]
    allowed_scopes: Vec<String>,
    #[serde(default)]
    default_scopes: Vec<String>,
    #[serde(default)]
    allowed_resources: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    first_party: bool,
    #[serde(default)]
    always_refresh: bool,
    #[serde(default)]
    introspect_any: bool,
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    backchannel_logout_session_required: bool,
    #[serde(default)]
    require_mfa: bool,
    rate_limit: Option<String>,
    token_endpoint_auth_method: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    dpop: Option<String>,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
}

/// `PATCH /clients/{client_id}` body: the fields to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    name: Option<String>,
    alg: Option<String>,
    allowed_scopes: Option<Vec<String>>,
    default_scopes: Option<Vec<String>>,
    allowed_resources: Option<Vec<String>>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    enabled: Option<bool>,
    first_party: Option<bool>,
    always_refresh: Option<bool>,
    introspect_any: Option<bool>,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: Option<bool>,
    require_mfa: Option<bool>,
    token_endpoint_auth_method: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    dpop: Option<String>,
    require_pushed_authorization_requests: Option<bool>,
    /// A limit, or `"default"` for the configured one.
    rate_limit: Option<String>,
}

/// `POST /clients/{client_id}/rotate-secret` query.
#[derive(Debug, Deserialize)]
pub struct RotateQuery {
    overlap_secs: Option<i64>,
}

/// `GET /clients` query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    after: Option<String>,
    limit: Option<u64>,
}

pub(super) fn register(r: Routes) -> Routes {
    let r = schemas::clients(r);
    r.add(
        Op::get("/clients", "List clients by id, a page at a time")
            .tag("clients")
            .query(
                "after",
                json!({"type": "string"}),
                "The previous page's `next`",
            )
            .query(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                "Page size (default 50)",
            )
            .ok("ClientList"),
        list,
    )
    .add(
        Op::post(
            "/clients",
            "Register a client; its secret is in this answer only",
        )
        .tag("clients")
        .body("ClientCreate")
        .response(201, "Created", Some("ClientCreated")),
        create,
    )
    .add(
        Op::get("/clients/{client_id}", "Show a client")
            .tag("clients")
            .ok("Client"),
        show,
    )
    .add(
        Op::patch(
            "/clients/{client_id}",
            "Change a client's scopes, redirect URIs or flags",
        )
        .tag("clients")
        .body("ClientPatch")
        .ok("Client"),
        patch,
    )
    .add(
        Op::delete(
            "/clients/{client_id}",
            "Delete a client, ending its grants and tokens",
        )
        .tag("clients")
        .response(204, "Deleted", None),
        delete,
    )
    .add(
        Op::post(
            "/clients/{client_id}/disable",
            "Disable a client (idempotent)",
        )
        .tag("clients")
        .ok("Client"),
        disable,
    )
    .add(
        Op::post(
            "/clients/{client_id}/enable",
            "Re-enable a client (idempotent)",
        )
        .tag("clients")
        .ok("Client"),
        enable,
    )
    .add(
        Op::post(
            "/clients/{client_id}/rotate-secret",
            "Issue a new secret; the old one stops working",
        )
        .tag("clients")
        .query(
            "overlap_secs",
            json!({"type": "integer", "minimum": 0, "maximum": crate::domain::clients::MAX_SECRET_OVERLAP_SECS}),
            "Seconds the previous secret stays accepted (default: clients.secret_rotation_overlap_secs; 0: it stops at once)",
        )
        .ok("ClientSecret"),
        rotate_secret,
    )
    .add(
        Op::post(
            "/clients/{client_id}/expire-previous-secret",
            "End the previous secret's overlap now (idempotent)",
        )
        .tag("clients")
        .ok("Client"),
        expire_previous_secret,
    )
}

/// A rate limit as written in a request (`"default"`: the configured one).
fn rate_limit(r: Option<String>) -> Result<Option<Option<RateLimit>>, Problem> {
    r.map(|r| match r.as_str() {
        "default" => Ok(None),
        _ => r
            .parse()
            .map(Some)
            .map_err(|e: crate::domain::values::RateLimitError| {
                Problem::bad_request(e.to_string())
            }),
    })
    .transpose()
}

/// A client-registry error as a problem.
fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Invalid(m) => Problem::bad_request(m),
        ClientError::Exists(_) => Problem::conflict(e.to_string()),
        ClientError::PublicClient(_) => Problem::typed(
            StatusCode::CONFLICT,
            "public_client",
            "Public client",
            e.to_string(),
        ),
        ClientError::Conflict(_) => Problem::typed(
            StatusCode::CONFLICT,
            "concurrent_change",
            "Concurrent change",
            e.to_string(),
        ),
        ClientError::Store(s) => Problem::unavailable(&s),
        ClientError::Rejected => Problem::bad_request("refused"),
    }
}

fn no_such_client() -> Problem {
    Problem::not_found("no such client")
}

/// The client id of a path, 404 when no client can have it (no lookup is made).
fn client_id(id: String) -> Result<String, Problem> {
    if is_valid_client_id(&id) {
        Ok(id)
    } else {
        Err(no_such_client())
    }
}

fn alg(a: Option<String>) -> Result<Option<Alg>, Problem> {
    a.map(|a| {
        a.parse::<Alg>()
            .map_err(|_| Problem::bad_request("alg must be RS256 or ES256"))
    })
    .transpose()
}

/// RFC 9449 policy: `allowed`, `required` or `disabled`.
fn dpop(p: Option<String>) -> Result<Option<DpopPolicy>, Problem> {
    p.map(|p| {
        p.parse::<DpopPolicy>()
            .map_err(|e| Problem::bad_request(e.to_string()))
    })
    .transpose()
}

fn check_name(name: &str) -> Result<(), Problem> {
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Problem::bad_request(
            "name must be 1 to 200 characters, without control characters",
        ));
    }
    Ok(())
}

fn check_lists(lists: &[Option<&Vec<String>>]) -> Result<(), Problem> {
    for l in lists.iter().flatten() {
        if l.len() > MAX_LIST {
            return Err(Problem::bad_request(format!(
                "at most {MAX_LIST} entries per list"
            )));
        }
    }
    Ok(())
}

async fn list(
    State(api): State<AdminApi>,
    AdminQuery(q): AdminQuery<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    // An id no client can have sorts like any other string; one with a NUL never reaches the
    // database.
    if q.after.as_deref().is_some_and(|a| a.contains('\0')) {
        return Err(Problem::bad_request("invalid after"));
    }
    let page = api
        .clients
        .page(q.after.as_deref(), limit)
        .await
        .map_err(problem)?;
    let clients: Vec<ClientView> = page
        .clients
        .iter()
        .map(|c| ClientView::at(c, api.clock.now()))
        .collect();
    Ok(Json(json!({"clients": clients, "next": page.next})))
}

async fn create(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminJson(b): AdminJson<CreateBody>,
) -> Result<Response, Problem> {
    check_name(&b.name)?;
    check_lists(&[
        Some(&b.allowed_scopes),
        Some(&b.default_scopes),
        Some(&b.allowed_resources),
        Some(&b.redirect_uris),
        Some(&b.post_logout_redirect_uris),
        Some(&b.allowed_origins),
    ])?;
    let new = NewClient {
        id: b.client_id,
        name: b.name,
        alg: alg(b.alg)?.unwrap_or(Alg::Es256),
        allowed_scopes: b.allowed_scopes,
        default_scopes: b.default_scopes,
        allowed_resources: b.allowed_resources,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        allowed_origins: b.allowed_origins,
        public: b.public,
        first_party: b.first_party,
        always_refresh: b.always_refresh,
        introspect_any: b.introspect_any,
        backchannel_logout_uri: b.backchannel_logout_uri,
        backchannel_logout_session_required: b.backchannel_logout_session_required,
        require_mfa: b.require_mfa,
        rate_limit: rate_limit(b.rate_limit)?.flatten(),
        token_endpoint_auth_method: client_auth_fields::auth_method(b.token_endpoint_auth_method)?,
        jwks: client_auth_fields::jwks_text(b.jwks)?,
        jwks_uri: b.jwks_uri,
        dpop: dpop(b.dpop)?.unwrap_or_default(),
        require_pushed_authorization_requests: b.require_pushed_authorization_requests,
    };
    let (client, secret) = api
        .clients
        .create_by(new, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    let body = json!({"client": ClientView::at(&client, api.clock.now()), "client_secret": secret});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn show(
    State(api): State<AdminApi>,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<ClientView>, Problem> {
    let id = client_id(id)?;
    match api.clients.fresh(&id).await.map_err(problem)? {
        Some(c) => Ok(Json(ClientView::at(&c, api.clock.now()))),
        None => Err(no_such_client()),
    }
}

async fn patch(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
    AdminJson(b): AdminJson<PatchBody>,
) -> Result<Json<ClientView>, Problem> {
    let id = client_id(id)?;
    if let Some(n) = &b.name {
        check_name(n)?;
    }
    check_lists(&[
        b.allowed_scopes.as_ref(),
        b.default_scopes.as_ref(),
        b.allowed_resources.as_ref(),
        b.redirect_uris.as_ref(),
        b.post_logout_redirect_uris.as_ref(),
        b.allowed_origins.as_ref(),
    ])?;
    let update = ClientUpdate {
        name: b.name,
        alg: alg(b.alg)?,
        allowed_scopes: b.allowed_scopes,
        default_scopes: b.default_scopes,
        allowed_resources: b.allowed_resources,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        allowed_origins: b.allowed_origins,
        enabled: b.enabled,
        first_party: b.first_party,
        always_refresh: b.always_refresh,
        introspect_any: b.introspect_any,
        backchannel_logout_uri: b.backchannel_logout_uri,
        backchannel_logout_session_required: b.backchannel_logout_session_required,
        require_mfa: b.require_mfa,
        rate_limit: rate_limit(b.rate_limit)?,
        token_endpoint_auth_method: client_auth_fields::auth_method(b.token_endpoint_auth_method)?,
        jwks: client_auth_fields::jwks_text(b.jwks)?,
        jwks_uri: b.jwks_uri,
        dpop: dpop(b.dpop)?,
        require_pushed_authorization_requests: b.require_pushed_authorization_requests,
    };
    match api
        .clients
        .update_by(&id, update, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?
    {
        Some(c) => Ok(Json(ClientView::at(&c, api.clock.now()))),
        None => Err(no_such_client()),
    }
}

async fn set_enabled(
    api: &AdminApi,
    caller: &Caller,
    id: String,
    enabled: bool,
) -> Result<Json<ClientView>, Problem> {
    let id = client_id(id)?;
    let flip = api
        .clients
        .set_enabled_by(&id, enabled, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    if flip == Flip::NotFound {
        return Err(no_such_client());
    }
    match api.clients.fresh(&id).await.map_err(problem)? {
        Some(c) => Ok(Json(ClientView::at(&c, api.clock.now()))),
        None => Err(no_such_client()),
    }
}

async fn disable(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<ClientView>, Problem> {
    set_enabled(&api, &caller, id, false).await
}

async fn enable(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<ClientView>, Problem> {
    set_enabled(&api, &caller, id, true).await
}

async fn rotate_secret(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
    AdminQuery(q): AdminQuery<RotateQuery>,
) -> Result<Json<Value>, Problem> {
    let id = client_id(id)?;
    match api
        .clients
        .rotate_secret_by(&id, q.overlap_secs, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?
    {
        Some(r) => Ok(Json(json!({
            "client_id": id, "client_secret": r.secret,
            "previous_secret_valid_until": r.previous_valid_until,
        }))),
        None => Err(no_such_client()),
    }
}

async fn expire_previous_secret(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<ClientView>, Problem> {
    let id = client_id(id)?;
    let done = api
        .clients
        .expire_previous_secret_by(&id, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    if done == PreviousSecret::NotFound {
        return Err(no_such_client());
    }
    match api.clients.fresh(&id).await.map_err(problem)? {
        Some(c) => Ok(Json(ClientView::at(&c, api.clock.now()))),
        None => Err(no_such_client()),
    }
}

async fn delete(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<StatusCode, Problem> {
    let id = client_id(id)?;
    if api
        .clients
        .delete_by(&id, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_client())
    }
}
