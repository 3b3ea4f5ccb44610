//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9, RFC 7521
//! §4.2): the client signs a short-lived JWT with one of its registered keys.
//!
//! Checked strictly, in this order: size and shape (three base64url segments of JSON objects); the
//! header's `alg` on the allow-list (ES256, RS256, PS256, EdDSA: never `none`, never HMAC), no
//! `crit`; the client (named by the `client_id` form field or else by `iss`) registered for
//! `private_key_jwt` and enabled; the signature, with its key named by `kid`, or without a `kid`
//! with each of its keys whose type fits `alg`; then the claims: `iss` = `sub` = the client id,
//! `aud` naming the issuer or one of its client-authenticated endpoints, `exp` required and at
//! most `max_lifetime_secs` ahead, `nbf`/`iat` not in the future (with a small leeway), `jti`
//! required; last, the `jti` is recorded once across all replicas
//! ([`Store::remember_once`](crate::store::Store::remember_once), scope
//! `client_assertion:<client_id>`) until the assertion expires, so a replay is refused.

use std::sync::Arc;

use auth_core::Clock;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use moka::future::Cache;
use serde_json::{Map, Value};

use super::client_keys::{AssertionAlg, ClientKey, parse_client_jwks};
use super::jwks_source::{JwksFetchError, JwksSource, Reach};
use super::{Client, ClientRegistry};
use crate::domain::values::Issuer;
use crate::model::records::AuthMethod;
use crate::store::{Store, StoreError};

/// RFC 7523 §2.2 `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest assertion accepted (checked before anything is decoded).
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 255;

/// Limits of the assertion check.
#[derive(Debug, Clone, Copy)]
pub struct AssertionSettings {
    /// Largest `exp - now` accepted: an assertion is meant for one request.
    pub max_lifetime_secs: i64,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway_secs: i64,
}

impl Default for AssertionSettings {
    fn default() -> Self {
        Self {
            max_lifetime_secs: 300,
            leeway_secs: 30,
        }
    }
}

