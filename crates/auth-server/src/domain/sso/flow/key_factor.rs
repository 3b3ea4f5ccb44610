//! A WebAuthn key (security key or passkey) as the second factor of a pending sign-in (see
//! [`super::second_factor`]). The assertion itself is verified by
//! [`Passkeys::finish_second_factor`](crate::domain::webauthn::Passkeys::finish_second_factor),
//! with a ceremony bound to the pending sign-in ([`PendingSignIn::ceremony_binding`]); this
//! counts the answer against the same per-user throttle as TOTP and recovery codes and, when it
//! was right, completes the pending sign-in with `amr` `pwd hwk mfa` or `pwd swk mfa`
//! (RFC 8176 §2).

use serde_json::json;

use super::pending::PendingSignIn;
use super::{Flow, FlowError, LoginOutcome, SecondFactorProblem, Step};
use crate::domain::audit::{Actor, EventType, RequestMeta};
use crate::domain::mfa::{FactorKind, MfaError, Verdict};

use super::second_factor::BrowserBinding;

impl Flow {
    /// The answer of a WebAuthn key to the second-factor page of `p` (whose ticket is `ticket`):
    /// `check` verifies the assertion and answers the factor's kind, or `None` when it was refused
    /// (wrong, expired, or a possible clone). It runs under the second-factor throttle (counted
    /// first); a refusal stores `sign_in.failure` and shows the page again with the problem.
    pub async fn key_second_factor(
        &self,
        p: PendingSignIn,
        ticket: &str,
        check: impl AsyncFnOnce() -> Result<Option<FactorKind>, MfaError>,
        browser: BrowserBinding<'_>,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, FlowError> {
        let problem = match self.mfa.verify_with(&p.user.id, check).await? {
            Verdict::Accepted(kind @ FactorKind::WebAuthn { .. }) => {
                return self.complete_pending(p, kind, browser, meta).await;
            }
            Verdict::Locked => SecondFactorProblem::Locked,
            Verdict::Accepted(_) | Verdict::Rejected => SecondFactorProblem::Rejected,
        };
        let failure = self
            .event(EventType::SignInFailure, Actor::Anonymous, &p, meta)
            .detail(json!({ "reason": "second_factor", "factor": "webauthn" }));
        self.record(failure).await?;
        let factors = self.mfa.factors(&p.user.id).await?;
        Ok(LoginOutcome {
            step: Step::SecondFactor {
                request: Box::new(p.request),
                user: p.user,
                ticket: ticket.to_owned(),
                enroll: None,
                keys: factors.webauthn,
                problem: Some(problem),
            },
            new_session: None,
            device_cookie: None,
        })
    }
}
