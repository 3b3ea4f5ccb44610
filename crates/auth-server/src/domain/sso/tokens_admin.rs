//! Introspection (RFC 7662), revocation (RFC 7009) and userinfo (OIDC Core §5.3) for the tokens this
//! issuer minted: JWT access tokens checked against our keys and the revocation list, opaque refresh
//! tokens looked up by digest.

use std::sync::Arc;

use auth_core::Clock;
use auth_core::claims::ACCESS_TOKEN_TYP;
use serde_json::{Map, Value, json};

use super::claims::UserClaims;
use super::own_tokens::{self, audiences, str_claim};
use crate::domain::clients::Client;
use crate::domain::keys::KeyManager;
use crate::domain::oauth_error::{ErrorCode, OAuthError};
use crate::domain::random;
use crate::domain::users::{UserError, Users};
use crate::domain::values::{Issuer, Scopes};
use crate::store::{Store, StoreError};

/// Why userinfo refused a token (RFC 6750 §3.1), or introspection or the revocation feed could not
/// answer. (Revocation answers with the RFC 7009 error itself.)
#[derive(Debug, thiserror::Error)]
pub enum TokenAdminError {
    /// `invalid_token`.
    #[error("invalid token")]
    InvalidToken,
    /// `insufficient_scope`: the token was not granted `openid`.
    #[error("insufficient scope")]
    InsufficientScope,
    /// Storage is down.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The user registry failed (its storage).
    #[error(transparent)]
    Users(#[from] UserError),
}

/// An access token [`TokenAdmin::userinfo_token`] verified, for [`TokenAdmin::userinfo`].
#[derive(Debug)]
pub struct UserinfoToken(Map<String, Value>);

impl UserinfoToken {
    /// The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6.1), if any.
    pub fn bound_key(&self) -> Option<&str> {
        bound_key(&self.0)
    }
}

/// How long after its `exp` a revoked token stays in the feed: the largest clock leeway a verifier
/// may allow (auth-verifier accepts at most 300 s).
pub const FEED_LEEWAY_SECS: i64 = 300;

/// Most users' tokens the revocation feed lists. Revocations live only as long as their token (15
/// minutes by default), so reaching this takes tens of thousands of revocations within one token
/// lifetime.
pub const FEED_LIMIT: u64 = 100_000;

/// Most of its own (client-credentials) tokens one client's revocations may put in the feed, on top
/// of the users' tokens: a client that mints and revokes tokens in a loop only crowds out its own
/// entries, never another client's or a user's.
pub const FEED_CLIENT_SHARE: u64 = 1_000;

/// What the revocation feed lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    /// Revoked access tokens, `(jti, exp)`.
    pub tokens: Vec<(String, i64)>,
    /// Per-subject cut-offs `(sub, before)`: the subject's tokens issued before are revoked.
    pub subjects: Vec<(String, i64)>,
    /// False when a limit cut the users' tokens short (a client past its share does not count: it
    /// only loses its own entries).
    pub complete: bool,
    /// The revocation cursor read before the list: every revocation committed with a lower `seq`
    /// is in it (see [`TokenAdmin::revocation_changes`]).
    pub cursor: i64,
}

/// The revocations written at or after a `seq`, for the incremental feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationChanges {
    /// The cursor read before the rows: every revocation committed with a lower `seq` was visible
    /// to the reads below, so a later read from this cursor misses nothing they did not return.
    pub cursor: i64,
    /// Read after the rows: no cursor made before is above it (a higher one is not this
    /// database's).
    pub horizon: i64,
    /// Revoked access tokens `(seq, jti, exp)`, highest `seq` first.
    pub tokens: Vec<(i64, String, i64)>,
    /// Per-subject cut-offs `(seq, sub, before)`, highest `seq` first.
    pub subjects: Vec<(i64, String, i64)>,
}

/// Introspection, revocation and userinfo.
#[derive(Debug, Clone)]
pub struct TokenAdmin {
    store: Store,
    users: Users,
    keys: Arc<KeyManager>,
    clock: Arc<dyn Clock>,
    issuer: String,
    userinfo_audience: String,
}

/// A token presented to introspection or revocation, classified.
enum Presented {
    /// One of our access tokens, signature checked (maybe expired).
    Access(Map<String, Value>),
    /// A refresh token (maybe unknown).
    Refresh,
}

