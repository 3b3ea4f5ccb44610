//! The `Authorization` header parsers: Basic client authentication in the token endpoint
//! (`auth_server::http::client_auth::credentials`) and the verifier's Bearer extraction
//! (`auth_verifier::axum::bearer_token`).
//!
//! - Any header value(s): neither parser panics; an accepted bearer token is non-empty, has no
//!   space and is a part of the header; accepted Basic credentials have a non-empty client id, and
//!   two Authorization headers are always refused by both.
//! - Round trip: `Basic base64(urlencode(id) ":" urlencode(secret))` yields exactly `(id, secret)`
//!   (RFC 6749 §2.3.1), whatever the strings.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use auth_server::http::client_auth::credentials;
use auth_server::http::form::Form;
use auth_verifier::axum::bearer_token;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    /// Raw header values (one or two headers).
    Raw(&'a [u8], Option<&'a [u8]>),
    /// `Basic` credentials of arbitrary strings, with an arbitrary scheme spelling and padding.
    Basic {
        id: String,
        secret: String,
        upper: bool,
        spaces: u8,
    },
    /// `Bearer <token>` with an arbitrary token.
    Bearer(&'a [u8], bool),
    /// A form body for client_secret_post, next to an optional header.
    Post(&'a [u8], Option<&'a [u8]>),
}

fn headers(values: &[&[u8]]) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    for v in values {
        h.append(header::AUTHORIZATION, HeaderValue::from_bytes(v).ok()?);
    }
    Some(h)
}

fn check(h: &HeaderMap, form: &Form) {
    let count = h.get_all(header::AUTHORIZATION).iter().count();
    let basic = credentials(h, form);
    if let Ok(c) = &basic {
        assert!(!c.client_id.is_empty());
    }
    let bearer = bearer_token(h);
    if count > 1 {
        assert!(bearer.is_err(), "two headers accepted by bearer_token");
        assert!(basic.is_err(), "two headers accepted by credentials");
    }
    if let Ok(Some(token)) = bearer {
        assert!(!token.is_empty() && !token.contains(' '));
        let raw = h.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        let raw = raw.unwrap_or_default();
        assert!(
            raw.windows(token.len()).any(|w| w == token.as_bytes()),
            "token not from the header"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    match input {
        Input::Raw(a, b) => {
            let values: Vec<&[u8]> = [Some(a), b].into_iter().flatten().collect();
            if let Some(h) = headers(&values) {
                check(&h, &Form::default());
            }
        }
        Input::Basic {
            id,
            secret,
            upper,
            spaces,
        } => {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pad = " ".repeat(usize::from(spaces % 4));
            let value = format!(
                "{}{pad} {}{pad}",
                if upper { "BASIC" } else { "Basic" },
                STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)))
            );
            let Some(h) = headers(&[value.as_bytes()]) else {
                panic!("{value:?} is not a header value");
            };
            check(&h, &Form::default());
            match credentials(&h, &Form::default()) {
                Ok(c) => {
                    assert_eq!((c.client_id.as_str(), c.secret.as_str()), (&*id, &*secret));
                }
                Err(e) => assert!(id.is_empty(), "{value:?} refused: {e:?}"),
            }
        }
        Input::Bearer(token, lower) => {
            let mut value = if lower {
                b"bearer ".to_vec()
            } else {
                b"Bearer ".to_vec()
            };
            value.extend_from_slice(token);
            if let Some(h) = headers(&[&value]) {
                check(&h, &Form::default());
            }
        }
        Input::Post(body, header) => {
            let Ok(form) = Form::parse(body) else {
                return;
            };
            let values: Vec<&[u8]> = header.into_iter().collect();
            if let Some(h) = headers(&values) {
                check(&h, &form);
                if let Ok(c) = credentials(&h, &form)
                    && values.is_empty()
                {
                    assert_eq!(form.single("client_id").ok().flatten(), Some(&*c.client_id));
                    assert_eq!(
                        form.single("client_secret").ok().flatten(),
                        Some(&*c.secret)
                    );
                }
            }
        }
    }
});
