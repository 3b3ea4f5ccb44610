//! The page language: the first supported tag of the request's `ui_locales` (OpenID Connect Core
//! 1.0 §3.1.2.1: "space-separated list of BCP47 language tag values, ordered by preference"; also a
//! parameter of RP-Initiated Logout 1.0 §2), else the best of `Accept-Language` (RFC 9110 §12.5.4:
//! the highest `q`, `q=0` meaning "not acceptable", earlier entries winning ties), else English.
//!
//! A tag matches a language by its primary subtag (RFC 4647 §3.3.1 lookup, truncated to one
//! subtag): `de-AT` and `DE` are German.

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English, the default.
    #[default]
    En,
    /// German.
    De,
}

impl Lang {
    /// Every shipped language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language of a BCP 47 tag, by its primary subtag; `None` when not shipped.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split('-').next().unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }
}

/// The language chosen for one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Choice {
    /// The language.
    pub lang: Lang,
    /// Whether `ui_locales` chose it; then the page's forms carry it on (`ui_locales=<tag>`), so
    /// the next page speaks the same language.
    pub from_ui_locales: bool,
}

/// Chooses the language from `ui_locales` (first supported wins), else `Accept-Language`
/// (highest q wins), else English.
pub fn choose(ui_locales: Option<&str>, accept_language: Option<&str>) -> Choice {
    if let Some(lang) = ui_locales
        .into_iter()
        .flat_map(str::split_ascii_whitespace)
        .find_map(Lang::from_tag)
    {
        return Choice {
            lang,
            from_ui_locales: true,
        };
    }
    Choice {
        lang: accept_language.and_then(best_accepted).unwrap_or_default(),
        from_ui_locales: false,
    }
}

/// The supported language with the highest weight in an `Accept-Language` value; `*` stands for
/// the default. Malformed entries are skipped.
fn best_accepted(header: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let range = parts.next().unwrap_or_default();
        let mut weight = Some(1000);
        for param in parts {
            if let Some(q) = param
                .strip_prefix("q=")
                .or_else(|| param.strip_prefix("Q="))
            {
                weight = qvalue(q);
            }
        }
        let lang = if range == "*" {
            Some(Lang::default())
        } else {
            Lang::from_tag(range)
        };
        if let (Some(lang), Some(w)) = (lang, weight)
            && w > 0
            && best.is_none_or(|(b, _)| w > b)
        {
            best = Some((w, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// RFC 9110 §12.4.2 `qvalue`, in thousandths: `0`, `0.8`, `1.000`; `None` when malformed.
fn qvalue(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(ui: Option<&str>, accept: Option<&str>) -> Lang {
        choose(ui, accept).lang
    }

    #[test]
    fn ui_locales_first_supported_wins() {
        assert_eq!(lang(Some("fr-CA de en"), None), Lang::De);
        assert_eq!(lang(Some("en-GB de"), None), Lang::En);
        assert_eq!(lang(Some("  DE-at\tfr "), None), Lang::De);
        assert!(choose(Some("de"), None).from_ui_locales);
        // Nothing supported in ui_locales: Accept-Language decides.
        assert_eq!(lang(Some("fr ja"), Some("de")), Lang::De);
        assert!(!choose(Some("fr ja"), Some("de")).from_ui_locales);
        assert!(!choose(Some(""), None).from_ui_locales);
    }

    #[test]
    fn ui_locales_beats_accept_language() {
        assert_eq!(lang(Some("de"), Some("en")), Lang::De);
        assert_eq!(lang(Some("en"), Some("de-DE,de;q=0.9")), Lang::En);
    }

    #[test]
    fn accept_language_q_values() {
        assert_eq!(lang(None, Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(lang(None, Some("en;q=0.5, de;q=0.8")), Lang::De);
        assert_eq!(lang(None, Some("de;q=0.5, en;q=0.8")), Lang::En);
        assert_eq!(
            lang(None, Some("fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7")),
            Lang::De
        );
        // A tie goes to the earlier entry.
        assert_eq!(lang(None, Some("de;q=0.7, en;q=0.7")), Lang::De);
        assert_eq!(lang(None, Some("en;q=1.000, de")), Lang::En);
        // q=0 is "not acceptable"; a malformed q drops its entry.
        assert_eq!(lang(None, Some("de;q=0, fr")), Lang::En);
        assert_eq!(lang(None, Some("de;q=2, en;q=0.1")), Lang::En);
        assert_eq!(lang(None, Some("de;q=0.1234")), Lang::En);
        assert_eq!(lang(None, Some("de ; q=0.3")), Lang::De);
        // `*` stands for the default, with its weight.
        assert_eq!(lang(None, Some("de;q=0.5, *;q=0.8")), Lang::En);
        assert_eq!(lang(None, Some("*;q=0.1, de;q=0.5")), Lang::De);
    }

    #[test]
    fn unknown_or_missing_is_english() {
        assert_eq!(lang(None, None), Lang::En);
        assert_eq!(lang(None, Some("fr-FR, ja;q=0.5")), Lang::En);
        assert_eq!(lang(Some("xx"), Some("garbage;;;,")), Lang::En);
        assert_eq!(lang(None, Some("")), Lang::En);
        assert_eq!(lang(None, Some("deu")), Lang::En);
        assert_eq!(Lang::from_tag("de-CH"), Some(Lang::De));
        assert_eq!(Lang::default().tag(), "en");
    }

    #[test]
    fn qvalues() {
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.0"), Some(1000));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue("0"), Some(0));
        for bad in ["1.1", "2", "", ".5", "0.5x", "-0.5", "0.1234"] {
            assert_eq!(qvalue(bad), None, "{bad}");
        }
    }
}
