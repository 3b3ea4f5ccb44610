//! Consent (OIDC Core §3.1.2.4): when the page is needed, the single-use ticket it carries, and the
//! user's answer, remembered per user and client.

use super::super::request::{AuthorizeParams, AuthorizeRequest};
use super::super::sessions::Session;
use super::{Flow, FlowError, Step};
use crate::domain::audit::{self, Actor, AuditEvent, EventType, RequestMeta};
use crate::domain::oauth_error::ErrorCode;
use crate::domain::random;
use crate::domain::records::{ConsentRecord, PendingConsentRecord};
use crate::domain::users::User;

/// Bytes of randomness in a consent ticket.
const TICKET_BYTES: usize = 32;
/// Seconds a consent page may be answered.
const CONSENT_TTL: i64 = 600;

impl Flow {
    /// `POST /consent`: the user's answer. The form must carry the ticket of a consent page this
    /// server showed to this session for exactly this request, not answered before: the page is only
    /// shown once `/authorize`'s demands (`prompt=login`, `max_age`) were met, so a copied form (even
    /// with a valid CSRF token) cannot skip them, and an answer counts once. An allowed request
    /// stores its `consent.given` audit event (by the user, about the client, from `meta`) in the
    /// consent's transaction.
    pub async fn consent(
        &self,
        params: AuthorizeParams,
        session_secret: Option<&str>,
        (ticket, allow): (Option<&str>, bool),
        meta: &RequestMeta,
    ) -> Result<Step, FlowError> {
        let req = match self.validate(params).await? {
            Ok(r) => r,
            Err(step) => return Ok(step),
        };
        // A user disabled while the page was open is treated as signed out, as at /authorize.
        let (session, user) = self.signed_in(session_secret).await?;
        let (Some(session), Some(_)) = (session, user) else {
            // The session ended (or its user was disabled) while the page was open: sign in again.
            let username = req.login_hint.clone().unwrap_or_default();
            return Ok(Step::Login {
                request: Box::new(req),
                problem: None,
                username,
            });
        };
        let taken = match ticket {
            Some(t) if !t.is_empty() && t.len() <= 128 => {
                self.store
                    .take_pending_consent(
                        &random::sha256(t.as_bytes()),
                        &session.id,
                        &req.client.id,
                        &request_digest(&req),
                        self.clock.now(),
                    )
                    .await?
            }
            _ => false,
        };
        if !taken {
            return Ok(Step::Error(
                "This consent page has expired or was already answered. Go back to the application and start again.",
            ));
        }
        if !allow {
            return Ok(self.deny(&req, ErrorCode::AccessDenied, "the user denied the request"));
        }
        let mut scopes = self
            .store
            .find_consent(&session.user_id, &req.client.id)
            .await?
            .map(|c| c.scope)
            .unwrap_or_default();
        for s in req.scopes.iter() {
            scopes.insert(s);
        }
        let now = self.clock.now();
        let record = AuditEvent::new(
            EventType::ConsentGiven,
            Actor::User(session.user_id.clone()),
        )
        .user(&session.user_id)
        .client(&req.client.id)
        .request(meta)
        .detail(serde_json::json!({ "scope": req.scopes.to_string() }))
        .record(now);
        self.store
            .save_consent(
                ConsentRecord {
                    user_id: session.user_id.clone(),
                    client_id: req.client.id.clone(),
                    scope: scopes.sorted(),
                    updated_at: now,
                },
                &record,
            )
            .await?;
        audit::log(&record);
        self.issue_code(&req, &session).await
    }

    pub(super) async fn after_authentication(
        &self,
        req: AuthorizeRequest,
        session: &Session,
        user: User,
    ) -> Result<Step, FlowError> {
        if self.needs_consent(&req, &user).await? {
            if req.prompt.none {
                return Ok(self.deny(&req, ErrorCode::ConsentRequired, "consent is required"));
            }
            let ticket = random::token(TICKET_BYTES);
            let now = self.clock.now();
            self.store
                .insert_pending_consent(PendingConsentRecord {
                    ticket_sha256: random::sha256(ticket.as_bytes()),
                    session_id: session.id.clone(),
                    client_id: req.client.id.clone(),
                    request_sha256: request_digest(&req),
                    created_at: now,
                    expires_at: now + CONSENT_TTL,
                    used_at: None,
                })
                .await?;
            return Ok(Step::Consent {
                request: Box::new(req),
                user,
                ticket,
            });
        }
        self.issue_code(&req, session).await
    }

    /// First-party clients never ask; others ask unless every requested scope was allowed before
    /// (remembered per user, client and scope set), or when `prompt=consent`.
    async fn needs_consent(&self, req: &AuthorizeRequest, user: &User) -> Result<bool, FlowError> {
        if req.client.first_party {
            return Ok(false);
        }
        if req.prompt.consent {
            return Ok(true);
        }
        let granted = self.store.find_consent(&user.id, &req.client.id).await?;
        Ok(!granted.is_some_and(|c| req.scopes.is_subset_of(&c.scope)))
    }
}

/// SHA-256 of a request's parameters, as the forms carry them: a consent ticket is good for exactly
/// the request it was shown for.
pub(super) fn request_digest(req: &AuthorizeRequest) -> Vec<u8> {
    let mut buf = Vec::new();
    for (k, v) in req.params.pairs() {
        // Length-prefixed, so no two different lists encode alike.
        for part in [k.as_bytes(), v.as_bytes()] {
            buf.extend_from_slice(&(part.len() as u64).to_be_bytes());
            buf.extend_from_slice(part);
        }
    }
    random::sha256(&buf)
}
