//! OpenID Connect RP-Initiated Logout 1.0: the policy of the `end_session_endpoint`, decided here
//! and returned as a [`LogoutStep`] for the http layer to render (as [`Flow`](super::flow::Flow)
//! does for sign-in).
//!
//! With a valid `id_token_hint` for the browser's current session (its `sid`), the session ends at
//! once; without one, or with a hint from another session, the user confirms on a page (a
//! CSRF-protected form), so a cross-site link cannot sign anyone out. A `post_logout_redirect_uri`
//! is followed only when it is registered, exactly, for the client the hint (or `client_id`) names
//! (§3: "The OP MUST NOT perform post-logout redirection if ... not previously registered").
//! Ending the session also ends its refresh tokens.

use super::request::with_query;
use super::sessions::Sessions;
use super::tokens_admin::TokenAdmin;
use crate::domain::audit::{Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::clients::{ClientError, ClientRegistry};
use crate::store::StoreError;

/// Why a logout request could not be decided: the service cannot answer now (HTTP 503).
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client registry failed (its storage).
    #[error(transparent)]
    Clients(#[from] ClientError),
}

/// The parameters of a logout request (§2), each present at most once. `Debug` shows no ID token.
#[derive(Clone, Copy, Default)]
pub struct LogoutRequest<'a> {
    /// The ID token the application holds for this user.
    pub id_token_hint: Option<&'a str>,
    /// The application asking.
    pub client_id: Option<&'a str>,
    /// Where to send the browser afterwards.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// Returned to the application with that redirect.
    pub state: Option<&'a str>,
}

impl std::fmt::Debug for LogoutRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogoutRequest")
            .field("id_token_hint", &self.id_token_hint.map(|_| "<redacted>"))
            .field("client_id", &self.client_id)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("state", &self.state)
            .finish()
    }
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutStep {
    /// The request is not valid: an error page with this message, and no redirect.
    Invalid(&'static str),
    /// A cross-site POST with a hint but without the session cookie (SameSite=Lax keeps it off):
    /// answering it as done would leave the session alive, so the browser is sent to the same
    /// request by GET, which carries the cookie.
    ResendAsGet(String),
    /// Ask the user: a confirmation form that posts these fields back.
    Confirm {
        /// The application's name, when known.
        client_name: Option<String>,
        /// The form's hidden fields.
        hidden: Vec<(String, String)>,
    },
    /// The browser's session (if any) has ended: redirect there, or show the signed-out page.
    Done {
        /// The registered `post_logout_redirect_uri`, with `state`.
        redirect: Option<String>,
    },
}

/// The logout policy.
#[derive(Debug, Clone)]
pub struct Logout {
    token_admin: TokenAdmin,
    clients: ClientRegistry,
    sessions: Sessions,
    endpoint: String,
}

impl Logout {
    /// The policy over these services; `endpoint` is our `end_session_endpoint`.
    pub fn new(
        token_admin: TokenAdmin,
        clients: ClientRegistry,
        sessions: Sessions,
        endpoint: String,
    ) -> Self {
        Self {
            token_admin,
            clients,
            sessions,
            endpoint,
        }
    }

    /// Decides a logout request from a browser holding `session` (its cookie's secret), sent by
    /// POST or GET; `confirmed` when it is our own confirmation form with a valid CSRF token.
    /// Ends the session when the answer is [`LogoutStep::Done`], storing its `logout` audit event
    /// (by the user, about the client named, from `meta`) in the same transaction.
    pub async fn decide(
        &self,
        req: &LogoutRequest<'_>,
        session: Option<&str>,
        (post, confirmed): (bool, bool),
        meta: &RequestMeta,
    ) -> Result<LogoutStep, LogoutError> {
        const INVALID: &str = "The application sent a sign-out request that is not valid.";
        let hint = match req.id_token_hint {
            Some(h) => match self.token_admin.id_token_hint(h) {
                Some(claims) => Some(claims),
                None => return Ok(LogoutStep::Invalid(INVALID)),
            },
            None => None,
        };
        let client_id = match (hint.as_ref().map(|h| h.0.as_str()), req.client_id) {
            (Some(a), Some(b)) if a != b => return Ok(LogoutStep::Invalid(INVALID)),
            (Some(a), _) | (None, Some(a)) => Some(a.to_owned()),
            (None, None) => None,
        };
        let client = match &client_id {
            Some(id) => self.clients.get(id).await?,
            None => None,
        };
        let target = match req.post_logout_redirect_uri {
            None => None,
            Some(uri) => match &client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    Some(uri.to_owned())
                }
                _ => {
                    return Ok(LogoutStep::Invalid(
                        "The application asked to return you to an address it has not registered.",
                    ));
                }
            },
        };
        if post && hint.is_some() && session.is_none() {
            let pairs: Vec<(&str, &str)> = [
                ("id_token_hint", req.id_token_hint),
                ("client_id", req.client_id),
                ("post_logout_redirect_uri", req.post_logout_redirect_uri),
                ("state", req.state),
            ]
            .into_iter()
            .filter_map(|(name, v)| Some((name, v?)))
            .collect();
            return Ok(LogoutStep::ResendAsGet(with_query(&self.endpoint, &pairs)));
        }
        let current = match session {
            Some(secret) => self.sessions.current(secret).await?,
            None => None,
        };
        // §2: "the OP MUST ask the End-User ... if an id_token_hint was not provided or if the
        // supplied ID Token does not belong to the current OP session": a hint from another session
        // (anyone's own ID token, put in a link) must not sign this browser out unasked.
        let hint_is_for_this_session = match (&hint, &current) {
            (Some((_, Some(sid))), Some(s)) => *sid == s.id,
            (Some(_), None) => true,
            _ => false,
        };
        if !hint_is_for_this_session && !confirmed {
            let mut hidden = vec![("confirm".to_owned(), "yes".to_owned())];
            let asked = [
                ("client_id", req.client_id.or(client_id.as_deref())),
                ("post_logout_redirect_uri", req.post_logout_redirect_uri),
                ("state", req.state),
            ];
            for (name, v) in asked {
                if let Some(v) = v {
                    hidden.push((name.to_owned(), v.to_owned()));
                }
            }
            return Ok(LogoutStep::Confirm {
                client_name: client.map(|c| c.name.clone()),
                hidden,
            });
        }
        if let Some(s) = current {
            let mut event = AuditEvent::new(EventType::Logout, Actor::User(s.user_id.clone()))
                .user(&s.user_id)
                .request(meta);
            event.client_id = client.as_ref().map(|c| c.id.clone());
            self.sessions.end_recorded(&s.id, &event).await?;
        }
        let redirect = target.map(|uri| match req.state {
            Some(state) => with_query(&uri, &[("state", state)]),
            None => uri,
        });
        Ok(LogoutStep::Done { redirect })
    }
}
