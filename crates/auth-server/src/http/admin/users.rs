//! `/admin/v1/users`: create, search with keyset paging, show, update, disable, set a password,
//! delete. Each change is one transaction with its audit event, whose actor is the caller's client
//! id (see [`crate::domain::users::admin`]). A password is accepted, never shown: a user is shown
//! with `has_password` only.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::{AdminApi, AdminJson, AdminPath, AdminQuery, Caller, Op, Problem, Routes};
use crate::domain::passwords::PasswordError;
use crate::domain::users::admin::MAX_PAGE;
use crate::domain::users::{NewUser, Operator, User, UserEdit, UserError, UserSearch};

/// A user as the admin API shows it (never a password or its hash).
#[derive(Debug, Serialize)]
pub struct UserView {
    id: String,
    username: String,
    email: Option<String>,
    display_name: String,
    disabled: bool,
    has_password: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            disabled: u.disabled,
            has_password: u.has_password,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// The operator of a request: its caller.
pub(super) fn operator(caller: &Caller) -> Operator {
    Operator::api(&caller.client_id, caller.request.clone())
}

/// The problem of a failed user operation.
pub(super) fn problem(e: UserError) -> Problem {
    match e {
        UserError::Invalid(m) => Problem::bad_request(m),
        UserError::Exists(name) => Problem::typed(
            StatusCode::CONFLICT,
            "username_taken",
            "Username taken",
            format!("a user named {name:?} already exists"),
        ),
        UserError::NotFound(_) | UserError::UnknownId(_) => Problem::not_found("no such user"),
        UserError::Password(PasswordError::Busy) => Problem::unavailable(&"password hashing busy"),
        UserError::Password(e) => Problem::unavailable(&e),
        UserError::Store(e) => Problem::unavailable(&e),
    }
}

const USERNAME: &str = r"^[A-Za-z0-9._@-]{1,64}$";
/// No control character (what the server refuses), and not only white space.
const DISPLAY_NAME: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
const EMAIL: &str = r"^[^\s\u0000-\u001f\u007f-\u009f]*@[^\s\u0000-\u001f\u007f-\u009f]*$";

pub(super) fn register(r: Routes) -> Routes {
    let time = json!({"type": "integer", "description": "Unix seconds"});
    let username = json!({"type": "string", "pattern": USERNAME});
    let email = json!({"type": "string", "maxLength": 254, "pattern": EMAIL});
    let nullable_email = json!({"type": ["string", "null"], "maxLength": 254, "pattern": EMAIL,
                                "description": "null removes it"});
    let display =
        json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": DISPLAY_NAME});
    let password = json!({"type": "string", "minLength": 8,
                          "description": "8 characters or more, at most 1024 bytes; never shown"});
    let r = r
        .schema(
            "User",
            json!({
                "type": "object",
                "required": ["id", "username", "email", "display_name", "disabled", "has_password",
                             "created_at", "updated_at"],
                "properties": {
                    "id": {"type": "string", "description": "The subject identifier (sub)"},
                    "username": {"type": "string"},
                    "email": {"type": ["string", "null"]},
                    "display_name": {"type": "string"},
                    "disabled": {"type": "boolean"},
                    "has_password": {"type": "boolean"},
                    "created_at": time, "updated_at": time,
                }
            }),
        )
        .schema(
            "UserList",
            json!({
                "type": "object", "required": ["users", "next_cursor"],
                "properties": {
                    "users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
                    "next_cursor": {"type": ["string", "null"],
                                    "description": "Pass as cursor for the next page; null on the last"},
                }
            }),
        )
        .schema(
            "CreateUser",
            json!({
                "type": "object", "additionalProperties": false, "required": ["username"],
                "properties": {
                    "username": username, "email": email, "display_name": display,
                    "password": password,
                }
            }),
        )
        .schema(
            "UpdateUser",
            json!({
                "type": "object", "additionalProperties": false, "minProperties": 1,
                "properties": {
                    "username": username, "email": nullable_email, "display_name": display,
                    "disabled": {"type": "boolean",
                                 "description": "true ends every session and grant of the user"},
                }
            }),
        )
        .schema(
            "SetPassword",
            json!({
                "type": "object", "additionalProperties": false, "required": ["password"],
                "properties": {"password": password}
            }),
        );
    r.add(
        Op::post("/users", "Create a user")
            .tag("users")
            .body("CreateUser")
            .response(201, "Created", Some("User")),
        create,
    )
    .add(
        Op::get("/users", "Search users by username, a page at a time")
            .tag("users")
            .query(
                "q",
                json!({"type": "string", "maxLength": 254}),
                "Only users whose username or e-mail address contains this (ASCII case ignored)",
            )
            .query(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                "Users per page (default 50)",
            )
            .query(
                "cursor",
                json!({"type": "string"}),
                "The next_cursor of the previous page",
            )
            .ok("UserList"),
        list,
    )
    .add(
        Op::get("/users/{id}", "Show a user").tag("users").ok("User"),
        show,
    )
    .add(
        Op::patch("/users/{id}", "Change a user's profile or enabled flag")
            .tag("users")
            .body("UpdateUser")
            .ok("User"),
        update,
    )
    .add(
        Op::delete("/users/{id}", "Delete a user with their sessions, grants and consents; their access tokens are revoked")
            .tag("users")
            .response(204, "Deleted", None),
        delete,
    )
    .add(
        Op::post("/users/{id}/disable", "Disable a user: sign-in refused, every session and grant ended, access tokens revoked")
            .tag("users")
            .ok("User"),
        disable,
    )
    .add(
        Op::put("/users/{id}/password", "Set a user's password: every session and grant ends, access tokens revoked")
            .tag("users")
            .body("SetPassword")
            .response(204, "Set", None),
        set_password,
    )
}

/// `POST /users` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    email: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("has_password", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

async fn create(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminJson(body): AdminJson<CreateUser>,
) -> Result<Response, Problem> {
    let new = NewUser {
        username: body.username,
        email: body.email,
        display_name: body.display_name,
        password: body.password,
    };
    let u = api
        .users
        .create_as(new, &operator(&caller))
        .await
        .map_err(problem)?;
    let location = format!("users/{}", u.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(UserView::from(u)),
    )
        .into_response())
}

