//! The http layer's own state. The app layer builds one [`HttpState`] from the domain services;
//! each handler takes only the part it needs, through axum's `FromRef`.

use std::sync::Arc;

use auth_core::Clock;
use axum::extract::FromRef;
use axum::http::HeaderValue;

use super::admin::{AdminApi, AdminAuth, AdminServices};
use super::cookies::CookiePolicy;
use super::discovery::Metadata;
use super::ops::OpsEndpoints;
use super::pages::Pages;
use super::revocation_feed::FeedCache;
use crate::config::{Config, TrustedProxies};
use crate::domain::audit_trail::AuditTrail;
use crate::domain::clients::ClientRegistry;
use crate::domain::gauges::Gauges;
use crate::domain::grants::user_grants::UserGrants;
use crate::domain::health::Health;
use crate::domain::keys::KeyManager;
use crate::domain::sso::flow::Flow;
use crate::domain::sso::logout::Logout;
use crate::domain::sso::sessions::Sessions;
use crate::domain::sso::tokens_admin::TokenAdmin;
use crate::domain::tokens::TokenIssuer;
use crate::domain::users::Users;
use crate::domain::values::Issuer;
use crate::domain::webauthn::Passkeys;

/// The domain services the handlers call.
#[derive(Debug, Clone)]
pub struct Services {
    /// Registered clients.
    pub clients: ClientRegistry,
    /// Signing keys.
    pub keys: Arc<KeyManager>,
    /// Access-token minting (the client-credentials grant).
    pub tokens: TokenIssuer,
    /// The browser side of the authorization-code flow.
    pub flow: Flow,
    /// The account page.
    pub account: crate::domain::account::Account,
    /// RP-Initiated Logout.
    pub logout: Logout,
    /// The authorization-code and refresh-token grants.
    pub user_grants: UserGrants,
    /// Introspection, revocation, userinfo, the revocation list.
    pub token_admin: TokenAdmin,
    /// DPoP proofs.
    pub dpop: crate::domain::dpop::Dpop,
    /// Token exchange (RFC 8693).
    pub token_exchange: crate::domain::grants::token_exchange::TokenExchange,
    /// Readiness.
    pub health: Health,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// What `/metrics` reads at scrape time.
    pub gauges: Gauges,
    /// Users (the admin API).
    pub users: Users,
    /// The audit trail (the admin API).
    pub audit: AuditTrail,
    /// SSO sessions (the admin API).
    pub sessions: Sessions,
    /// WebAuthn, when the issuer's host can be a relying party id.
    pub passkeys: Option<Passkeys>,
    /// Per-client rate limits at `/token`, `/introspect`, `/revoke`.
    pub rate_limits: crate::domain::rate_limits::RateLimits,
}

/// Everything the router serves from. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// `/token`, `/revoke`, `/introspect`, `/userinfo`.
    pub oauth: Arc<OAuthEndpoints>,
    /// `/authorize`, `/login`, `/consent`, `/logout`.
    pub browser: Arc<BrowserEndpoints>,
    /// The metadata documents and the JWKS.
    pub documents: Arc<Documents>,
    /// `/revocations`.
    pub feed: Arc<RevocationFeed>,
    /// `/readyz`.
    pub health: Health,
    /// The admin listener's `/metrics`.
    pub ops: Arc<OpsEndpoints>,
    /// `/admin/v1`.
    pub admin: AdminApi,
    /// `/account...`.
    pub account: Arc<super::account::AccountEndpoints>,
}

/// What the client-authenticated OAuth endpoints use.
#[derive(Debug)]
pub struct OAuthEndpoints {
    /// Client authentication.
    pub clients: ClientRegistry,
    /// The client-credentials grant.
    pub tokens: TokenIssuer,
    /// The authorization-code and refresh-token grants.
    pub user_grants: UserGrants,
    /// Introspection, revocation, userinfo.
    pub token_admin: TokenAdmin,
    /// Per-client rate limits.
    pub rate_limits: crate::domain::rate_limits::RateLimits,
    /// `registration.enabled`: dynamic client registration is served.
    pub registration: bool,
    /// DPoP proofs (RFC 9449) at `/token` and `/userinfo`.
    pub dpop: crate::domain::dpop::Dpop,
    /// Token exchange (RFC 8693).
    pub token_exchange: crate::domain::grants::token_exchange::TokenExchange,
}

