//! A short, human summary of a session's `User-Agent` ("Firefox on Linux") for the session list.
//! It is a hint for the user, never a security decision: the header is whatever the client sent.

/// Browsers, most specific first (Edge and Opera also say "Chrome"; Chrome also says "Safari").
const BROWSERS: [(&str, &str); 7] = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
];

/// Systems, most specific first (Android also says "Linux"; iOS also says "Mac OS X").
const SYSTEMS: [(&str, &str); 7] = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
];

/// Longest summary of an unknown agent, in characters.
const MAX_UNKNOWN: usize = 40;

/// "Firefox on Linux", "Chrome", "Linux", the agent's first word (cut short) for others, or
/// `None` when there is no header.
pub fn summary(user_agent: Option<&str>) -> Option<String> {
    let ua = user_agent?.trim();
    if ua.is_empty() {
        return None;
    }
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| ua.contains(needle))
            .map(|(_, name)| *name)
    };
    Some(match (find(&BROWSERS), find(&SYSTEMS)) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => ua
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .chars()
            .take(MAX_UNKNOWN)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn common_agents_are_named() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(summary(Some(firefox)).as_deref(), Some("Firefox · Linux"));
        let chrome_android = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        assert_eq!(
            summary(Some(chrome_android)).as_deref(),
            Some("Chrome · Android")
        );
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0";
        assert_eq!(summary(Some(edge)).as_deref(), Some("Edge · Windows"));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(summary(Some(safari)).as_deref(), Some("Safari · iOS"));
    }

    #[test]
    fn others_are_cut_short() {
        assert_eq!(summary(None), None);
        assert_eq!(summary(Some("  ")), None);
        assert_eq!(
            summary(Some("reqwest/0.12")).as_deref(),
            Some("reqwest/0.12")
        );
        let long = "x".repeat(300);
        assert_eq!(summary(Some(&long)).map(|s| s.len()), Some(40));
    }
}
