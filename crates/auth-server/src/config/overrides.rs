//! How a configuration file and `AUTH_SERVER_*` variables are laid over the embedded defaults.

use super::ConfigError;

/// Deep-merges `over` into `base` (tables merge, everything else replaces).
pub(super) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Applies `AUTH_SERVER_SECTION_KEY=value` to the table. The key must exist in the defaults (so a typo is
/// an error), and the value is read as the type the default has.
pub(super) fn apply_override(
    table: &mut toml::Table,
    defaults: &toml::Table,
    var: &str,
    rest: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let unknown = || ConfigError::Parse(format!("environment variable {var} names no setting"));
    let lower = rest.to_ascii_lowercase();
    let (section, default) = defaults
        .iter()
        .find_map(|(section, v)| {
            let key = lower.strip_prefix(section.as_str())?.strip_prefix('_')?;
            let default = v.as_table()?.get(key)?;
            Some(((section.clone(), key.to_owned()), default))
        })
        .ok_or_else(unknown)?;
    let parsed = match default {
        toml::Value::Integer(_) => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| ConfigError::Parse(format!("{var} must be an integer, got {value:?}")))?,
        toml::Value::Boolean(_) => value
            .trim()
            .parse::<bool>()
            .map(toml::Value::Boolean)
            .map_err(|_| {
                ConfigError::Parse(format!("{var} must be true or false, got {value:?}"))
            })?,
        _ => toml::Value::String(value.to_owned()),
    };
    let entry = table
        .entry(section.0)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry.as_table_mut() {
        Some(t) => {
            t.insert(section.1, parsed);
            Ok(())
        }
        None => Err(unknown()),
    }
}