impl TokenAdmin {
    /// The service.
    pub fn new(
        store: Store,
        users: Users,
        keys: Arc<KeyManager>,
        clock: Arc<dyn Clock>,
        issuer: &str,
    ) -> Self {
        Self {
            store,
            users,
            keys,
            clock,
            issuer: issuer.to_owned(),
            userinfo_audience: Issuer::new(issuer).userinfo(),
        }
    }

    fn classify(&self, token: &str) -> Option<Presented> {
        // Refresh tokens are base64url without dots; JWTs have exactly two dots. The hint is only a
        // hint (RFC 7009 §2.1, RFC 7662 §2.1): the shape decides.
        if !token.contains('.') {
            return Some(Presented::Refresh);
        }
        own_tokens::verify(
            &self.keys,
            &self.issuer,
            token,
            ACCESS_TOKEN_TYP,
            self.clock.now(),
            true,
        )
        .ok()
        .map(Presented::Access)
    }

    /// A number that changes whenever this replica revokes something (a cheap "has the list
    /// changed here?" for the revocation feed's cache).
    pub fn revocation_epoch(&self) -> u64 {
        self.store.revocation_epoch()
    }

    /// The revocation feed: every access token revoked before its expiry that a verifier may still
    /// accept (its `exp` is less than [`FEED_LEEWAY_SECS`] ago: verifiers allow some clock leeway),
    /// as `(jti, exp)`, for resource servers that verify tokens locally (DESIGN.md, "Sessions,
    /// refresh tokens, revocation"). A `jti` is random and says nothing about its token or user, so
    /// the feed is public, like the JWKS. At most [`FEED_LIMIT`] users' tokens (`complete` is false
    /// when there were more) and [`FEED_CLIENT_SHARE`] of each client's own tokens; and the
    /// per-subject cut-offs of users whose password changed or who were disabled.
    pub async fn revoked_access_tokens(&self) -> Result<RevocationList, TokenAdminError> {
        let cursor = self.store.revocation_cursor().await?;
        let since = self.clock.now().saturating_sub(FEED_LEEWAY_SECS);
        let mut tokens = self
            .store
            .live_revoked_user_tokens(since, FEED_LIMIT + 1)
            .await?;
        let complete = tokens.len() as u64 <= FEED_LIMIT;
        tokens.truncate(usize::try_from(FEED_LIMIT).unwrap_or(usize::MAX));
        let (clients, over_share) = self
            .store
            .live_revoked_client_tokens(since, FEED_CLIENT_SHARE)
            .await?;
        if over_share {
            tracing::warn!(
                "a client revoked more of its own tokens than its share of the revocation feed; only its newest are listed"
            );
        }
        tokens.extend(clients);
        tokens.sort();
        let subjects = self.store.live_revoked_subjects(since).await?;
        Ok(RevocationList {
            tokens,
            subjects,
            complete,
            cursor,
        })
    }

    /// An upper bound of every revocation cursor this database has handed out so far (see
    /// [`RevocationChanges::horizon`]), read now.
    pub async fn revocation_horizon(&self) -> Result<i64, TokenAdminError> {
        Ok(self.store.revocation_horizon().await?)
    }

    /// The live revocations (as in [`TokenAdmin::revoked_access_tokens`], without the per-client
    /// shares) written at `seq` `from` or later (of each kind the `limit` with the highest `seq`: if
    /// `limit` were reached, only rows above the lowest `seq` returned are all there), the cursor to ask
    /// from next time. The cursor is read first: on PostgreSQL, rows become visible in commit order,
    /// not in `seq` order, so a transaction with a lower `seq` may commit after a higher one was
    /// read; the cursor is never past such a transaction (it is the `xmin` of a snapshot), so the
    /// next read from it returns that row. Rows may come twice: they are applied idempotently.
    pub async fn revocation_changes(
        &self,
        from: i64,
        limit: u64,
    ) -> Result<RevocationChanges, TokenAdminError> {
        let cursor = self.store.revocation_cursor().await?;
        let since = self.clock.now().saturating_sub(FEED_LEEWAY_SECS);
        let tokens = self.store.revoked_tokens_from(from, since, limit).await?;
        let subjects = self.store.revoked_subjects_from(from, since, limit).await?;
        let horizon = self.store.revocation_horizon().await?;
        Ok(RevocationChanges {
            cursor,
            horizon,
            tokens,
            subjects,
        })
    }

