//! `/account/mfa`: the user's second factors. Behind the SSO session and CSRF-protected; adding,
//! removing and replacing factors or codes needs a recent sign-in (the shared contract: a session
//! whose `auth_time` is older than `account.recent_auth_secs` is sent to
//! `/account/reauth?next=/account/mfa`). Recovery codes are shown once, on the page that made them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::browser::{
    bad_request, csrf_failed, csrf_ok, csrf_token, form, redirect, set_cookie, unavailable,
};
use super::super::form::{Form, FormRejection, OAuthForm};
use super::super::issuer_path;
use super::super::pages::Ui;
use super::super::pages::mfa::{AccountMfaPage, EnrollView};
use super::super::state::BrowserEndpoints;
use crate::domain::mfa::{Enrollment, Verdict, is_recent};
use crate::domain::sso::sessions::Session;
use crate::domain::users::User;

type Web = State<Arc<BrowserEndpoints>>;

/// What a page shows besides the status.
#[derive(Default)]
struct Extras {
    status: Option<StatusCode>,
    notice: Option<&'static str>,
    codes: Option<Vec<String>>,
    enroll: Option<Enrollment>,
}

/// `GET /account/mfa`.
pub async fn show(State(web): Web, headers: HeaderMap) -> Response {
    let ui = web.pages.ui(&headers, None);
    match signed_in(&web, &headers, &ui).await {
        Ok((_, user)) => page(&web, &headers, &ui, &user, Extras::default()).await,
        Err(res) => res,
    }
}

/// `POST /account/mfa/totp/start`: a new secret, shown with its QR code until a first code
/// confirms it.
pub async fn start_totp(
    State(web): Web,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let (ui, user) = match sensitive(&web, &headers, read).await {
        Ok((_, ui, _, user)) => (ui, user),
        Err(res) => return res,
    };
    match web.flow.mfa().start_totp(&user.id, &user.username).await {
        Ok(enroll) => {
            let extras = Extras {
                notice: enroll.is_none().then_some(ui.mfa_text().enrolled),
                enroll,
                ..Extras::default()
            };
            page(&web, &headers, &ui, &user, extras).await
        }
        Err(e) => unavailable(&ui, &e),
    }
}

/// `POST /account/mfa/totp/confirm`: the first code; on success the factor is active and a first
/// set of recovery codes is shown. Needs no recent sign-in of its own: it completes an enrollment
/// that was started with one (the form names it).
pub async fn confirm_totp(
    State(web): Web,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let (form, ui, user) = match checked(&web, &headers, read).await {
        Ok((form, ui, _, user)) => (form, ui, user),
        Err(res) => return res,
    };
    let id = form
        .single("enrollment_id")
        .ok()
        .flatten()
        .unwrap_or_default();
    let code = form.single("code").ok().flatten().unwrap_or_default();
    let mfa = web.flow.mfa();
    let m = ui.mfa_text();
    let extras = match mfa.confirm_totp(&user.id, id, code).await {
        Ok(Verdict::Accepted(_)) => match mfa.regenerate_recovery_codes(&user.id).await {
            Ok(codes) => Extras {
                notice: Some(m.enrolled),
                codes: Some(codes),
                ..Extras::default()
            },
            Err(e) => return unavailable(&ui, &e),
        },
        Ok(v) => {
            let (status, notice) = match v {
                Verdict::Locked => (StatusCode::TOO_MANY_REQUESTS, m.locked),
                _ => (StatusCode::UNAUTHORIZED, m.rejected),
            };
            match mfa.open_enrollment(&user.id, &user.username).await {
                Ok(enroll) => Extras {
                    status: Some(status),
                    notice: Some(notice),
                    enroll,
                    codes: None,
                },
                Err(e) => return unavailable(&ui, &e),
            }
        }
        Err(e) => return unavailable(&ui, &e),
    };
    page(&web, &headers, &ui, &user, extras).await
}

/// `POST /account/mfa/totp/remove`: removes TOTP and the recovery codes.
pub async fn remove_totp(
    State(web): Web,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let (ui, user) = match sensitive(&web, &headers, read).await {
        Ok((_, ui, _, user)) => (ui, user),
        Err(res) => return res,
    };
    match web
        .flow
        .mfa()
        .remove_totp(&user.id, crate::domain::audit::Actor::User(user.id.clone()))
        .await
    {
        Ok(_) => {
            let extras = Extras {
                notice: Some(ui.mfa_text().removed),
                ..Extras::default()
            };
            page(&web, &headers, &ui, &user, extras).await
        }
        Err(e) => unavailable(&ui, &e),
    }
}

