//! How a configuration file and `AUTH_SERVER_*` variables are laid over the embedded defaults,
//! and how `AUTH_SERVER_<X>_FILE` variables read a value from a file (for secrets mounted as files:
//! Docker and Kubernetes secrets).

use super::ConfigError;

/// One override to apply: the variable it came from, the setting part of its name, its value, and
/// whether the value may appear in error messages (never when it was read from a file).
#[derive(Debug)]
pub(super) struct Override {
    /// The variable named in errors (`AUTH_SERVER_<X>` or `AUTH_SERVER_<X>_FILE`).
    pub var: String,
    /// `<X>`: the setting, as `SECTION_KEY`.
    pub rest: String,
    /// The value.
    pub value: String,
    /// Whether errors may quote the value.
    pub echo: bool,
}

/// Whether `rest` (`SECTION_KEY`, any case) names a setting of `defaults`.
pub(super) fn is_setting(defaults: &toml::Table, rest: &str) -> bool {
    find(defaults, rest).is_some()
}

fn find<'a>(defaults: &'a toml::Table, rest: &str) -> Option<((String, String), &'a toml::Value)> {
    let lower = rest.to_ascii_lowercase();
    defaults.iter().find_map(|(section, v)| {
        let key = lower.strip_prefix(section.as_str())?.strip_prefix('_')?;
        let default = v.as_table()?.get(key)?;
        Some(((section.clone(), key.to_owned()), default))
    })
}

/// Resolves the `_FILE` forms among `vars` (`(name without the prefix, value)`, all starting with
/// `prefix`): `<X>_FILE=/path` becomes `<X>=<the file's contents, trailing whitespace trimmed>`
/// when `<X>` is a setting. A `<X>_FILE` that is itself a setting (`keys.kek_file`,
/// `keys.kek_previous_file`: "the value comes from this file" already) stays that setting. A
/// variable and its `_FILE` form both set is an error naming both; a file that cannot be read is
/// an error naming the variable and the path (never the contents).
pub(super) fn resolve_files(
    prefix: &str,
    vars: Vec<(String, String)>,
    defaults: &toml::Table,
) -> Result<Vec<Override>, ConfigError> {
    let names: std::collections::HashSet<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    for (rest, _) in &vars {
        if let Some(base) = rest.strip_suffix("_FILE")
            && names.contains(base)
        {
            return Err(ConfigError::Parse(format!(
                "{prefix}{base} and {prefix}{rest} are both set: set one"
            )));
        }
    }
    let mut out = Vec::with_capacity(vars.len());
    for (rest, value) in vars {
        let var = format!("{prefix}{rest}");
        match rest.strip_suffix("_FILE") {
            Some(base) if !is_setting(defaults, &rest) && is_setting(defaults, base) => {
                let text =
                    std::fs::read_to_string(&value).map_err(|source| ConfigError::SecretFile {
                        var: var.clone(),
                        path: value.clone().into(),
                        source,
                    })?;
                out.push(Override {
                    var,
                    rest: base.to_owned(),
                    value: text.trim_end().to_owned(),
                    echo: false,
                });
            }
            _ => out.push(Override {
                var,
                rest,
                value,
                echo: true,
            }),
        }
    }
    Ok(out)
}

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
    o: &Override,
) -> Result<(), ConfigError> {
    let (var, value) = (o.var.as_str(), o.value.as_str());
    let unknown = || ConfigError::Parse(format!("environment variable {var} names no setting"));
    let (section, default) = find(defaults, &o.rest).ok_or_else(unknown)?;
    let got = if o.echo {
        format!("{value:?}")
    } else {
        "the contents of its file".to_owned()
    };
    let parsed = match default {
        toml::Value::Integer(_) => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| ConfigError::Parse(format!("{var} must be an integer, got {got}")))?,
        toml::Value::Boolean(_) => value
            .trim()
            .parse::<bool>()
            .map(toml::Value::Boolean)
            .map_err(|_| ConfigError::Parse(format!("{var} must be true or false, got {got}")))?,
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
