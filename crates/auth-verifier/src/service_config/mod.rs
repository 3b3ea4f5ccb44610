//! One way for every resource service to read its configuration: the issuer, its audience(s), its
//! external URL and its client credentials, from environment variables with the service's prefix
//! (`ORDERS_ISSUER`, `ORDERS_CLIENT_SECRET`, ...) or from files (`ORDERS_CLIENT_SECRET_FILE=/path`,
//! as Docker and Kubernetes mount secrets), with typed errors that name the variable.
//!
//! | variable (after the prefix) | meaning |
//! |---|---|
//! | `ISSUER` | the IdP's issuer identifier (https, or http on loopback) |
//! | `AUDIENCE` | the audience tokens must carry; several, comma-separated, are accepted |
//! | `EXTERNAL_URL` | the URL clients use to reach the service (the base of DPoP `htu`) |
//! | `CLIENT_ID`, `CLIENT_SECRET` | the service's own client at the IdP (both or neither) |
//! | `TOKEN_ENDPOINT` | the IdP's token endpoint; unset: taken from the issuer's discovery document |
//!
//! Each may instead be given as `<NAME>_FILE`: the file's contents, trailing whitespace trimmed. An
//! empty variable counts as unset; a variable and its `_FILE` form both set is an error. A value
//! read from a file never appears in an error message.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::service_token::{ClientAuth, TokenEndpoint};

#[cfg(test)]
mod tests;

/// A configuration variable is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset (neither it nor its `_FILE` form).
    #[error("{var} is required (or {var}_FILE)")]
    Missing {
        /// The variable.
        var: String,
    },
    /// A variable and its `_FILE` form are both set.
    #[error("{var} and {var}_FILE are both set: set one")]
    Conflict {
        /// The variable (without `_FILE`).
        var: String,
    },
    /// A `_FILE` variable names a file that cannot be read.
    #[error("{var}: cannot read {path}: {reason}")]
    File {
        /// The `_FILE` variable.
        var: String,
        /// The path it names.
        path: String,
        /// Why (the I/O error).
        reason: String,
    },
    /// A value does not parse or is not allowed.
    #[error("{var}: {reason}")]
    Invalid {
        /// The variable (its `_FILE` form when the value came from a file).
        var: String,
        /// Why (never the value itself when it came from a file).
        reason: String,
    },
}

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where variables come from: the process environment (or, in tests, any function), under one
/// prefix.
#[derive(Clone)]
pub struct ServiceEnv {
    prefix: String,
    lookup: Lookup,
}

impl fmt::Debug for ServiceEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceEnv")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A value and the variable it came from (for error messages).
struct Found {
    value: String,
    var: String,
    from_file: bool,
}

impl ServiceEnv {
    /// The process environment, variables named `<prefix>_<KEY>` (e.g. prefix `ORDERS`).
    pub fn new(prefix: &str) -> Self {
        Self::with_lookup(prefix, |name| std::env::var(name).ok())
    }