/// `POST /account/mfa/recovery`: a new set of recovery codes, replacing the old ones.
pub async fn regenerate_codes(
    State(web): Web,
    headers: HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Response {
    let (ui, user) = match sensitive(&web, &headers, read).await {
        Ok((_, ui, _, user)) => (ui, user),
        Err(res) => return res,
    };
    let mfa = web.flow.mfa();
    match mfa.factors(&user.id).await {
        // Codes back up a factor; without one there is nothing to recover.
        Ok(f) if !f.any() => page(&web, &headers, &ui, &user, Extras::default()).await,
        Ok(_) => match mfa.regenerate_recovery_codes(&user.id).await {
            Ok(codes) => {
                let extras = Extras {
                    codes: Some(codes),
                    ..Extras::default()
                };
                page(&web, &headers, &ui, &user, extras).await
            }
            Err(e) => unavailable(&ui, &e),
        },
        Err(e) => unavailable(&ui, &e),
    }
}

/// The path prefix of the account pages (the issuer's path).
fn base(web: &BrowserEndpoints) -> String {
    issuer_path(web.issuer.as_str()).to_owned()
}

/// The session and user, or the answer for a browser without one: to `/account`, which signs in.
async fn signed_in(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
) -> Result<(Session, User), Response> {
    match web.flow.account_session(web.cookies.session(headers)).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(redirect(&format!("{}/account", base(web)), false)),
        Err(e) => Err(unavailable(ui, &e)),
    }
}

/// A posted account form: readable, CSRF-checked, behind a session.
async fn checked<'a>(
    web: &'a BrowserEndpoints,
    headers: &HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Result<(Form, Ui<'a>, Session, User), Response> {
    let Some(form) = form(read) else {
        return Err(bad_request(&web.pages.ui(headers, None)));
    };
    let ui = web.pages.for_form(headers, &form);
    if !csrf_ok(&web.cookies, headers, &form) {
        return Err(csrf_failed(&ui));
    }
    let (session, user) = signed_in(web, headers, &ui).await?;
    Ok((form, ui, session, user))
}

/// [`checked`], and the sign-in recent enough for a sensitive change, else to `/account/reauth`.
async fn sensitive<'a>(
    web: &'a BrowserEndpoints,
    headers: &HeaderMap,
    read: Result<OAuthForm, FormRejection>,
) -> Result<(Form, Ui<'a>, Session, User), Response> {
    let (form, ui, session, user) = checked(web, headers, read).await?;
    let mfa = web.flow.mfa();
    // A user with a factor changes factors only from a session that proved one: the password
    // alone must not be enough to remove the factor that protects the account.
    let has_factor = match mfa.factors(&user.id).await {
        Ok(f) => f.any(),
        Err(e) => return Err(unavailable(&ui, &e)),
    };
    if has_factor && !session.amr.iter().any(|m| m == "mfa") {
        let extras = Extras {
            status: Some(StatusCode::FORBIDDEN),
            notice: Some(ui.mfa_text().needs_factor),
            ..Extras::default()
        };
        return Err(page(web, headers, &ui, &user, extras).await);
    }
    if !is_recent(session.auth_time, mfa.now(), mfa.recent_auth_secs()) {
        // `next` is below the issuer's path, as the re-authentication page expects it.
        let reauth = crate::domain::account::recent::reauth_path("/account/mfa");
        return Err(redirect(&format!("{}{reauth}", base(web)), true));
    }
    Ok((form, ui, session, user))
}

async fn page(
    web: &BrowserEndpoints,
    headers: &HeaderMap,
    ui: &Ui<'_>,
    user: &User,
    extras: Extras,
) -> Response {
    let mfa = web.flow.mfa();
    let (factors, required) = match (
        mfa.factors(&user.id).await,
        mfa.required_for(&user.id).await,
    ) {
        (Ok(f), Ok(r)) => (f, r),
        (Err(e), _) | (_, Err(e)) => return unavailable(ui, &e),
    };
    let (csrf, set) = csrf_token(&web.cookies, headers);
    let base = base(web);
    let enroll = extras.enroll.as_ref().map(|e| EnrollView {
        qr_svg: &e.qr_svg,
        secret: &e.secret_base32,
        enrollment_id: &e.enrollment_id,
    });
    let mut res = ui.html(
        extras.status.unwrap_or(StatusCode::OK),
        ui.mfa_account(&AccountMfaPage {
            totp: factors.totp,
            codes_left: factors.recovery_codes,
            required,
            notice: extras.notice,
            codes: extras.codes.as_deref(),
            enroll,
            csrf: &csrf,
            hidden: &[],
            base: &base,
        }),
    );
    set_cookie(&mut res, set);
    res
}