/// `GET /users` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

async fn list(
    State(api): State<AdminApi>,
    AdminQuery(q): AdminQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    let page = api
        .users
        .search(&UserSearch {
            text: q.q,
            cursor: q.cursor,
            limit: q.limit,
        })
        .await
        .map_err(problem)?;
    let users: Vec<UserView> = page.users.into_iter().map(UserView::from).collect();
    Ok(Json(
        json!({ "users": users, "next_cursor": page.next_cursor }),
    ))
}

async fn show(
    State(api): State<AdminApi>,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<UserView>, Problem> {
    match api.users.get(&id).await.map_err(problem)? {
        Some(u) => Ok(Json(u.into())),
        None => Err(Problem::not_found("no such user")),
    }
}

/// Present in the body, even as `null` (`Some(None)`); absent is `None` (with `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /users/{id}` body: a field left out is left as it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "present")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    disabled: Option<Option<bool>>,
}

/// A field that may be left out but not be `null`.
fn not_null<T>(field: &str, v: Option<Option<T>>) -> Result<Option<T>, Problem> {
    match v {
        Some(None) => Err(Problem::bad_request(format!("{field} cannot be null"))),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

async fn update(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
    AdminJson(body): AdminJson<UpdateUser>,
) -> Result<Json<UserView>, Problem> {
    let edit = UserEdit {
        username: not_null("username", body.username)?,
        email: body.email,
        display_name: not_null("display_name", body.display_name)?,
        disabled: not_null("disabled", body.disabled)?,
    };
    let u = api
        .users
        .update_as(&id, edit, &operator(&caller))
        .await
        .map_err(problem)?;
    Ok(Json(u.into()))
}

async fn disable(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<UserView>, Problem> {
    let u = api
        .users
        .disable_as(&id, &operator(&caller))
        .await
        .map_err(problem)?;
    Ok(Json(u.into()))
}

/// `PUT /users/{id}/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    password: String,
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetPassword { .. }")
    }
}

async fn set_password(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
    AdminJson(body): AdminJson<SetPassword>,
) -> Result<StatusCode, Problem> {
    api.users
        .set_password_as(&id, body.password, &operator(&caller))
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<StatusCode, Problem> {
    api.users
        .delete_as(&id, &operator(&caller))
        .await
        .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT)
}