/// Why an assertion was refused (`invalid_client` on the wire, RFC 7521 §4.2.1), or failed.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// Not a JWS in compact form of JSON objects, or too large.
    #[error("client assertion is malformed: {0}")]
    Malformed(&'static str),
    /// `alg` is not on the allow-list, or does not fit the key.
    #[error("client assertion algorithm {0:?} is not accepted")]
    Alg(String),
    /// Unknown or disabled client, or one that does not use `private_key_jwt`.
    #[error("client authentication failed")]
    Client,
    /// The client exists but authenticates otherwise.
    #[error("this client does not authenticate with private_key_jwt")]
    NotKeyClient,
    /// No registered key matches the header.
    #[error("no registered key of this client matches the client assertion")]
    NoKey,
    /// The signature does not verify.
    #[error("client assertion signature is invalid")]
    Signature,
    /// A claim is missing, of the wrong type, or wrong.
    #[error("client assertion {0}")]
    Claims(String),
    /// The `jti` was used before.
    #[error("client assertion was already used (jti replayed)")]
    Replayed,
    /// The client's keys could not be had.
    #[error("the client's keys are unavailable: {0}")]
    Keys(JwksFetchError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client's parsed inline JWK Set, with the text it was parsed from.
type InlineKeys = (String, Arc<Vec<ClientKey>>);

/// Verifies client assertions; held by the [`ClientRegistry`].
#[derive(Debug, Clone)]
pub struct AssertionVerifier {
    store: Store,
    clock: Arc<dyn Clock>,
    audiences: Arc<[String]>,
    settings: AssertionSettings,
    jwks: JwksSource,
    /// Parsed inline JWK Sets by client id, with the text they were parsed from.
    inline: Cache<String, Arc<InlineKeys>>,
    /// Whether a client was registered dynamically (its `jwks_uri` then reaches public addresses
    /// only), by client id: one lookup per client per five minutes, not one per assertion.
    dynamic: Cache<String, bool>,
}

impl AssertionVerifier {
    /// A verifier for the issuer `issuer`: `aud` must name it, its token endpoint, or its
    /// introspection or revocation endpoint.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        issuer: &str,
        settings: AssertionSettings,
        jwks: JwksSource,
    ) -> Self {
        let iss = Issuer::new(issuer);
        let audiences: Vec<String> = vec![
            iss.as_str().to_owned(),
            iss.token(),
            iss.introspection(),
            iss.revocation(),
        ];
        Self {
            store,
            clock,
            audiences: audiences.into(),
            settings,
            jwks,
            inline: Cache::builder().max_capacity(10_000).build(),
            dynamic: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(std::time::Duration::from_secs(300))
                .build(),
        }
    }

    /// Where the client's `jwks_uri` may be fetched from: public addresses only for a client
    /// registered dynamically (RFC 7591), anywhere for one an operator registered.
    async fn reach(&self, client_id: &str) -> Result<Reach, AssertionError> {
        let dynamic = match self.dynamic.get(client_id).await {
            Some(d) => d,
            None => {
                let d = self.store.client_registration(client_id).await?.is_some();
                self.dynamic.insert(client_id.to_owned(), d).await;
                d
            }
        };
        Ok(if dynamic {
            Reach::PublicOnly
        } else {
            Reach::Any
        })
    }

    /// The client's keys; `kid` may ask for a refetch of its `jwks_uri`.
    async fn keys(
        &self,
        client: &Client,
        kid: Option<&str>,
    ) -> Result<Arc<Vec<ClientKey>>, AssertionError> {
        if let Some(text) = &client.jwks {
            if let Some(hit) = self.inline.get(&client.id).await
                && hit.0 == *text
            {
                return Ok(hit.1.clone());
            }
            let max = self.jwks.settings().max_keys;
            let (keys, _) = parse_client_jwks(text.as_bytes(), max, true)
                .map_err(|e| AssertionError::Keys(JwksFetchError::Invalid(e.0)))?;
            let keys = Arc::new(keys);
            self.inline
                .insert(client.id.clone(), Arc::new((text.clone(), keys.clone())))
                .await;
            return Ok(keys);
        }
        match &client.jwks_uri {
            Some(uri) => {
                let reach = self.reach(&client.id).await?;
                let keys = self.jwks.keys(uri, kid, reach).await;
                keys.map_err(AssertionError::Keys)
            }
            None => Err(AssertionError::NoKey),
        }
    }
}

/// The verifier for issuer `issuer` with the default `jwks_uri` cache and assertion lifetime at most
/// `max_lifetime_secs`; `Err` if the HTTP client cannot be built.
pub fn verifier(
    store: Store,
    clock: Arc<dyn Clock>,
    issuer: &str,
    max_lifetime_secs: u64,
) -> Result<AssertionVerifier, String> {
    let jwks = JwksSource::new(clock.clone(), super::jwks_source::JwksSettings::default())?;
    let settings = AssertionSettings {
        max_lifetime_secs: i64::try_from(max_lifetime_secs).unwrap_or(300),
        ..AssertionSettings::default()
    };
    Ok(AssertionVerifier::new(store, clock, issuer, settings, jwks))
}

/// The three decoded parts of a compact JWS.
struct Parts {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    message_len: usize,
    signature: Vec<u8>,
}

fn split(assertion: &str) -> Result<Parts, AssertionError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::Malformed("too large"));
    }
    let mut it = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(AssertionError::Malformed("not a JWS in compact form"));
    };
    let object = |seg: &str| -> Result<Map<String, Value>, AssertionError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(seg)
            .map_err(|_| AssertionError::Malformed("a segment is not base64url"))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(AssertionError::Malformed("a segment is not a JSON object")),
        }
    };
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| AssertionError::Malformed("the signature is not base64url"))?;
    Ok(Parts {
        header: object(h)?,
        claims: object(p)?,
        message_len: h.len() + 1 + p.len(),
        signature,
    })
}

fn string_claim<'a>(
    m: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, AssertionError> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AssertionError::Claims(format!("{name} is not a string"))),
    }
}

fn time_claim(m: &Map<String, Value>, name: &str) -> Result<Option<i64>, AssertionError> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| AssertionError::Claims(format!("{name} is out of range"))),
        Some(_) => Err(AssertionError::Claims(format!("{name} is not a number"))),
    }
}

