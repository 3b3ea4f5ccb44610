//! Pushed authorization requests (RFC 9126): `/par` validates a client's authorization request
//! with the one validation `/authorize` uses ([`request::check`]) and stores it, bound to the
//! client, under the digest of a fresh `request_uri`; `/authorize?client_id=..&request_uri=..`
//! resolves it.
//!
//! How a `request_uri` is used up (RFC 9126 §4: "Authorization servers SHOULD treat request_uri
//! values as one-time use but MAY allow for duplicate requests due to a user reloading/refreshing
//! their user agent"): the sign-in, consent and second-factor forms carry the request by reference
//! (`client_id` and `request_uri`, see [`AuthorizeParams::pairs`]) and each step resolves it again,
//! so the browser never holds the pushed parameters. The first `/authorize` that brings it opens
//! it: it then has [`SIGN_IN_WINDOW`] to finish instead of its `expires_in`, and is never extended
//! again. It serves reloads and the forms until it yields an authorization code: the code is only
//! issued by the one request that marks it used (a conditional update), so a `request_uri` yields
//! at most one code; after that, or once expired, it is refused (`invalid_request_uri` to the
//! client's registered redirect URI; an unknown one, or one of another client, gets the error page).

use std::sync::Arc;

use super::super::request::{self, AuthorizeParams, AuthorizeRequest, Refusal, RequestError};
use super::{Flow, FlowError, Step};
use crate::domain::clients::Client;
use crate::domain::oauth_error::{ErrorCode, OAuthError};
use crate::domain::random;
use crate::store::StoreError;
use crate::store::pushed_requests::PushedRecord;

/// RFC 9126 §2.2: the `request_uri` is a URN of this form, followed by the reference.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// Bytes of randomness in a `request_uri` (RFC 9126 §7.1: it must not be guessable).
const REFERENCE_BYTES: usize = 32;
/// Seconds a browser has to finish signing in once it brought the `request_uri` to `/authorize`.
pub const SIGN_IN_WINDOW: i64 = 600;

/// The error page for a `request_uri` this server does not know (or no longer).
const UNKNOWN: &str =
    "This sign-in link is not valid or has expired. Go back to the application and start again.";
/// The error page for a `request_uri` pushed by another client than the one named.
const MISMATCH: &str = "This sign-in link does not belong to the application that sent you here.";

/// The pushed-request policy.
#[derive(Debug, Clone, Copy)]
pub struct ParPolicy {
    /// Every client must push its requests (`par.required`).
    pub required: bool,
    /// The `expires_in` of a `request_uri`, in seconds.
    pub request_ttl: i64,
}

/// A stored pushed request: RFC 9126 §2.2's response.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `request_uri`.
    pub request_uri: String,
    /// `expires_in`, in seconds.
    pub expires_in: i64,
}

/// Whether the request asks for `response_mode=form_post`.
pub(super) fn is_form_post(params: &AuthorizeParams) -> bool {
    params.response_mode.as_deref() == Some("form_post")
}

/// A response to the client: by redirect, or auto-submitted form for `response_mode=form_post`.
pub(super) fn to_client(form_post: bool, url: String) -> Step {
    if form_post {
        Step::FormPost(url)
    } else {
        Step::Redirect(url)
    }
}

