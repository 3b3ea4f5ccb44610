//! The second factor on the account page's own sign-in (`/account/login`) and re-authentication
//! (`/account/reauth`): after a right password, a user who has a factor ([`Factors::any`], the one
//! place that decides what counts as a factor) must also give a TOTP code or a recovery code in
//! the same form. The answer goes through [`Mfa::verify`], the check the `/login/mfa` step uses:
//! throttled per user (counted before it is checked), each TOTP step and recovery code accepted
//! once. Only then is the session created (or re-authenticated), with the `amr` the factor earns
//! (RFC 8176: `pwd otp mfa`, or `pwd mfa` for a recovery code).
//!
//! [`Factors::any`]: crate::domain::mfa::Factors::any

use serde_json::json;

use super::{Account, AccountError, Origin};
use crate::domain::audit::{self, Actor, AuditEvent, EventType};
use crate::domain::mfa::{Answer, Verdict, amr_with};
use crate::domain::sso::flow::LoginProblem;
use crate::domain::users::User;

/// Why the account sign-in or re-authentication was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The password check refused.
    Password(LoginProblem),
    /// The password was right and the user has a second factor: its code is needed too.
    CodeNeeded,
    /// The code was wrong, reused or already used.
    CodeRejected,
    /// Too many wrong codes for this user: locked for a while.
    CodeLocked,
}

impl From<LoginProblem> for Refusal {
    fn from(p: LoginProblem) -> Self {
        Refusal::Password(p)
    }
}

/// The second-factor field of the form as typed: a TOTP code (digits only) or a recovery code.
#[derive(Clone, Copy, Default)]
pub struct SecondFactorAnswer<'a>(pub Option<&'a str>);

impl std::fmt::Debug for SecondFactorAnswer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorAnswer(<redacted>)")
    }
}

impl<'a> SecondFactorAnswer<'a> {
    /// The answer to check, or `None` when the field is empty. Six to eight digits are a TOTP
    /// code (RFC 6238 §5.3 codes are digits); anything else is tried as a recovery code.
    fn answer(self) -> Option<Answer<'a>> {
        let typed = self.0.map(str::trim).filter(|c| !c.is_empty())?;
        let digits = typed.chars().filter(|c| !c.is_whitespace()).count();
        let numeric = typed.chars().all(|c| c.is_ascii_digit() || c == ' ');
        Some(if numeric && digits <= 8 {
            Answer::Totp(typed)
        } else {
            Answer::Recovery(typed)
        })
    }
}

impl Account {
    /// After a right password for `user`: the `amr` the sign-in earns. `["pwd"]` when the user
    /// has no factor; otherwise `answer` must be right (see the module doc), and a wrong one is
    /// stored as `sign_in.failure` (`reason` `second_factor`).
    pub(super) async fn second_factor(
        &self,
        user: &User,
        answer: SecondFactorAnswer<'_>,
        from: Origin<'_>,
        context: &'static str,
    ) -> Result<Result<Vec<String>, Refusal>, AccountError> {
        let pwd = vec!["pwd".to_owned()];
        if !self.mfa.factors(&user.id).await?.any() {
            return Ok(Ok(pwd));
        }
        let Some(answer) = answer.answer() else {
            return Ok(Err(Refusal::CodeNeeded));
        };
        let refusal = match self.mfa.verify(&user.id, answer).await? {
            Verdict::Accepted(kind) => return Ok(Ok(amr_with(&pwd, kind))),
            Verdict::Rejected => Refusal::CodeRejected,
            Verdict::Locked => Refusal::CodeLocked,
        };
        let failure = AuditEvent::new(EventType::SignInFailure, Actor::Anonymous)
            .user(&user.id)
            .subject(user.username.clone())
            .request(from.meta)
            .detail(json!({ "reason": "second_factor", "context": context }));
        let record = failure.record(self.clock.now());
        self.store.record_audit(&record).await?;
        audit::log(&record);
        Ok(Err(refusal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(typed: &str) -> Option<&'static str> {
        SecondFactorAnswer(Some(typed)).answer().map(|a| match a {
            Answer::Totp(_) => "totp",
            Answer::Recovery(_) => "recovery",
        })
    }

    #[test]
    fn digits_are_totp_and_the_rest_recovery() {
        assert_eq!(kind("123456"), Some("totp"));
        assert_eq!(kind(" 123 456 "), Some("totp"));
        assert_eq!(kind("abcd-efgh-jkmn-pqrs"), Some("recovery"));
        assert_eq!(kind("1234567890123456"), Some("recovery"));
        assert_eq!(kind("   "), None);
        assert_eq!(SecondFactorAnswer(None).answer().map(|_| ()), None);
    }
}