impl ClientRegistry {
    /// Authenticates a client by a `private_key_jwt` assertion (RFC 7523 §3). `form_client_id` is
    /// the request's `client_id` parameter, if any: it must name the assertion's issuer.
    pub async fn authenticate_assertion(
        &self,
        form_client_id: Option<&str>,
        assertion: &str,
    ) -> Result<Arc<Client>, AssertionError> {
        let Some(v) = &self.assertions else {
            return Err(AssertionError::Client);
        };
        let parts = split(assertion)?;
        // RFC 7515 §4.1.1; RFC 8725 §3.1: the algorithm comes from an allow-list.
        let alg_name = string_claim(&parts.header, "alg")?.unwrap_or("none");
        let alg = AssertionAlg::from_name(alg_name)
            .ok_or_else(|| AssertionError::Alg(alg_name.to_owned()))?;
        // RFC 7515 §4.1.11: no extension is understood here.
        if parts.header.contains_key("crit") {
            return Err(AssertionError::Malformed("crit is not supported"));
        }
        let kid = string_claim(&parts.header, "kid")?;
        let iss = string_claim(&parts.claims, "iss")?
            .ok_or_else(|| AssertionError::Claims("has no iss".into()))?;
        if form_client_id.is_some_and(|id| id != iss) {
            return Err(AssertionError::Claims(
                "iss does not match the client_id parameter".into(),
            ));
        }
        let client = match self.get(iss).await {
            Ok(Some(c)) if c.enabled => c,
            Ok(_) => return Err(AssertionError::Client),
            Err(super::ClientError::Store(e)) => return Err(AssertionError::Store(e)),
            Err(_) => return Err(AssertionError::Client),
        };
        if client.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
            return Err(AssertionError::NotKeyClient);
        }
        let keys = v.keys(&client, kid).await?;
        let message = &assertion.as_bytes()[..parts.message_len];
        let candidates: Vec<&ClientKey> = match kid {
            Some(kid) => keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None => keys.iter().filter(|k| k.fits(alg)).collect(),
        };
        if candidates.is_empty() {
            return Err(AssertionError::NoKey);
        }
        if !candidates.iter().any(|k| k.fits(alg)) {
            return Err(AssertionError::Alg(alg_name.to_owned()));
        }
        if !candidates
            .iter()
            .any(|k| k.verify(alg, message, &parts.signature))
        {
            return Err(AssertionError::Signature);
        }
        let exp = v.check_claims(&client.id, &parts.claims)?;
        let jti = string_claim(&parts.claims, "jti")?
            .filter(|j| !j.is_empty())
            .ok_or_else(|| AssertionError::Claims("has no jti".into()))?;
        if jti.len() > MAX_JTI_LEN {
            return Err(AssertionError::Claims("jti is too long".into()));
        }
        let scope = format!("client_assertion:{}", client.id);
        let until = exp.saturating_add(v.settings.leeway_secs);
        if !v
            .store
            .remember_once(&scope, jti, until, v.clock.now())
            .await?
        {
            return Err(AssertionError::Replayed);
        }
        Ok(client)
    }
}

impl AssertionVerifier {
    /// RFC 7523 §3 claims, after the signature; returns `exp`.
    fn check_claims(&self, client_id: &str, c: &Map<String, Value>) -> Result<i64, AssertionError> {
        let now = self.clock.now();
        let leeway = self.settings.leeway_secs;
        let claim = |m: &str| AssertionError::Claims(m.to_owned());
        // §3 items 1 and 2; OpenID Connect Core §9: iss and sub are the client id.
        if string_claim(c, "iss")? != Some(client_id) {
            return Err(claim("iss is not the client id"));
        }
        if string_claim(c, "sub")? != Some(client_id) {
            return Err(claim("sub is not the client id"));
        }
        // §3 item 3: the audience identifies this authorization server.
        let fits = |a: &Value| {
            a.as_str()
                .is_some_and(|a| self.audiences.iter().any(|x| x == a))
        };
        let aud_ok = match c.get("aud") {
            Some(Value::String(_)) => c.get("aud").is_some_and(fits),
            Some(Value::Array(list)) => list.iter().any(fits),
            _ => false,
        };
        if !aud_ok {
            return Err(claim("aud does not name this issuer or its token endpoint"));
        }
        // §3 item 4: exp is required, and an assertion is short-lived.
        let exp = time_claim(c, "exp")?.ok_or_else(|| claim("has no exp"))?;
        if exp.saturating_add(leeway) <= now {
            return Err(claim("has expired"));
        }
        if exp > now.saturating_add(self.settings.max_lifetime_secs + leeway) {
            return Err(AssertionError::Claims(format!(
                "exp is more than {} seconds ahead",
                self.settings.max_lifetime_secs
            )));
        }
        // §3 items 5 and 6.
        if time_claim(c, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(claim("is not valid yet (nbf)"));
        }
        if time_claim(c, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(claim("is issued in the future (iat)"));
        }
        Ok(exp)
    }
}

#[cfg(test)]
#[path = "assertion_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