/// What the browser endpoints use.
#[derive(Debug)]
pub struct BrowserEndpoints {
    /// Sign-in, consent, codes.
    pub flow: Flow,
    /// RP-Initiated Logout.
    pub logout: Logout,
    /// The IdP's cookies.
    pub cookies: CookiePolicy,
    /// `server.trusted_proxies`.
    pub trusted_proxies: TrustedProxies,
    /// Our issuer identifier, which derives the forms' actions.
    pub issuer: Issuer,
    /// The pages, with the configured branding.
    pub pages: Pages,
    /// WebAuthn (passkeys and security keys), when available.
    pub passkeys: Option<Passkeys>,
}

/// The documents served from memory.
#[derive(Debug)]
pub struct Documents {
    /// The metadata, rendered once.
    pub metadata: Metadata,
    /// The key ring, for the JWKS.
    pub keys: Arc<KeyManager>,
    /// `Cache-Control` of the JWKS, derived from the rotation schedule.
    pub jwks_cache_control: HeaderValue,
}

/// What the revocation feed uses.
#[derive(Debug)]
pub struct RevocationFeed {
    /// The last rendered feed.
    pub cache: FeedCache,
    /// The revocation list.
    pub token_admin: TokenAdmin,
    /// Revoked keys.
    pub keys: Arc<KeyManager>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Our issuer identifier.
    pub issuer: String,
    /// The longest lifetime of a token we sign (access or ID token): how long a revoked key is listed.
    pub longest_token_ttl: i64,
}

impl HttpState {
    /// The state for `config` over `services`.
    pub fn new(config: &Config, services: Services) -> Self {
        let issuer = config.server.issuer.clone();
        let jwks_cache_control =
            HeaderValue::from_str(&format!("public, max-age={}", config.jwks_max_age_secs()))
                .unwrap_or(HeaderValue::from_static("public, max-age=60"));
        let t = &config.tokens;
        let admin = AdminApi::new(
            AdminServices {
                clients: services.clients.clone(),
                keys: services.keys.clone(),
                users: services.users,
                sessions: services.sessions,
                token_admin: services.token_admin.clone(),
                clock: services.clock.clone(),
                audit: services.audit,
            },
            AdminAuth::new(&config.admin.audience, &issuer, None),
            config.admin.api,
            config.server.trusted_proxies.clone(),
        );
        Self {
            oauth: Arc::new(OAuthEndpoints {
                clients: services.clients,
                tokens: services.tokens,
                user_grants: services.user_grants,
                token_admin: services.token_admin.clone(),
                rate_limits: services.rate_limits,
                registration: config.registration.enabled,
                dpop: services.dpop,
                token_exchange: services.token_exchange,
            }),
            browser: Arc::new(BrowserEndpoints {
                flow: services.flow,
                logout: services.logout,
                cookies: CookiePolicy::for_issuer(&issuer),
                trusted_proxies: config.server.trusted_proxies.clone(),
                issuer: Issuer::new(&issuer),
                pages: Pages::new(&config.branding),
                passkeys: services.passkeys,
            }),
            documents: Arc::new(Documents {
                metadata: Metadata::render(config),
                keys: services.keys.clone(),
                jwks_cache_control,
            }),
            feed: Arc::new(RevocationFeed {
                cache: FeedCache::default(),
                token_admin: services.token_admin,
                keys: services.keys,
                clock: services.clock,
                issuer,
                longest_token_ttl: t.access_token_ttl_secs.max(t.id_token_ttl_secs),
            }),
            health: services.health,
            ops: Arc::new(OpsEndpoints::new(config, services.gauges)),
            admin,
            account: Arc::new(super::account::AccountEndpoints {
                account: services.account,
            }),
        }
    }

    /// The same state, with the admin API fetching this IdP's keys and revocation feed from the
    /// public listener bound at `public` over loopback (see [`AdminAuth::loopback_origin`]).
    pub fn with_public_addr(mut self, public: std::net::SocketAddr) -> Self {
        let auth = self
            .admin
            .auth
            .with_origin(AdminAuth::loopback_origin(public));
        self.admin = self.admin.with_auth(auth);
        self
    }
}

/// `FromRef` for each part, so a handler takes `State<Arc<OAuthEndpoints>>` and so on.
macro_rules! parts {
    ($($field:ident: $part:ty),* $(,)?) => {$(
        impl FromRef<HttpState> for $part {
            fn from_ref(s: &HttpState) -> Self {
                s.$field.clone()
            }
        }
    )*};
}

parts!(
    oauth: Arc<OAuthEndpoints>,
    browser: Arc<BrowserEndpoints>,
    documents: Arc<Documents>,
    feed: Arc<RevocationFeed>,
    health: Health,
    ops: Arc<OpsEndpoints>,
    admin: AdminApi,
    account: Arc<super::account::AccountEndpoints>,
);
