//! "Recent sign-in": a sensitive change at `/account...` needs a session whose `auth_time` is at
//! most `account.recent_auth_secs` old; otherwise the browser is sent to
//! `GET /account/reauth?next=<local path>` to enter the password again (the shared contract of the
//! account page and its sign-in-method pages). The functions here are that check and the safe
//! handling of `next`, for every page that needs them.

use crate::domain::sso::sessions::Session;

/// The prefix every `next` must have: only the account pages are returned to.
pub const ACCOUNT_PATH: &str = "/account";

/// Whether `session` signed in (or entered the password again) at most `recent_secs` before `now`.
pub fn is_recent(session: &Session, now: i64, recent_secs: i64) -> bool {
    now.saturating_sub(session.auth_time) <= recent_secs
}

/// `next` if it is a local account path (`/account` or below it, with an optional query), else
/// `None`. Never an absolute URL, a scheme-relative `//host`, a backslash (browsers read `/\host`
/// as another host), a path that climbs out with `..`, or anything but printable ASCII.
pub fn local_next(next: &str) -> Option<&str> {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let below = path.strip_prefix(ACCOUNT_PATH)?;
    let ok = next.len() <= 512
        && (below.is_empty() || below.starts_with('/'))
        && !next.contains('#')
        && !next.contains('\\')
        && !path.split('/').any(|seg| seg == ".." || seg == ".")
        && !path.contains("//")
        && next.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(next)
}

/// The value of `next` to use: `next` when [`local_next`] accepts it, else the account page.
pub fn next_or_account(next: Option<&str>) -> &str {
    next.and_then(local_next).unwrap_or(ACCOUNT_PATH)
}

/// The path (below the issuer) of the re-authentication page that returns to `next` (which must
/// already be a [`local_next`] path), with `next` percent-encoded as a query value.
pub fn reauth_path(next: &str) -> String {
    let mut out = String::from("/account/reauth?next=");
    for b in next.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(auth_time: i64) -> Session {
        Session {
            id: "s".into(),
            user_id: "u".into(),
            auth_time,
            amr: vec!["pwd".into()],
        }
    }

    #[test]
    fn recent_is_at_most_the_limit() {
        assert!(is_recent(&session(1000), 1300, 300));
        assert!(!is_recent(&session(1000), 1301, 300));
        assert!(is_recent(&session(1000), 1000, 300));
    }

    #[test]
    fn only_local_account_paths_are_next() {
        for good in [
            "/account",
            "/account/mfa",
            "/account/mfa/totp?x=1",
            "/account?done=1",
        ] {
            assert_eq!(local_next(good), Some(good), "{good}");
        }
        for bad in [
            "https://evil.example/account",
            "//evil.example/account",
            "/\\evil.example",
            "/accounts",
            "/account/../token",
            "/account/./x",
            "/account//evil",
            "/account/\\x",
            "/account/x#frag",
            "/account/ x",
            "account",
            "",
            "/authorize",
        ] {
            assert_eq!(local_next(bad), None, "{bad:?}");
        }
        assert_eq!(next_or_account(Some("https://evil.example")), "/account");
        assert_eq!(next_or_account(None), "/account");
    }

    #[test]
    fn reauth_path_encodes_next() {
        assert_eq!(
            reauth_path("/account/mfa?a=1&b=2"),
            "/account/reauth?next=/account/mfa%3Fa%3D1%26b%3D2"
        );
    }
}
