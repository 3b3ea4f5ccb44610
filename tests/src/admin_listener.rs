//! The admin listener of a [`TestServer`] (metrics), served on its own ephemeral port when a test
//! asks, and a reader of the Prometheus text format for assertions on what it serves.

use std::collections::BTreeMap;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::TestServer;

/// `auth_server::http::ops::admin_router` served on `127.0.0.1:0`; stops when dropped.
#[allow(missing_debug_implementations)]
pub struct AdminListener {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
    task: JoinHandle<()>,
}

impl Drop for AdminListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Serves this server's admin router on a second ephemeral port.
    pub async fn admin_listener(&self) -> AdminListener {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = auth_server::http::ops::admin_router(self.app.http_state());
        let limits = self.app.config.server.limits();
        let task = tokio::spawn(auth_server::http::serve(
            listener,
            router,
            limits,
            std::future::pending(),
        ));
        AdminListener {
            base,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            task,
        }
    }
}

impl AdminListener {
    /// GETs `path` on the admin listener.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// `GET /metrics`, asserting a 200 in the Prometheus text format, parsed.
    pub async fn scrape(&self) -> Scrape {
        let res = self.get("/metrics").await;
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        Scrape::parse(&res.text().await.unwrap())
    }
}

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The text as served.
    pub text: String,
    /// Every sample line.
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Parses the text exposition format (panics on a malformed line: the format is under test).
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| parse_line(l).unwrap_or_else(|| panic!("malformed sample line: {l:?}")))
            .collect();
        Self {
            text: text.to_owned(),
            samples,
        }
    }

    /// The samples of `name` whose labels include every pair of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The sum of the samples of `name` with `labels` (0 when there is none: a counter not yet
    /// incremented is not rendered).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// The one sample of `name` with `labels` (panics unless there is exactly one).
    pub fn one(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        assert_eq!(
            found.len(),
            1,
            "{name} {labels:?}: {found:?}\n{}",
            self.text
        );
        found[0].value
    }

    /// How much `name` with `labels` moved since `before`.
    pub fn delta(&self, before: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels) - before.value(name, labels)
    }
}

fn parse_line(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match head.split_once('{') {
        None => (head, BTreeMap::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    (!name.is_empty() && name.chars().all(valid)).then(|| Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn parse_labels(mut rest: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_labels_escapes_and_values() {
        let s = Scrape::parse(
            "# HELP a help\n# TYPE a counter\na 3\nb{x=\"1\",y=\"q\\\"u\\\\o\\nte\"} 2.5\nc_bucket{le=\"+Inf\"} 4\n",
        );
        assert_eq!(s.one("a", &[]), 3.0);
        assert_eq!(s.one("b", &[("y", "q\"u\\o\nte")]), 2.5);
        assert_eq!(s.value("b", &[("x", "2")]), 0.0);
        assert_eq!(s.one("c_bucket", &[("le", "+Inf")]), 4.0);
    }
}
