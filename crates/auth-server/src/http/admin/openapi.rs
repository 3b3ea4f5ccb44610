//! The admin API's routes and its OpenAPI 3.1 document, from one registration: each endpoint is
//! added to [`Routes`] with its [`Op`] (method, path, summary, parameters, body and response
//! schemas), which both routes it and documents it, so a route cannot exist undocumented or the
//! reverse. `GET /admin/v1/openapi.json` serves the document.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use serde_json::{Map, Value, json};

use super::AdminApi;

/// The HTTP methods the admin API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    /// `GET` (scope `admin:read`).
    Get,
    /// `POST` (scope `admin:write`).
    Post,
    /// `PUT` (scope `admin:write`).
    Put,
    /// `PATCH` (scope `admin:write`).
    Patch,
    /// `DELETE` (scope `admin:write`).
    Delete,
}

impl Verb {
    /// The lower-case name, as OpenAPI keys operations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }

    /// The scope the method needs (see [`super::auth`]).
    pub fn scope(self) -> &'static str {
        match self {
            Self::Get => super::auth::READ_SCOPE,
            _ => super::auth::WRITE_SCOPE,
        }
    }
}

/// One documented operation. Paths are relative to `/admin/v1` and use `{name}` for parameters
/// (axum's syntax and OpenAPI's); every path parameter is a string.
#[derive(Debug, Clone)]
pub struct Op {
    /// The method.
    pub verb: Verb,
    /// The path under `/admin/v1`.
    pub path: &'static str,
    summary: &'static str,
    tag: &'static str,
    query: Vec<Value>,
    body: Option<&'static str>,
    responses: Vec<(u16, &'static str, Option<&'static str>)>,
    public: bool,
}

impl Op {
    /// An operation `verb path`, summarised.
    pub fn new(verb: Verb, path: &'static str, summary: &'static str) -> Self {
        Self {
            verb,
            path,
            summary,
            tag: "admin",
            query: Vec::new(),
            body: None,
            responses: Vec::new(),
            public: false,
        }
    }

    /// `GET path`.
    pub fn get(path: &'static str, summary: &'static str) -> Self {
        Self::new(Verb::Get, path, summary)
    }
    /// `POST path`.
    pub fn post(path: &'static str, summary: &'static str) -> Self {
        Self::new(Verb::Post, path, summary)
    }
    /// `PATCH path`.
    pub fn patch(path: &'static str, summary: &'static str) -> Self {
        Self::new(Verb::Patch, path, summary)
    }
    /// `PUT path`.
    pub fn put(path: &'static str, summary: &'static str) -> Self {
        Self::new(Verb::Put, path, summary)
    }
    /// `DELETE path`.
    pub fn delete(path: &'static str, summary: &'static str) -> Self {
        Self::new(Verb::Delete, path, summary)
    }

    /// Groups it under `tag`.
    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    /// A query parameter with its JSON schema.
    pub fn query(mut self, name: &str, schema: Value, description: &str) -> Self {
        self.query.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": schema,
        }));
        self
    }

    /// A required JSON request body of the named component schema.
    pub fn body(mut self, schema: &'static str) -> Self {
        self.body = Some(schema);
        self
    }

    /// A success (or other) response: `status`, description, and the named component schema of its
    /// JSON body (`None`: no body).
    pub fn response(
        mut self,
        status: u16,
        description: &'static str,
        schema: Option<&'static str>,
    ) -> Self {
        self.responses.push((status, description, schema));
        self
    }

    /// `200` with a JSON body of `schema`.
    pub fn ok(self, schema: &'static str) -> Self {
        self.response(200, "OK", Some(schema))
    }

    /// Served without a token (the OpenAPI document itself).
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn path_params(&self) -> Vec<Value> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect()
    }

    fn document(&self) -> Value {
        let mut responses = Map::new();
        for (status, description, schema) in &self.responses {
            let mut r = json!({"description": description});
            if let Some(s) = schema {
                r["content"] = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}});
            }
            responses.insert(status.to_string(), r);
        }
        responses.insert(
            "default".into(),
            json!({"$ref": "#/components/responses/Problem"}),
        );
        let mut op = json!({
            "operationId": format!("{}{}", self.verb.as_str(), self.path.replace(['/', '{', '}'], "_")),
            "summary": self.summary,
            "tags": [self.tag],
            "parameters": self.path_params().into_iter().chain(self.query.iter().cloned()).collect::<Vec<_>>(),
            "responses": responses,
        });
        if self.public {
            op["security"] = json!([]);
        } else {
            op["description"] = json!(format!("Needs a token with scope `{}`.", self.verb.scope()));
        }
        if let Some(s) = self.body {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}},
            });
        }
        op
    }
}

/// The admin API's routes and their documentation, built together.
#[derive(Debug)]
pub struct Routes {
    authenticated: Router<AdminApi>,
    public: Router<AdminApi>,
    ops: Vec<Op>,
    schemas: BTreeMap<&'static str, Value>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self {
            authenticated: Router::new(),
            public: Router::new(),
            ops: Vec::new(),
            schemas: BTreeMap::new(),
        }
    }

    /// Routes `op` to `handler` and documents it.
    pub fn add<H, T>(mut self, op: Op, handler: H) -> Self
    where
        H: Handler<T, AdminApi>,
        T: 'static,
    {
        let route = on(op.verb.filter(), handler);
        if op.public {
            self.public = self.public.route(op.path, route);
        } else {
            self.authenticated = self.authenticated.route(op.path, route);
        }
        self.ops.push(op);
        self
    }

    /// Adds a component schema (JSON Schema 2020-12, as OpenAPI 3.1 uses) named `name`.
    pub fn schema(mut self, name: &'static str, schema: Value) -> Self {
        self.schemas.insert(name, schema);
        self
    }

    /// The documented operations.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The routers (authenticated, public) and the document.
    pub(super) fn finish(self) -> (Router<AdminApi>, Router<AdminApi>, Value) {
        let doc = self.document();
        (self.authenticated, self.public, doc)
    }

    /// The OpenAPI 3.1 document.
    pub fn document(&self) -> Value {
        let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for op in &self.ops {
            paths
                .entry(format!("/admin/v1{}", op.path))
                .or_default()
                .insert(op.verb.as_str().to_owned(), op.document());
        }
        let mut schemas: Map<String, Value> = self
            .schemas
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        schemas.insert("Problem".into(), super::problem::schema());
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "auth-server admin API",
                "version": "1",
                "description": "Administration of the identity provider. Authenticate with an access token of this IdP \
                    (client credentials) whose audience is the configured admin.audience: scope admin:read for GET, \
                    admin:write for every change. Errors are RFC 9457 problem details.",
            },
            "security": [{"bearer": []}],
            "paths": paths,
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                },
                "schemas": schemas,
                "responses": {
                    "Problem": {
                        "description": "An error (RFC 9457 problem details)",
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    }
                }
            }
        })
    }
}
