//! The grants that act for a user: `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6) and
//! `refresh_token` (RFC 6749 §6, with rotation and reuse detection per RFC 9700 §4.14.2).

use std::sync::Arc;

use auth_core::Clock;

use super::super::audit::{self, Actor, AuditEvent, EventType, RequestMeta};
use super::super::clients::Client;
use super::super::oauth_error::{ErrorCode, OAuthError};
use super::super::random;
use super::super::sso::claims::{ID_TOKEN_TYP, IdTokenClaims, UserClaims, at_hash};
use super::super::sso::pkce;
use super::super::sso::sessions::{SessionState, Sessions};
use super::super::tokens::{AccessTokenRequest, Reserved, TokenIssuer};
use super::super::users::{User, Users};
use super::issue_error;
use super::presented::{invalid_grant, issued_to, presented_digest, unavailable};
use crate::domain::records::{FamilyRecord, RefreshRecord};
use crate::domain::values::{Issuer, Resources, Scopes};
use crate::store::Store;
use crate::store::grants::{Advance, CodeCommit};

/// Bytes of randomness in a refresh token.
const REFRESH_BYTES: usize = 32;

/// Tokens for a user (RFC 6749 §5.1, OIDC Core §3.1.3.3). `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct UserTokens {
    /// The access token (RFC 9068 JWT).
    pub access_token: String,
    /// Its lifetime.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
    /// The ID token, when `openid` was granted.
    pub id_token: Option<String>,
    /// The new refresh token, if the grant has one.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokens")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Refresh-token policy.
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    /// Idle lifetime.
    pub idle: i64,
    /// Absolute lifetime of a family.
    pub absolute: i64,
    /// Grace window for retries of a rotated token.
    pub grace: i64,
}

/// The user grants.
#[derive(Debug, Clone)]
pub struct UserGrants {
    store: Store,
    users: Users,
    sessions: Sessions,
    tokens: TokenIssuer,
    clock: Arc<dyn Clock>,
    id_token_ttl: i64,
    refresh: RefreshPolicy,
    userinfo_audience: String,
}

/// What a token is issued from: a code or a refresh-token family.
struct Grant<'a> {
    user: &'a User,
    scopes: Scopes,
    resources: Resources,
    session_id: Option<String>,
    auth_time: i64,
    amr: Vec<String>,
    nonce: Option<String>,
    /// The DPoP key the access token is bound to (RFC 9449 §5), if the request carried a proof.
    jkt: Option<&'a str>,
}