impl Flow {
    /// `POST /par` (RFC 9126 §2) by `client`, authenticated as at the token endpoint: validates
    /// `params` as `/authorize` would and stores them. The error, if refused, is for the client
    /// (RFC 9126 §2.3: a token-endpoint style JSON error).
    pub async fn push(
        &self,
        client: &Arc<Client>,
        params: AuthorizeParams,
    ) -> Result<Result<Pushed, OAuthError>, FlowError> {
        // RFC 9126 §2.1: "The request_uri authorization request parameter is one exception, and
        // it MUST NOT be provided."
        if params.request_uri.is_some() {
            return Ok(Err(OAuthError::invalid_request(
                "request_uri must not be pushed (RFC 9126 §2.1)",
            )));
        }
        // §2.1: client_id "is similarly required in a pushed authorization request".
        match params.client_id.as_deref() {
            None => {
                return Ok(Err(OAuthError::invalid_request(
                    "client_id is required (RFC 9126 §2.1)",
                )));
            }
            Some(id) if id != client.id => {
                return Ok(Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                )));
            }
            Some(_) => {}
        }
        let req = match request::check(params, Some(client.clone()), self.require_pkce) {
            Ok(r) => r,
            Err(Refusal::Untrusted(u)) => {
                return Ok(Err(OAuthError::invalid_request(u.description())));
            }
            Err(Refusal::Client { error, .. }) => return Ok(Err(error)),
        };
        let params = serde_json::to_string(&req.params.carried_pairs())
            .map_err(|e| StoreError::Corrupt(format!("pushed request: {e}")))?;
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", random::token(REFERENCE_BYTES));
        let now = self.clock.now();
        self.store
            .insert_pushed_request(PushedRecord {
                uri_sha256: random::sha256(request_uri.as_bytes()),
                client_id: client.id.clone(),
                params,
                created_at: now,
                expires_at: now + self.par.request_ttl,
                opened_at: None,
                used_at: None,
            })
            .await?;
        Ok(Ok(Pushed {
            request_uri,
            expires_in: self.par.request_ttl,
        }))
    }

    /// Whether `client` may only send pushed requests (RFC 9126 §5 globally, §6 per client).
    pub(super) fn par_required(&self, client: &Client) -> bool {
        self.par.required || client.require_pushed_authorization_requests
    }

    /// The request `uri` (a pushed request's `request_uri`) stands for, as `client_id` (the
    /// authorization request's, which must be the pushing client's) brings it: only the pushed
    /// parameters count (others of the authorization request are ignored), validated again against
    /// the client as registered now (RFC 9126 §4: "MUST validate authorization requests arising
    /// from a pushed request as it would any other authorization request").
    pub(super) async fn validate_pushed(
        &self,
        client_id: Option<&str>,
        uri: &str,
    ) -> Result<Result<AuthorizeRequest, Step>, FlowError> {
        let reference = uri.strip_prefix(REQUEST_URI_PREFIX).unwrap_or_default();
        let plausible = !reference.is_empty()
            && reference.len() <= 128
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible {
            return Ok(Err(Step::Error(UNKNOWN)));
        }
        let now = self.clock.now();
        let digest = random::sha256(uri.as_bytes());
        let Some(row) = self
            .store
            .open_pushed_request(&digest, now, now + SIGN_IN_WINDOW)
            .await?
        else {
            return Ok(Err(Step::Error(UNKNOWN)));
        };
        if client_id != Some(row.client_id.as_str()) {
            return Ok(Err(Step::Error(MISMATCH)));
        }
        let pairs: Vec<(String, String)> = serde_json::from_str(&row.params)
            .map_err(|e| StoreError::Corrupt(format!("pushed request: {e}")))?;
        let mut params = AuthorizeParams::default();
        for (name, value) in pairs {
            params.set(&name, value);
        }
        let form_post = is_form_post(&params);
        let client = self.client(Some(&row.client_id)).await?;
        let mut req = match request::validate(params, client, &self.issuer, self.require_pkce) {
            Ok(r) => r,
            Err(RequestError::Page(m)) => return Ok(Err(Step::Error(m))),
            Err(RequestError::Redirect(u)) => return Ok(Err(to_client(form_post, u))),
        };
        // RFC 9126 §4: "An expired request_uri MUST be rejected as invalid."
        if row.used_at.is_some() || row.expires_at <= now {
            return Ok(Err(self.deny(
                &req,
                ErrorCode::InvalidRequestUri,
                "the request_uri has expired or was already used: push the request again",
            )));
        }
        req.params.request_uri = Some(uri.to_owned());
        Ok(Ok(req))
    }

    /// Before a code is issued for `req`: marks its pushed request used, if it has one; false if
    /// another request did first (or it expired meanwhile), and then no code may be issued.
    pub(super) async fn use_pushed(&self, req: &AuthorizeRequest) -> Result<bool, FlowError> {
        let Some(uri) = &req.params.request_uri else {
            return Ok(true);
        };
        let digest = random::sha256(uri.as_bytes());
        let now = self.clock.now();
        Ok(self
            .store
            .use_pushed_request(&digest, &req.client.id, now)
            .await?)
    }
}
