//! Wiring: the application state, start-up (connect, migrate, keys), the background key job, serving.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::domain::clients::ClientRegistry;
use crate::domain::gauges::Gauges;
use crate::domain::grants::user_grants::{RefreshPolicy, UserGrants};
use crate::domain::health::Health;
use crate::domain::keys::KeyManager;
use crate::domain::keys::kek::Kek;
use crate::domain::keys::kek_set::KekSet;
use crate::domain::keys::lifecycle::Schedule;
use crate::domain::passwords::{Cost, PasswordHasher};
use crate::domain::signing_pool::SigningPool;
use crate::domain::sso::backchannel::Drainer;
use crate::domain::sso::device::{self, DeviceCookies};
use crate::domain::sso::flow::{Flow, FlowParts};
use crate::domain::sso::logout::Logout;
use crate::domain::sso::sessions::Sessions;
use crate::domain::sso::throttle::Throttle;
use crate::domain::sso::tokens_admin::TokenAdmin;
use crate::domain::tokens::TokenIssuer;
use crate::domain::users::Users;
use crate::domain::values::Issuer;
use crate::http::{HttpState, Services};
use crate::store::Store;

/// The running identity provider, shared. Cheap to clone.
pub type AppState = Arc<App>;

/// The running identity provider (without its socket): the configuration and the domain services.
/// The http layer gets its own state from it ([`App::http_state`]).
#[derive(Debug)]
pub struct App {
    /// Configuration, as loaded.
    pub config: Config,
    /// Storage.
    pub store: Store,
    /// Registered clients.
    pub clients: ClientRegistry,
    /// Users.
    pub users: Users,
    /// SSO sessions (the admin API and the CLI list and end them).
    pub sessions: Sessions,
    /// Signing keys and their lifecycle.
    pub keys: Arc<KeyManager>,
    /// Token minting.
    pub issuer: TokenIssuer,
    /// The browser side of the authorization-code flow.
    pub flow: Flow,
    /// The account page.
    pub account: crate::domain::account::Account,
    /// The authorization-code and refresh-token grants.
    pub user_grants: UserGrants,
    /// Introspection, revocation, userinfo.
    pub token_admin: TokenAdmin,
    /// RP-Initiated Logout.
    pub logout: Logout,
    /// Readiness.
    pub health: Health,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// What `/metrics` reads at scrape time.
    pub gauges: Gauges,
    /// Delivers back-channel logout tokens from the outbox ([`App::serve`] runs it).
    pub backchannel: Drainer,
    /// DPoP proofs (RFC 9449) at the token endpoint and `/userinfo`.
    pub dpop: crate::domain::dpop::Dpop,
}

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The KEK could not be loaded.
    #[error(transparent)]
    Kek(#[from] crate::domain::keys::kek::KekError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Key maintenance failed.
    #[error(transparent)]
    Keys(#[from] crate::domain::keys::KeyError),
    /// No stored key can be used to sign: most likely this replica's key-encryption key is not the
    /// one the others use.
    #[error(
        "no usable signing key for {0}: is AUTH_SERVER_KEYS_KEK the key-encryption key the other replicas use?"
    )]
    NoSigningKey(String),
    /// The password parameters are unusable.
    #[error(transparent)]
    Passwords(crate::domain::passwords::PasswordError),
    /// The signing threads could not be started.
    #[error("cannot start signing threads: {0}")]
    Threads(std::io::Error),
    /// The device-cookie key could not be set up.
    #[error(transparent)]
    DeviceCookies(#[from] crate::domain::sso::device::DeviceKeyError),
    /// The DPoP nonce key could not be set up.
    #[error(transparent)]
    DpopNonces(#[from] crate::domain::dpop::nonce::NonceKeyError),
    /// The HTTP client of back-channel logout could not be built.
    #[error("cannot build the back-channel logout HTTP client: {0}")]
    Backchannel(reqwest::Error),
    /// The HTTP client of clients' `jwks_uri` could not be built.
    #[error("cannot build the client jwks_uri HTTP client: {0}")]
    ClientKeys(String),
    /// The environment is inconsistent (a variable and its `_FILE` form both set).
    #[error(transparent)]
    Config(crate::config::ConfigError),
}

impl App {
    /// Connects and migrates the database, creates the first keys if there are none, and loads
    /// the key ring with the given KEK (or [`KekSet`]: current and previous KEKs).
    pub async fn start(
        config: Config,
        clock: Arc<dyn Clock>,
        kek: impl Into<KekSet>,
    ) -> Result<AppState, StartError> {
        if config.admin.metrics {
            crate::telemetry::install();
        }
        let wait = Duration::from_secs(config.database.connect_wait_secs);
        let store = Store::connect_waiting(&config.database, wait).await?;
        store.migrate().await?;
        let app = Self::from_parts(config, clock, kek, store)?;
        app.keys.maintain().await?;
        let unusable = app.keys.algorithms_without_signer();
        if !unusable.is_empty() {
            return Err(StartError::NoSigningKey(format!("{unusable:?}")));
        }
        Ok(Arc::new(app))
    }

    /// Loads the KEKs as configured from the process environment (see [`App::load_kek_from`]).
    pub fn load_kek(config: &Config) -> Result<KekSet, StartError> {
        Self::load_kek_from(config, std::env::vars())
    }

    /// Loads the KEKs: the current one from `AUTH_SERVER_KEYS_KEK`, else from the file
    /// `keys.kek_file` (which `AUTH_SERVER_KEYS_KEK_FILE` sets; created on first start); the
    /// previous ones, accepted for opening during a KEK rotation, from
    /// `AUTH_SERVER_KEYS_KEK_PREVIOUS`, else from the file `keys.kek_previous_file` (which
    /// `AUTH_SERVER_KEYS_KEK_PREVIOUS_FILE` sets). A variable and its `_FILE` form both set is an
    /// error (the configuration loader refuses it too).
    pub fn load_kek_from(
        config: &Config,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<KekSet, StartError> {
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        for var in ["AUTH_SERVER_KEYS_KEK", "AUTH_SERVER_KEYS_KEK_PREVIOUS"] {
            let file = format!("{var}_FILE");
            if env.contains_key(var) && env.contains_key(&file) {
                return Err(StartError::Config(crate::config::ConfigError::Parse(
                    format!("{var} and {file} are both set: set one"),
                )));
            }
        }
        let current = Kek::load_or_create(
            env.get("AUTH_SERVER_KEYS_KEK").map(String::as_str),
            &config.keys.kek_file,
        )?;
        let previous = KekSet::load_previous(
            env.get("AUTH_SERVER_KEYS_KEK_PREVIOUS").map(String::as_str),
            &config.keys.kek_previous_file,
        )?;
        Ok(KekSet::new(current, previous))
    }

    /// Assembles the application over an existing store (no I/O but starting the signing threads).
    pub fn from_parts(
        config: Config,
        clock: Arc<dyn Clock>,
        kek: impl Into<KekSet>,
        store: Store,
    ) -> Result<Self, StartError> {
        let keks: KekSet = kek.into();
        // Every replica shares the KEK, so every replica derives the same device-cookie key. During
        // a KEK rotation cookies MAC'd under a previous KEK's key still verify; new ones use the
        // current KEK's.
        let previous_device_keys = keks
            .previous()
            .map(|k| k.derive(device::KEY_LABEL))
            .collect::<Result<Vec<_>, _>>()?;
        let devices = DeviceCookies::new(
            &keks.current().derive(device::KEY_LABEL)?,
            config.login.device_cookie_ttl_secs,
        )?
        .accepting(&previous_device_keys)?;
        let schedule = Schedule {
            rotation_period: config.keys.rotation_period_secs,
            publish_lead: config.keys.publish_lead_secs,
            refresh_interval: config.keys.refresh_interval_secs,
            access_token_ttl: config.tokens.access_token_ttl_secs,
        };
        let keys = Arc::new(KeyManager::new(
            store.clone(),
            keks.clone(),
            clock.clone(),
            schedule,
            config.keys.rsa_bits,
        ));
        let clients = ClientRegistry::new(
            store.clone(),
            clock.clone(),
            Duration::from_secs(config.clients.cache_ttl_secs),
        )
        .with_secret_overlap(config.clients.secret_rotation_overlap_secs)
        .with_assertions(
            crate::domain::clients::assertion::verifier(
                store.clone(),
                clock.clone(),
                &config.server.issuer,
                config.clients.assertion_max_lifetime_secs,
            )
            .map_err(StartError::ClientKeys)?,
        );
        let p = &config.passwords;
        // The CPUs this process may use: the cgroup CPU quota (`docker run --cpus`, a Kubernetes
        // CPU limit) included, so the pools below follow the quota, not the host's core count.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let hash_threads = if p.max_concurrent == 0 {
            cores
        } else {
            p.max_concurrent
        };
        let hasher = PasswordHasher::new(
            Cost {
                memory_kib: p.memory_kib,
                iterations: p.iterations,
                parallelism: p.parallelism,
            },
            hash_threads,
            p.max_waiting,
        )
        .map_err(StartError::Passwords)?;
        let signing = SigningPool::per_core().map_err(StartError::Threads)?;
        tracing::info!(
            available_cpus = cores,
            password_hash_threads = hash_threads,
            signing_threads = cores,
            "thread pools sized"
        );
        let gauges = Gauges {
            store: store.clone(),
            keys: keys.clone(),
            schedule,
            hasher: hasher.clone(),
            signing: signing.clone(),
            clock: clock.clone(),
        };
        let users = Users::new(store.clone(), hasher.clone(), clock.clone());
        let issuer = TokenIssuer::new(
            &config.server.issuer,
            config.tokens.access_token_ttl_secs,
            keys.clone(),
            clock.clone(),
            signing,
        );
        let sessions = Sessions::new(
            store.clone(),
            clock.clone(),
            config.sessions.idle_timeout_secs,
            config.sessions.absolute_timeout_secs,
            config.sessions.max_per_user,
        );
        let mfa = crate::domain::mfa::Mfa::new(
            store.clone(),
            keks.clone(),
            clock.clone(),
            config.branding.product_name.trim(),
            config.login.clone(),
        )
        .with_recent_auth_secs(config.account.recent_auth_secs)
        .with_webauthn(
            crate::domain::webauthn::Passkeys::new(
                store.clone(),
                clock.clone(),
                &config.server.issuer,
                "",
            )
            .is_some(),
        );
        let flow = Flow::new(FlowParts {
            store: store.clone(),
            clients: clients.clone(),
            users: users.clone(),
            sessions: sessions.clone(),
            throttle: Throttle::new(store.clone(), clock.clone(), config.login.clone()),
            devices: devices.clone(),
            mfa: mfa.clone(),
            clock: clock.clone(),
            issuer: config.server.issuer.clone(),
            code_ttl: config.authorize.code_ttl_secs,
            require_pkce: config.authorize.require_pkce,
            par: crate::domain::sso::flow::ParPolicy {
                required: config.par.required,
                request_ttl: config.par.request_ttl_secs,
            },
        });
        let account = crate::domain::account::Account::new(crate::domain::account::AccountParts {
            store: store.clone(),
            users: users.clone(),
            hasher,
            sessions: sessions.clone(),
            throttle: Throttle::new(store.clone(), clock.clone(), config.login.clone()),
            devices,
            clients: clients.clone(),
            clock: clock.clone(),
            idle_secs: config.sessions.idle_timeout_secs,
            recent_auth_secs: config.account.recent_auth_secs,
            mfa,
        });
        let t = &config.tokens;
        let user_grants = UserGrants::new(
            store.clone(),
            users.clone(),
            sessions.clone(),
            issuer.clone(),
            clock.clone(),
            &config.server.issuer,
            t.id_token_ttl_secs,
            RefreshPolicy {
                idle: t.refresh_token_idle_secs,
                absolute: t.refresh_token_absolute_secs,
                grace: t.refresh_reuse_grace_secs,
            },
        );
        let token_admin = TokenAdmin::new(
            store.clone(),
            users.clone(),
            keys.clone(),
            clock.clone(),
            &config.server.issuer,
        );
        let logout = Logout::new(
            token_admin.clone(),
            clients.clone(),
            sessions.clone(),
            Issuer::new(&config.server.issuer).end_session(),
        );
        let backchannel = Drainer::new(
            store.clone(),
            issuer.clone(),
            clock.clone(),
            config.backchannel_logout.clone(),
        )
        .map_err(StartError::Backchannel)?;
        // Every replica derives the same nonce key from the KEK: a nonce one issued, all accept.
        let nonces = crate::domain::dpop::Nonces::new(
            &keks
                .current()
                .derive(crate::domain::dpop::nonce::KEY_LABEL)?,
            config.dpop.nonce_slot_secs,
        )?;
        let (require_nonce, iss) = (config.dpop.require_nonce, &config.server.issuer);
        let dpop = crate::domain::dpop::Dpop::new(
            store.clone(),
            clock.clone(),
            nonces,
            require_nonce,
            iss,
        );
        Ok(Self {
            dpop,
            backchannel,
            health: Health::new(
                store.clone(),
                keys.clone(),
                clock.clone(),
                config.health.database_grace_secs,
            ),
            logout,
            flow,
            account,
            user_grants,
            token_admin,
            config,
            store,
            clients,
            users,
            sessions,
            keys,
            issuer,
            clock,
            gauges,
        })
    }

    /// Runs key maintenance (and purges expired sessions, codes and tokens) every `keys.refresh_interval_secs` until the returned task is aborted.
    /// A failure (database down) is logged and the current keys stay in service.
    pub fn spawn_key_job(self: &Arc<Self>) -> JoinHandle<()> {
        let app = self.clone();
        let every =
            Duration::from_secs(u64::try_from(app.config.keys.refresh_interval_secs).unwrap_or(60));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; start() already ran it
            loop {
                tick.tick().await;
                if let Err(e) = app.keys.maintain().await {
                    tracing::warn!(error = %e, "key maintenance failed; serving the keys that could be loaded");
                }
                // Lapsed sessions' logout tokens are enqueued before the sessions can be purged.
                let idle = app.config.sessions.idle_timeout_secs;
                match app
                    .store
                    .notify_lapsed_sessions(app.clock.now(), idle)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(enqueued = n, "logout tokens of lapsed sessions enqueued")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "enqueueing the logout tokens of lapsed sessions failed");
                        continue;
                    }
                }
                if let Err(e) = app.store.purge_expired(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging expired sessions and tokens failed");
                }
                let keep = app
                    .config
                    .backchannel_logout
                    .keep_days
                    .saturating_mul(86_400);
                if let Err(e) = app
                    .store
                    .purge_outbox(app.clock.now().saturating_sub(keep))
                    .await
                {
                    tracing::warn!(error = %e, "purging the back-channel logout outbox failed");
                }
                if let Err(e) = app.store.purge_seen_ids(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging expired single-use identifiers failed");
                }
                if let Err(e) = app.store.purge_mfa_pending(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging expired pending sign-ins failed");
                }
                // Kept a while past expiry, so a late browser learns `invalid_request_uri`.
                let keep = crate::domain::sso::flow::SIGN_IN_WINDOW;
                let before = app.clock.now().saturating_sub(keep);
                if let Err(e) = app.store.purge_pushed_requests(before).await {
                    tracing::warn!(error = %e, "purging expired pushed authorization requests failed");
                }
                let keep = app.config.audit.retention_days.saturating_mul(86_400);
                let cutoff = app.clock.now().saturating_sub(keep);
                if let Err(e) = app.store.purge_audit_before(cutoff).await {
                    tracing::warn!(error = %e, "purging old audit events failed");
                }
            }
        })
    }

    /// The http layer's state over these services.
    pub fn http_state(&self) -> HttpState {
        HttpState::new(
            &self.config,
            Services {
                clients: self.clients.clone(),
                keys: self.keys.clone(),
                tokens: self.issuer.clone(),
                flow: self.flow.clone(),
                account: self.account.clone(),
                logout: self.logout.clone(),
                user_grants: self.user_grants.clone(),
                token_admin: self.token_admin.clone(),
                dpop: self.dpop.clone(),
                token_exchange: crate::domain::grants::token_exchange::TokenExchange::new(
                    self.store.clone(),
                    self.users.clone(),
                    self.keys.clone(),
                    self.issuer.clone(),
                    self.clock.clone(),
                ),
                health: self.health.clone(),
                clock: self.clock.clone(),
                gauges: self.gauges.clone(),
                users: self.users.clone(),
                audit: crate::domain::audit_trail::AuditTrail::new(self.store.clone()),
                sessions: self.sessions.clone(),
                rate_limits: crate::domain::rate_limits::RateLimits::new(
                    self.clock.clone(),
                    self.config.rate_limits.per_client_limit(),
                    self.config.rate_limits.failed_auth_limit(),
                    self.config.rate_limits.replicas,
                ),
                passkeys: crate::domain::webauthn::Passkeys::new(
                    self.store.clone(),
                    self.clock.clone(),
                    &self.config.server.issuer,
                    &self.config.branding.product_name,
                ),
            },
        )
    }

    /// Serves the public router on `public` and the admin router (metrics, admin API) on `admin`
    /// until `shutdown` resolves, running the key job alongside, within the `[server]` slow-client
    /// limits (see [`crate::http::serve`]).
    ///
    /// Shutdown, in this order: readiness turns 503 at once ([`Health::begin_draining`]) while both
    /// listeners keep accepting for `health.shutdown_delay_secs` (so a load balancer polling
    /// `/readyz` sees the 503 before connections are refused); then both stop accepting, idle connections close, and the
    /// requests in flight get `health.drain_secs` to finish, after which their connections are
    /// closed and this returns anyway.
    pub async fn serve(
        self: Arc<Self>,
        public: TcpListener,
        admin: Option<TcpListener>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let job = self.spawn_key_job();
        let drainer = self.backchannel.spawn();
        let state = self.http_state().with_public_addr(public.local_addr()?);
        let limits = self.config.server.limits();
        let drain = Duration::from_secs(self.config.health.drain_secs);
        let delay = Duration::from_secs(self.config.health.shutdown_delay_secs);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut rx = stopped.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let admin_task = admin.map(|listener| {
            let router = crate::http::ops::admin_router(state.clone());
            tokio::spawn(crate::http::serve_with_drain(
                listener,
                router,
                limits,
                until_stopped(),
                drain,
            ))
        });
        let public_task = crate::http::serve_with_drain(
            public,
            crate::http::router(state),
            limits,
            until_stopped(),
            drain,
        );
        let health = self.health.clone();
        let signal = async move {
            shutdown.await;
            health.begin_draining();
            tracing::info!(
                delay_secs = delay.as_secs(),
                drain_secs = drain.as_secs(),
                "not ready any more; still accepting until load balancers notice, then draining"
            );
            // Load balancers poll /readyz; they only see the 503 while the listeners accept.
            tokio::time::sleep(delay).await;
            let _ = stop.send(true);
        };
        let (drained, ()) = tokio::join!(public_task, signal);
        if let Some(task) = admin_task {
            let _ = task.await;
        }
        job.abort();
        drainer.abort();
        if drained == http_serve::Drained::Complete {
            tracing::info!("every request in flight was answered; stopped");
        }
        Ok(())
    }
}
