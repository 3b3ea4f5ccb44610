//! JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the admin API's bodies, kept beside each other
//! so the document reads as one; the handlers' serde types must match them (the schemathesis run
//! checks every response against them).

use serde_json::{Value, json};

use super::Routes;

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "maxItems": 100})
}

/// The clients' schemas.
pub(super) fn clients(r: Routes) -> Routes {
    let props = |extra: Value| {
        let mut p = json!({
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "alg": {"type": "string", "enum": ["ES256", "RS256"]},
            "allowed_scopes": strings(),
            "default_scopes": strings(),
            "allowed_resources": strings(),
            "redirect_uris": strings(),
            "post_logout_redirect_uris": strings(),
            "allowed_origins": strings(),
            "first_party": {"type": "boolean"},
            "always_refresh": {"type": "boolean"},
            "introspect_any": {"type": "boolean"},
            "backchannel_logout_uri": {"type": ["string", "null"], "maxLength": 2048,
                "description": "OpenID Connect Back-Channel Logout 1.0: https (http on a loopback host), no fragment; an empty string removes it"},
            "backchannel_logout_session_required": {"type": "boolean"},
            "require_mfa": {"type": "boolean"},
            "rate_limit": {"type": ["string", "null"], "maxLength": 64,
                "description": "Its own limit at /token, /introspect and /revoke: `<requests>/<s|min|h>[,burst=<n>]` or `off`; null (in a request: \"default\") for rate_limits.per_client"},
            "token_endpoint_auth_method": {"type": "string",
                "enum": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
                "description": "RFC 7591 §2; default none for a public client, else client_secret_basic (either secret method accepts the secret in Basic or the body); private_key_jwt needs jwks or jwks_uri and has no secret"},
            "jwks": {"type": ["object", "null"],
                "description": "private_key_jwt: the client's public keys (RFC 7517 JWK Set, public members only; ES256, RS256, PS256, EdDSA keys)"},
            "jwks_uri": {"type": ["string", "null"], "maxLength": 2048,
                "description": "private_key_jwt: where the client's JWK Set is fetched: https (http on a loopback host); an empty string removes it"},
            "dpop": {"type": "string", "enum": ["allowed", "required", "disabled"],
                "description": "DPoP (RFC 9449): allowed (default; a proof binds the tokens to its key), required (a token request without a proof is refused), disabled (proofs are refused)"},
            "require_pushed_authorization_requests": {"type": "boolean",
                "description": "RFC 9126 §6: authorization requests must be pushed to /par first"},
        });
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        p
    };
    let client = json!({
        "type": "object",
        "required": ["client_id", "name", "enabled", "alg", "allowed_scopes", "default_scopes",
                     "allowed_resources", "redirect_uris", "post_logout_redirect_uris", "allowed_origins",
                     "public", "first_party", "always_refresh", "introspect_any", "backchannel_logout_uri",
                     "backchannel_logout_session_required", "require_mfa", "rate_limit",
                     "previous_secret_valid_until", "token_endpoint_auth_method", "jwks", "jwks_uri",
                     "dpop", "require_pushed_authorization_requests",
                     "created_at", "updated_at"],
        "properties": props(json!({
            "client_id": {"type": "string"},
            "enabled": {"type": "boolean"},
            "public": {"type": "boolean"},
            "created_at": {"type": "integer"},
            "updated_at": {"type": "integer"},
            "name": {"type": "string"},
            "previous_secret_valid_until": {"type": ["integer", "null"],
                "description": "Until when (Unix time) the secret replaced by the last rotation is still accepted; null when it is not"},
        })),
    });
    r.schema("Client", client)
        .schema(
            "ClientList",
            json!({
                "type": "object", "required": ["clients", "next"],
                "properties": {
                    "clients": {"type": "array", "items": {"$ref": "#/components/schemas/Client"}},
                    "next": {"type": ["string", "null"], "description": "Pass as `after` for the next page; null on the last"}
                }
            }),
        )
        .schema(
            "ClientCreate",
            json!({
                "type": "object", "required": ["name"], "additionalProperties": false,
                "properties": props(json!({
                    "client_id": {"type": "string", "description": "Default: random"},
                    "public": {"type": "boolean", "description": "No secret; PKCE only"},
                })),
            }),
        )
        .schema(
            "ClientPatch",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": props(json!({"enabled": {"type": "boolean"}})),
            }),
        )
        .schema(
            "ClientCreated",
            json!({
                "type": "object", "required": ["client", "client_secret"],
                "properties": {
                    "client": {"$ref": "#/components/schemas/Client"},
                    "client_secret": {"type": ["string", "null"], "description": "Shown only now; null for a public client"}
                }
            }),
        )
        .schema(
            "ClientSecret",
            json!({
                "type": "object", "required": ["client_id", "client_secret", "previous_secret_valid_until"],
                "properties": {"client_id": {"type": "string"}, "client_secret": {"type": "string"},
                    "previous_secret_valid_until": {"type": ["integer", "null"],
                        "description": "Until when the replaced secret is still accepted; null: it stopped at once"}}
            }),
        )
}

/// The audit events' schemas.
pub(super) fn audit(r: Routes) -> Routes {
    let opt = json!({"type": ["string", "null"]});
    r.schema(
        "AuditEvent",
        json!({
            "type": "object",
            "required": ["id", "at", "type", "actor_kind", "actor_id", "user_id", "client_id",
                         "subject", "client_addr", "request_id", "detail"],
            "properties": {
                "id": {"type": "integer"},
                "at": {"type": "integer", "description": "Unix seconds"},
                "type": {"type": "string"},
                "actor_kind": {"type": "string", "enum": ["user", "client", "admin", "system"]},
                "actor_id": opt, "user_id": opt, "client_id": opt, "subject": opt,
                "client_addr": opt, "request_id": opt,
                "detail": {"type": ["object", "null"]}
            }
        }),
    )
    .schema(
        "AuditEventList",
        json!({
            "type": "object", "required": ["events", "next"],
            "properties": {
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}},
                "next": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last"}
            }
        }),
    )
}
