//! The key-encryption keys a server holds: the current one, which seals every new or re-sealed
//! private key, and the previous ones, still accepted for opening during a KEK rotation.
//!
//! Every stored key row names the KEK that sealed it (`kek_id`, a public prefix of the KEK's
//! SHA-256); a row is opened with exactly that KEK, never by trying each. A row naming a KEK this
//! server does not hold is an error that names the row's `kid` and `kek_id` (see
//! [`super::KeyError::UnknownKek`]). `auth-server keys rewrap` ([`super::rewrap`]) moves every row
//! to the current KEK, after which the previous ones can be dropped.

use std::path::Path;
use std::sync::Arc;

use super::kek::{Kek, KekError};

/// The KEK that seals, and the KEKs still accepted for opening.
#[derive(Debug, Clone)]
pub struct KekSet {
    current: Arc<Kek>,
    previous: Vec<Arc<Kek>>,
}

impl From<Kek> for KekSet {
    fn from(current: Kek) -> Self {
        Self::new(current, Vec::new())
    }
}

impl KekSet {
    /// `current` seals; `previous` are accepted for opening (duplicates and `current` itself are
    /// dropped).
    pub fn new(current: Kek, previous: Vec<Kek>) -> Self {
        let mut kept: Vec<Arc<Kek>> = Vec::with_capacity(previous.len());
        for k in previous {
            if k.id() != current.id() && kept.iter().all(|p| p.id() != k.id()) {
                kept.push(Arc::new(k));
            }
        }
        Self {
            current: Arc::new(current),
            previous: kept,
        }
    }

    /// The KEK that seals new and re-sealed keys.
    pub fn current(&self) -> &Kek {
        &self.current
    }

    /// The KEKs accepted for opening only.
    pub fn previous(&self) -> impl Iterator<Item = &Kek> {
        self.previous.iter().map(|k| &**k)
    }

    /// The held KEK whose id is `kek_id`.
    pub fn by_id(&self, kek_id: &str) -> Option<&Kek> {
        std::iter::once(self.current())
            .chain(self.previous())
            .find(|k| k.id() == kek_id)
    }

    /// The ids of every held KEK, current first, comma-separated (for messages).
    pub fn ids(&self) -> String {
        std::iter::once(self.current())
            .chain(self.previous())
            .map(Kek::id)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses a list of base64 KEKs separated by commas, spaces or newlines (lines starting with
    /// `#` are comments). `source` names where the list came from, for errors.
    pub fn parse_list(text: &str, source: &str) -> Result<Vec<Kek>, KekError> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|t| !t.is_empty())
            .map(|t| Kek::from_base64(t, source))
            .collect()
    }

    /// The previous KEKs: from `env_value` (`AUTH_SERVER_KEYS_KEK_PREVIOUS`) if set, else from
    /// `file` (`keys.kek_previous_file`) if set, else none. The file must exist (it is never
    /// created).
    pub fn load_previous(env_value: Option<&str>, file: &Path) -> Result<Vec<Kek>, KekError> {
        if let Some(v) = env_value {
            return Self::parse_list(v, "AUTH_SERVER_KEYS_KEK_PREVIOUS");
        }
        if file.as_os_str().is_empty() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(file).map_err(|source| KekError::Io {
            path: file.display().to_string(),
            source,
        })?;
        Self::parse_list(&text, &file.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn rows_open_with_the_kek_they_name_and_the_current_one_seals() {
        let (a, b) = (Kek::from_bytes([1; 32]), Kek::from_bytes([2; 32]));
        let (a_id, b_id) = (a.id().to_owned(), b.id().to_owned());
        let set = KekSet::new(
            Kek::from_bytes([2; 32]),
            vec![a, Kek::from_bytes([1; 32]), b],
        );
        assert_eq!(set.current().id(), b_id);
        assert_eq!(
            set.previous().count(),
            1,
            "duplicates and the current one are dropped"
        );
        assert_eq!(set.by_id(&a_id).map(Kek::id), Some(a_id.as_str()));
        assert!(set.by_id("000000000000").is_none());
        assert_eq!(set.ids(), format!("{b_id},{a_id}"));
        let single: KekSet = Kek::from_bytes([3; 32]).into();
        assert_eq!(single.previous().count(), 0);
    }

    #[test]
    fn previous_keks_parse_from_lists_and_files() {
        let (x, y) = (STANDARD.encode([5u8; 32]), STANDARD.encode([6u8; 32]));
        let ids = |v: Vec<Kek>| v.iter().map(|k| k.id().to_owned()).collect::<Vec<_>>();
        let want = ids(vec![Kek::from_bytes([5; 32]), Kek::from_bytes([6; 32])]);
        let list = KekSet::parse_list(&format!(" {x}, {y}\n"), "env").map(ids);
        assert_eq!(list.ok(), Some(want.clone()));
        let none = KekSet::load_previous(None, Path::new("")).map(ids);
        assert_eq!(none.ok(), Some(vec![]));
        let bad = KekSet::parse_list("c2hvcnQ=", "AUTH_SERVER_KEYS_KEK_PREVIOUS");
        let msg = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("AUTH_SERVER_KEYS_KEK_PREVIOUS"), "{msg}");
        assert!(!msg.contains("c2hvcnQ"), "the value is never echoed: {msg}");

        let dir = std::env::temp_dir().join(format!("kek-set-{}", crate::domain::random::token(8)));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let file = dir.join("previous");
        std::fs::write(&file, format!("# retired 2026-11\n{x}\n\n{y}\n")).unwrap_or_default();
        let from_file = KekSet::load_previous(None, &file).map(ids);
        assert_eq!(from_file.ok(), Some(want));
        let env_wins = KekSet::load_previous(Some(&x), &file).map(|v| v.len());
        assert_eq!(env_wins.ok(), Some(1));
        let missing = KekSet::load_previous(None, &dir.join("nope"));
        let msg = missing.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("nope"), "{msg}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