    /// Variables from `lookup` instead of the environment.
    pub fn with_lookup(
        prefix: &str,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            prefix: prefix.trim_end_matches('_').to_owned(),
            lookup: Arc::new(lookup),
        }
    }

    /// The prefix, without the `_`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full name of `key`: `<prefix>_<key>`.
    pub fn name(&self, key: &str) -> String {
        format!("{}_{key}", self.prefix)
    }

    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    fn find(&self, key: &str) -> Result<Option<Found>, ConfigError> {
        let var = self.name(key);
        let file_var = format!("{var}_FILE");
        match (self.raw(&var), self.raw(&file_var)) {
            (Some(_), Some(_)) => Err(ConfigError::Conflict { var }),
            (Some(value), None) => Ok(Some(Found {
                value,
                var,
                from_file: false,
            })),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    var: file_var.clone(),
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let value = text.trim_end().to_owned();
                Ok((!value.is_empty()).then_some(Found {
                    value,
                    var: file_var,
                    from_file: true,
                }))
            }
            (None, None) => Ok(None),
        }
    }

    /// The value of `<prefix>_<key>` or of the file `<prefix>_<key>_FILE` names; `None` when
    /// neither is set (or the value is empty).
    pub fn get(&self, key: &str) -> Result<Option<String>, ConfigError> {
        Ok(self.find(key)?.map(|f| f.value))
    }

    /// [`ServiceEnv::get`], required.
    pub fn require(&self, key: &str) -> Result<String, ConfigError> {
        self.get(key)?.ok_or_else(|| ConfigError::Missing {
            var: self.name(key),
        })
    }

    /// [`ServiceEnv::get`], parsed; `what` says what was expected (e.g. "a number of seconds").
    pub fn parse<T: FromStr>(&self, key: &str, what: &str) -> Result<Option<T>, ConfigError> {
        let Some(found) = self.find(key)? else {
            return Ok(None);
        };
        found.value.parse().map(Some).map_err(|_| {
            let reason = match found.from_file {
                true => format!("must be {what}"),
                false => format!("must be {what}, not {:?}", found.value),
            };
            ConfigError::Invalid {
                var: found.var,
                reason,
            }
        })
    }

    /// A URL that must be https (or http on loopback), like every URL the verifier fetches.
    pub fn url(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let Some(found) = self.find(key)? else {
            return Ok(None);
        };
        crate::fetch::check_url(&found.value).map_err(|reason| ConfigError::Invalid {
            var: found.var,
            reason,
        })?;
        Ok(Some(found.value))
    }
}

/// What every resource service needs to know about itself and its IdP. `Debug` hides the secret.
#[derive(Clone)]
pub struct ServiceConfig {
    /// The trusted issuer (`<P>_ISSUER`).
    pub issuer: String,
    /// The audiences accepted, the first being the service's own (`<P>_AUDIENCE`, comma-separated).
    pub audiences: Vec<String>,
    /// The URL clients use to reach the service (`<P>_EXTERNAL_URL`), if set.
    pub external_url: Option<String>,
    /// The service's own client id and secret (`<P>_CLIENT_ID`, `<P>_CLIENT_SECRET`), if set.
    pub client: Option<(String, String)>,
    /// The token endpoint (`<P>_TOKEN_ENDPOINT`), if set.
    pub token_endpoint: Option<String>,
}

impl fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("external_url", &self.external_url)
            .field("client_id", &self.client.as_ref().map(|c| &c.0))
            .field("client_secret", &self.client.as_ref().map(|_| "<redacted>"))
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

impl ServiceConfig {
    /// Reads the variables of the table above from `env`, with `default_issuer` and
    /// `default_audience` for the unset ones.
    pub fn from_env(
        env: &ServiceEnv,
        default_issuer: &str,
        default_audience: &str,
    ) -> Result<Self, ConfigError> {
        let issuer = env.url("ISSUER")?.unwrap_or_else(|| default_issuer.into());
        let audiences = match env.find("AUDIENCE")? {
            None => vec![default_audience.to_owned()],
            Some(found) => {
                let list: Vec<String> = found
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
                if list.is_empty() {
                    return Err(ConfigError::Invalid {
                        var: found.var,
                        reason: "names no audience".into(),
                    });
                }
                list
            }
        };
        let client = match (env.get("CLIENT_ID")?, env.get("CLIENT_SECRET")?) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    var: env.name("CLIENT_SECRET"),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    var: env.name("CLIENT_ID"),
                });
            }
        };
        Ok(Self {
            issuer,
            audiences,
            external_url: env.get("EXTERNAL_URL")?,
            client,
            token_endpoint: env.url("TOKEN_ENDPOINT")?,
        })
    }

    /// The service's own audience (the first).
    pub fn audience(&self) -> &str {
        self.audiences.first().map_or("", String::as_str)
    }

    /// The configured token endpoint, else discovery from the issuer.
    pub fn token_endpoint(&self) -> TokenEndpoint {
        match &self.token_endpoint {
            Some(u) => TokenEndpoint::Url(u.clone()),
            None => TokenEndpoint::Discover {
                issuer: self.issuer.clone(),
            },
        }
    }

    /// The service's client authentication (`client_secret_basic`), when its credentials are set.
    pub fn client_auth(&self) -> Option<ClientAuth> {
        let (id, secret) = self.client.as_ref()?;
        Some(ClientAuth::secret_basic(id, secret))
    }
}