impl UserGrants {
    /// The grants. `issuer` is our issuer identifier (the userinfo audience is derived from it).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        users: Users,
        sessions: Sessions,
        tokens: TokenIssuer,
        clock: Arc<dyn Clock>,
        issuer: &str,
        id_token_ttl: i64,
        refresh: RefreshPolicy,
    ) -> Self {
        Self {
            store,
            users,
            sessions,
            tokens,
            clock,
            id_token_ttl,
            refresh,
            userinfo_audience: Issuer::new(issuer).userinfo(),
        }
    }

    /// RFC 6749 §4.1.3: redeems a code. The code must exist, belong to this client, be unused and
    /// unexpired, `redirect_uri` must equal the authorization request's, and the PKCE verifier must
    /// match. "If an authorization code is used more than once, the authorization server MUST deny the
    /// request and SHOULD revoke (when possible) all tokens previously issued based on that
    /// authorization code" (§4.1.2): the second redemption revokes the refresh-token family and the
    /// access token the first one issued, and stores its `authorization_code.replay` audit event
    /// (from `meta`) in that transaction.
    ///
    /// `jkt`, the key of the request's checked DPoP proof (RFC 9449 §5), binds the access token and
    /// a public client's refresh tokens ("Refresh tokens issued to public clients MUST be bound");
    /// a confidential client's are not: it authenticates at every refresh, which §5 accepts. A
    /// code requested with `dpop_jkt` (§10) needs a proof by that key.
    pub async fn redeem_code(
        &self,
        client: &Client,
        code: &str,
        (redirect_uri, verifier): (Option<&str>, Option<&str>),
        jkt: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<UserTokens, OAuthError> {
        let now = self.clock.now();
        let digest = presented_digest(code, "invalid authorization code")?;
        let found = self.store.find_code(&digest).await.map_err(unavailable)?;
        let row = issued_to(
            client,
            found,
            |r| &r.client_id,
            "invalid authorization code",
        )?;
        if !self
            .store
            .consume_code(&digest, now)
            .await
            .map_err(unavailable)?
        {
            tracing::warn!(client = %client.id, "authorization code reused; revoking what it issued");
            // The first redemption may still be running (it records its tokens last): the mark makes
            // it refuse to issue them. If it has recorded them, they are revoked.
            let mut event =
                AuditEvent::new(EventType::CodeReplay, Actor::Client(client.id.clone()))
                    .user(&row.user_id)
                    .client(&client.id)
                    .request(meta)
                    .record(now);
            self.store
                .replay_code(&digest, now, &mut event)
                .await
                .map_err(unavailable)?;
            audit::log(&event);
            return Err(invalid_grant("the authorization code was already used"));
        }
        if now >= row.expires_at {
            return Err(invalid_grant("the authorization code has expired"));
        }
        if redirect_uri != Some(row.redirect_uri.as_str()) {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&row.code_challenge, verifier) {
            (Some(challenge), Some(v)) if pkce::verify_s256(v, challenge) => {}
            (Some(_), _) => return Err(invalid_grant("PKCE verification failed")),
            // RFC 9700 §4.8.2: a verifier for a request made without a challenge is a downgrade attempt.
            (None, Some(_)) => {
                return Err(invalid_grant("no code_challenge was sent for this code"));
            }
            (None, None) => {}
        }
        crate::domain::dpop::check_code_binding(row.dpop_jkt.as_deref(), jkt)?;
        if self
            .sessions
            .state(&row.session_id, false)
            .await
            .map_err(unavailable)?
            != SessionState::Live
        {
            return Err(invalid_grant("the user's session has ended"));
        }
        let user = self.active_user(&row.user_id).await?;
        let wants_refresh = row.scope.contains("offline_access") || client.always_refresh;
        let grant = Grant {
            user: &user,
            scopes: row.scope.clone(),
            resources: row.resources.clone(),
            session_id: Some(row.session_id.clone()),
            auth_time: row.auth_time,
            amr: row.amr.clone(),
            nonce: row.nonce.clone(),
            jkt,
        };
        // Before anything is stored: a grant that cannot give an access token an audience.
        self.audience(client, &grant.scopes, &grant.resources)?;
        // Everything is recorded, under the session's lock, before anything is signed.
        let reserved = self.tokens.reserve();
        let family = wants_refresh.then(|| self.new_family(client, &grant, &reserved));
        let (family_rows, refresh_secret) = match family {
            Some((fam, first, secret)) => (Some((fam, first)), Some(secret)),
            None => (None, None),
        };
        match self
            .store
            .commit_code_grant(
                &digest,
                &row.session_id,
                family_rows,
                &reserved.jti,
                reserved.exp,
            )
            .await
            .map_err(unavailable)?
        {
            CodeCommit::Committed => {}
            CodeCommit::SessionEnded => {
                return Err(invalid_grant("the user's session has ended"));
            }
            CodeCommit::Reused => {
                // A second redemption came while this one was running: §4.1.2 again; nothing was
                // issued here.
                tracing::warn!(client = %client.id, "authorization code reused during its redemption");
                return Err(invalid_grant("the authorization code was already used"));
            }
        }
        self.mint(client, &grant, refresh_secret, reserved).await
    }

    /// RFC 6749 §6 with rotation: every use returns a new refresh token and retires the old one. A
    /// retired token presented again revokes the whole family (RFC 9700 §4.14.2), unless it comes
    /// within the grace window (a client retrying after a lost response), which re-issues instead.
    /// `scope`, if sent, may only narrow the original grant. A reuse stores its
    /// `refresh_token.reuse_detected` audit event (from `meta`) in the revocation's transaction;
    /// nothing is recorded for a refresh that succeeds.
    ///
    /// `jkt` (the checked DPoP proof's key) binds the new access token. A family bound to a key
    /// (RFC 9449 §5) needs a proof by it, else `invalid_grant` and the token is not spent;
    /// rotation stays in the family, so it keeps the binding.
    pub async fn refresh(
        &self,
        client: &Client,
        token: &str,
        scope: Option<&str>,
        jkt: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<UserTokens, OAuthError> {
        let now = self.clock.now();
        let digest = presented_digest(token, "invalid refresh token")?;
        let found = self
            .store
            .find_refresh(&digest)
            .await
            .map_err(unavailable)?;
        let (row, family) = issued_to(
            client,
            found,
            |(_, f)| &f.client_id,
            "invalid refresh token",
        )?;
        if family.revoked_at.is_some() || now >= family.expires_at || now >= row.expires_at {
            return Err(invalid_grant(
                "the refresh token has expired or been revoked",
            ));
        }
        crate::domain::dpop::check_refresh_binding(family.dpop_jkt.as_deref(), jkt)?;
        let granted = &family.scope;
        let scopes = match scope {
            None => granted.clone(),
            Some(s) => {
                let asked = Scopes::from_words(s);
                if asked.is_empty() || !asked.is_subset_of(granted) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "scope may only narrow the original grant",
                    ));
                }
                asked
            }
        };
        // Checked before the token is rotated: a refused request must not spend it (the client would
        // retry with it later and look like a thief).
        self.audience(client, &scopes, &family.resources)?;
        // A grant whose session was ended (logout, user disabled, password changed) is over, whatever
        // its scope: this also catches a family created while its session was being ended. Without
        // `offline_access` a refresh token lives only as long as the sign-in session it came from (OIDC
        // Core §11: access while the user is away is what offline_access asks for), and using it
        // keeps that session alive, as the user's activity would.
        if let Some(sid) = &family.session_id {
            let offline = granted.contains("offline_access");
            let state = self
                .sessions
                .state(sid, !offline)
                .await
                .map_err(unavailable)?;
            if state == SessionState::Ended || (state == SessionState::Expired && !offline) {
                self.store
                    .revoke_family(&family.id, now)
                    .await
                    .map_err(unavailable)?;
                return Err(invalid_grant("the sign-in session has ended"));
            }
        }
        let user = match self.active_user(&family.user_id).await {
            Ok(u) => u,
            Err(e) => {
                self.store
                    .revoke_family(&family.id, now)
                    .await
                    .map_err(unavailable)?;
                return Err(e);
            }
        };
        // The access token's `jti` is recorded with the new refresh token, under the family's lock,
        // before it is signed (see `TokenIssuer::reserve`).
        let reserved = self.tokens.reserve();
        let next_secret = random::token(REFRESH_BYTES);
        let next = RefreshRecord {
            token_sha256: random::sha256(next_secret.as_bytes()),
            family_id: family.id.clone(),
            created_at: now,
            expires_at: (now + self.refresh.idle).min(family.expires_at),
            used_at: None,
            access_jti: Some(reserved.jti.clone()),
            access_exp: Some(reserved.exp),
        };
        let reuse = AuditEvent::new(
            EventType::RefreshReuseDetected,
            Actor::Client(client.id.clone()),
        )
        .user(&family.user_id)
        .client(&client.id)
        .subject(&family.id)
        .request(meta)
        .record(now);
        match self
            .store
            .advance_family(&family.id, &digest, next, (now, self.refresh.grace), &reuse)
            .await
            .map_err(unavailable)?
        {
            Advance::Rotated | Advance::Reissued => {}
            Advance::Reused => {
                audit::log(&reuse);
                tracing::warn!(client = %client.id, family = %family.id, "refresh token reuse; the family is revoked");
                return Err(invalid_grant("the refresh token was already used"));
            }
            Advance::Revoked => {
                return Err(invalid_grant(
                    "the refresh token has expired or been revoked",
                ));
            }
        }
        let grant = Grant {
            user: &user,
            scopes,
            resources: family.resources.clone(),
            session_id: family.session_id.clone(),
            auth_time: family.auth_time,
            amr: family.amr.clone(),
            nonce: None,
            jkt,
        };
        self.mint(client, &grant, Some(next_secret), reserved).await
    }

    async fn active_user(&self, id: &str) -> Result<User, OAuthError> {
        self.users
            .get(id)
            .await
            .map_err(unavailable)?
            .filter(|u| !u.disabled)
            .ok_or_else(|| invalid_grant("the user is disabled or no longer exists"))
    }

    /// A new family with its first token (carrying the reserved access token), and that token.
    fn new_family(
        &self,
        client: &Client,
        g: &Grant<'_>,
        reserved: &Reserved,
    ) -> (FamilyRecord, RefreshRecord, String) {
        let now = self.clock.now();
        let id = random::token(16);
        let secret = random::token(REFRESH_BYTES);
        let family = FamilyRecord {
            id: id.clone(),
            client_id: client.id.clone(),
            user_id: g.user.id.clone(),
            session_id: g.session_id.clone(),
            scope: g.scopes.clone(),
            resources: g.resources.clone(),
            auth_time: g.auth_time,
            amr: g.amr.clone(),
            created_at: now,
            expires_at: now + self.refresh.absolute,
            revoked_at: None,
            dpop_jkt: g.jkt.filter(|_| client.public).map(str::to_owned),
        };
        let first = RefreshRecord {
            token_sha256: random::sha256(secret.as_bytes()),
            family_id: id,
            created_at: now,
            expires_at: now + self.refresh.idle,
            used_at: None,
            access_jti: Some(reserved.jti.clone()),
            access_exp: Some(reserved.exp),
        };
        (family, first, secret)
    }

    /// The audience of an access token for `scopes` and `resources` ([`Resources::audience`]),
    /// with userinfo when `openid` was granted.
    fn audience(
        &self,
        client: &Client,
        scopes: &Scopes,
        resources: &Resources,
    ) -> Result<Vec<String>, OAuthError> {
        let userinfo = scopes
            .has_openid()
            .then_some(self.userinfo_audience.as_str());
        Ok(resources.audience(&client.allowed_resources, userinfo)?)
    }

    /// Signs the reserved access token (and the ID token when `openid` was granted).
    async fn mint(
        &self,
        client: &Client,
        g: &Grant<'_>,
        refresh_token: Option<String>,
        reserved: Reserved,
    ) -> Result<UserTokens, OAuthError> {
        let openid = g.scopes.has_openid();
        let audience = self.audience(client, &g.scopes, &g.resources)?;
        let access = self
            .tokens
            .reserved_access_token(
                AccessTokenRequest {
                    alg: client.alg,
                    sub: g.user.id.clone(),
                    client_id: client.id.clone(),
                    audience,
                    scopes: g.scopes.clone(),
                    jkt: g.jkt.map(str::to_owned),
                },
                reserved,
            )
            .await
            .map_err(issue_error)?;
        let id_token = if openid {
            let now = self.clock.now();
            let claims = IdTokenClaims {
                iss: self.tokens.issuer().to_owned(),
                sub: g.user.id.clone(),
                aud: client.id.clone(),
                azp: client.id.clone(),
                exp: now + self.id_token_ttl,
                iat: now,
                auth_time: g.auth_time,
                nonce: g.nonce.clone(),
                at_hash: at_hash(&access.token),
                sid: g.session_id.clone(),
                amr: g.amr.clone(),
                acr: crate::domain::mfa::acr_for(&g.amr).to_owned(),
                user: UserClaims::for_scopes(g.user, &g.scopes),
            };
            Some(
                self.tokens
                    .sign(client.alg, ID_TOKEN_TYP, &claims)
                    .await
                    .map_err(issue_error)?,
            )
        } else {
            None
        };
        Ok(UserTokens {
            access_token: access.token,
            expires_in: access.expires_in,
            scope: g.scopes.to_string(),
            id_token,
            refresh_token,
        })
    }
}