    /// RFC 7662 §2.2. Refresh tokens are reported only to the client they were issued to. An access
    /// token is reported to the client it was issued to, to a client registered for one of its
    /// audiences (a resource server, whose `allowed_resources` name it), and to a client registered
    /// with `introspect_any`; to anyone else it is inactive: "If the introspection call is properly
    /// authorized but ... the protected resource is not allowed to introspect this particular token,
    /// then the authorization server MUST return an introspection response with the "active" field
    /// set to "false"" (§2.2), so that a client cannot scan other clients' tokens (§4). Anything not
    /// active is just `{"active": false}`, saying nothing about why.
    pub async fn introspect(&self, caller: &Client, token: &str) -> Result<Value, TokenAdminError> {
        let now = self.clock.now();
        let inactive = json!({ "active": false });
        match self.classify(token) {
            None => Ok(inactive),
            Some(Presented::Access(claims)) => {
                let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
                let jti = str_claim(&claims, "jti").unwrap_or_default();
                if !may_introspect(caller, &claims) {
                    return Ok(inactive);
                }
                if now >= exp || self.store.is_access_token_revoked(jti).await? {
                    return Ok(inactive);
                }
                // A user's token (not a client's own, whose `sub` is its client id) is active only
                // while the user exists and is enabled, and was issued after the user's cut-off.
                let sub = str_claim(&claims, "sub").unwrap_or_default();
                if Some(sub) != str_claim(&claims, "client_id")
                    && (self.users.get(sub).await?.is_none_or(|u| u.disabled)
                        || self.store.cut_off_applies(sub, iat_of(&claims)).await?)
                {
                    return Ok(inactive);
                }
                let mut out = Map::new();
                out.insert("active".into(), Value::Bool(true));
                for name in [
                    "scope",
                    "client_id",
                    "sub",
                    "exp",
                    "iat",
                    "aud",
                    "iss",
                    "jti",
                    "cnf",
                ] {
                    if let Some(v) = claims.get(name) {
                        out.insert(name.into(), v.clone());
                    }
                }
                // RFC 9449 §6.2: a DPoP-bound token is reported with its `cnf` and type `DPoP`.
                let token_type = if bound_key(&claims).is_some() {
                    "DPoP"
                } else {
                    "Bearer"
                };
                out.insert("token_type".into(), Value::from(token_type));
                Ok(Value::Object(out))
            }
            Some(Presented::Refresh) => {
                let Some((row, family)) = self
                    .store
                    .find_refresh(&random::sha256(token.as_bytes()))
                    .await?
                else {
                    return Ok(inactive);
                };
                let live = family.client_id == caller.id
                    && row.used_at.is_none()
                    && family.revoked_at.is_none()
                    && now < row.expires_at
                    && now < family.expires_at;
                if !live {
                    return Ok(inactive);
                }
                Ok(json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": family.scope.to_string(),
                    "client_id": family.client_id,
                    "sub": family.user_id,
                    "iat": row.created_at,
                    "exp": row.expires_at,
                    "iss": self.issuer,
                }))
            }
        }
    }

    /// RFC 7009 §2.1: revokes a refresh token (its whole family: "the authorization server SHOULD
    /// also invalidate all access tokens based on the same authorization grant" — the family's
    /// refresh tokens all stop working) or an access token (by `jti`, until its expiry; resource
    /// servers that introspect see it at once, local verifiers at their next poll of the revocation
    /// feed). An invalid or unknown
    /// token is not an error (§2.2). A token of another client is refused.
    pub async fn revoke(&self, caller: &Client, token: &str) -> Result<(), OAuthError> {
        let now = self.clock.now();
        let store_err = |e: StoreError| {
            tracing::warn!(error = %e, "revocation failed");
            OAuthError::unavailable()
        };
        let not_yours = || {
            OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the token was not issued to this client",
            )
        };
        match self.classify(token) {
            None => Ok(()),
            Some(Presented::Access(claims)) => {
                if str_claim(&claims, "client_id") != Some(caller.id.as_str()) {
                    return Err(not_yours());
                }
                let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
                if let Some(jti) = str_claim(&claims, "jti")
                    && exp > now
                {
                    // A client's own token (client credentials: `sub` is the client) counts against
                    // that client's share of the feed; a user's token never does.
                    let own = (str_claim(&claims, "sub") == Some(caller.id.as_str()))
                        .then_some(caller.id.as_str());
                    self.store
                        .revoke_access_token(jti, exp, own)
                        .await
                        .map_err(store_err)?;
                }
                Ok(())
            }
            Some(Presented::Refresh) => {
                let found = self
                    .store
                    .find_refresh(&random::sha256(token.as_bytes()))
                    .await
                    .map_err(store_err)?;
                let Some((_, family)) = found else {
                    return Ok(());
                };
                if family.client_id != caller.id {
                    return Err(not_yours());
                }
                self.store
                    .revoke_family(&family.id, now)
                    .await
                    .map_err(store_err)?;
                Ok(())
            }
        }
    }

    /// OIDC Core §5.3, first step: one of our unexpired access tokens with our userinfo endpoint
    /// in `aud`, checked without any I/O. It comes before a DPoP proof is checked (RFC 9449 §7),
    /// so that a request without such a token causes no write to the proof replay cache and no
    /// proof signature check.
    pub fn userinfo_token(&self, token: &str) -> Result<UserinfoToken, TokenAdminError> {
        let claims = own_tokens::verify(
            &self.keys,
            &self.issuer,
            token,
            ACCESS_TOKEN_TYP,
            self.clock.now(),
            false,
        )
        .map_err(|_| TokenAdminError::InvalidToken)?;
        if !audiences(&claims).contains(&self.userinfo_audience.as_str()) {
            return Err(TokenAdminError::InvalidToken);
        }
        Ok(UserinfoToken(claims))
    }

    /// The user's claims for a token [`TokenAdmin::userinfo_token`] accepted, presented with a
    /// proof by the key of thumbprint `jkt` (`None`: as a bearer token). The token must be bound
    /// to exactly that key (unbound when `None`), unrevoked, granted `openid`, and its user
    /// enabled.
    pub async fn userinfo(
        &self,
        token: UserinfoToken,
        jkt: Option<&str>,
    ) -> Result<Value, TokenAdminError> {
        let claims = token.0;
        if bound_key(&claims) != jkt {
            return Err(TokenAdminError::InvalidToken);
        }
        let jti = str_claim(&claims, "jti").ok_or(TokenAdminError::InvalidToken)?;
        if self.store.is_access_token_revoked(jti).await? {
            return Err(TokenAdminError::InvalidToken);
        }
        let scopes = Scopes::from_words(str_claim(&claims, "scope").unwrap_or_default());
        if !scopes.has_openid() {
            return Err(TokenAdminError::InsufficientScope);
        }
        let sub = str_claim(&claims, "sub").ok_or(TokenAdminError::InvalidToken)?;
        // Most tokens under a cut-off are revoked by `jti` as well, but not all (one whose
        // refresh row was purged, an exchanged token): checked as verifiers check it.
        if self.store.cut_off_applies(sub, iat_of(&claims)).await? {
            return Err(TokenAdminError::InvalidToken);
        }
        let user = self
            .users
            .get(sub)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(TokenAdminError::InvalidToken)?;
        let mut out = serde_json::to_value(UserClaims::for_scopes(&user, &scopes))
            .map_err(|_| TokenAdminError::InvalidToken)?;
        if let Some(o) = out.as_object_mut() {
            o.insert("sub".into(), Value::from(user.id));
        }
        Ok(out)
    }

    /// Checks an `id_token_hint` (OIDC RP-Initiated Logout §2): our signature and issuer, expired
    /// or not. Returns (client id, session id).
    pub fn id_token_hint(&self, token: &str) -> Option<(String, Option<String>)> {
        let claims = own_tokens::verify(
            &self.keys,
            &self.issuer,
            token,
            super::claims::ID_TOKEN_TYP,
            self.clock.now(),
            true,
        )
        .ok()?;
        let aud = str_claim(&claims, "aud")?.to_owned();
        Some((aud, str_claim(&claims, "sid").map(str::to_owned)))
    }
}

/// Whether `caller` may learn about the access token with `claims` (RFC 7662 §4): its own, one
/// meant for a resource it is registered for, or any with `introspect_any`.
fn may_introspect(caller: &Client, claims: &Map<String, Value>) -> bool {
    if caller.introspect_any || str_claim(claims, "client_id") == Some(caller.id.as_str()) {
        return true;
    }
    audiences(claims)
        .iter()
        .any(|a| caller.allowed_resources.iter().any(|r| r == a))
}

/// The RFC 9449 §6.1 `cnf.jkt` of a token's claims: the DPoP key it is bound to.
fn bound_key(claims: &Map<String, Value>) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

/// A token's `iat` (0 when absent: before any cut-off).
fn iat_of(claims: &Map<String, Value>) -> i64 {
    claims.get("iat").and_then(Value::as_i64).unwrap_or(0)
}
