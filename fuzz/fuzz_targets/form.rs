//! The strict `application/x-www-form-urlencoded` parser of the OAuth endpoints
//! (`auth_server::http::form`).
//!
//! - Any body: parsing never panics, and every lookup on a parsed form is consistent
//!   (`single` is an error exactly when `all` would see a name twice, or returns its one value).
//! - Round trip: pairs of arbitrary UTF-8 strings, encoded by the reference encoder
//!   (`form_urlencoded`), parse back to the same values, in order; more than 64 pairs are refused.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use auth_server::http::form::{Form, decode_component};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "grant_type",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "code",
    "",
    "a",
];

fuzz_target!(|data: &[u8]| {
    // 1. Raw bytes.
    if let Ok(form) = Form::parse(data) {
        for name in NAMES {
            let all: Vec<&str> = form.all(name).collect();
            match form.single(name) {
                Ok(Some(v)) => assert_eq!(all, vec![v]),
                Ok(None) => assert!(all.is_empty()),
                Err(_) => {} // repeated (possibly with empty values)
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = decode_component(s);
    }

    // 2. Encode arbitrary pairs, parse them back.
    let mut u = Unstructured::new(data);
    let Ok(pairs) = Vec::<(Choice, String)>::arbitrary(&mut u) else {
        return;
    };
    let pairs: Vec<(String, String)> = pairs.into_iter().map(|(c, v)| (c.name(), v)).collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    let parsed = Form::parse(body.as_bytes());
    if pairs.len() > 64 {
        assert!(parsed.is_err(), "{} pairs accepted", pairs.len());
        return;
    }
    let form = match parsed {
        Ok(f) => f,
        Err(e) => panic!("encoded body {body:?} refused: {e:?}"),
    };
    for (name, _) in &pairs {
        let expected: Vec<&str> = pairs
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect();
        let got: Vec<&str> = form.all(name).collect();
        assert_eq!(got, expected, "body {body:?}");
        let count = pairs.iter().filter(|(n, _)| n == name).count();
        match form.single(name) {
            Ok(v) => {
                assert_eq!(count, 1, "repeated {name:?} not refused");
                assert_eq!(v, expected.first().copied());
            }
            Err(_) => assert!(count > 1, "single {name:?} refused"),
        }
    }
});

/// A parameter name: mostly a well-known one (so repeats happen), sometimes anything.
#[derive(Debug, Arbitrary)]
enum Choice {
    Known(u8),
    Any(String),
}

impl Choice {
    fn name(self) -> String {
        match self {
            Choice::Known(i) => NAMES[usize::from(i) % NAMES.len()].to_owned(),
            Choice::Any(s) => s,
        }
    }
}
