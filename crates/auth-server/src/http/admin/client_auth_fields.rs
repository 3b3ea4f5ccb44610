//! The admin API's client-authentication fields (`token_endpoint_auth_method`, `jwks`; RFC 7591
//! §2), read from a request body into what the client registry takes.

use serde_json::Value;

use super::Problem;
use crate::domain::clients::AuthMethod;

/// A `token_endpoint_auth_method`, if given.
pub(super) fn auth_method(m: Option<String>) -> Result<Option<AuthMethod>, Problem> {
    m.map(|m| m.parse::<AuthMethod>().map_err(Problem::bad_request))
        .transpose()
}

/// A `jwks` member as the JSON text the registry keeps: an object, or absent.
pub(super) fn jwks_text(j: Option<Value>) -> Result<Option<String>, Problem> {
    match j {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(_) => Err(Problem::bad_request(
            "jwks must be a JWK Set (a JSON object)",
        )),
    }
}
