use super::*;

#[test]
fn shape_is_checked_before_anything() {
    assert!(matches!(split("a.b"), Err(AssertionError::Malformed(_))));
    assert!(matches!(
        split("a.b.c.d"),
        Err(AssertionError::Malformed(_))
    ));
    let big = "a".repeat(MAX_ASSERTION_BYTES + 1);
    assert!(matches!(split(&big), Err(AssertionError::Malformed(_))));
    let not_json = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode("x"),
        URL_SAFE_NO_PAD.encode("{}")
    );
    assert!(matches!(
        split(&not_json),
        Err(AssertionError::Malformed(_))
    ));
    let array = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode("{}"),
        URL_SAFE_NO_PAD.encode("[]")
    );
    assert!(matches!(split(&array), Err(AssertionError::Malformed(_))));
    let ok = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode("{}"),
        URL_SAFE_NO_PAD.encode("{}")
    );
    assert!(split(&ok).is_ok());
}

#[test]
fn claim_types_are_strict() {
    let m: Map<String, Value> = serde_json::from_str(r#"{"exp":"1","iss":1}"#).unwrap();
    assert!(time_claim(&m, "exp").is_err());
    assert!(string_claim(&m, "iss").is_err());
    assert_eq!(time_claim(&m, "iat").unwrap(), None);
}

#[test]
fn only_allow_listed_algorithms() {
    for bad in ["none", "HS256", "HS512", "RS384", "ES512", "", "es256"] {
        assert!(AssertionAlg::from_name(bad).is_none(), "{bad}");
    }
    for good in ["ES256", "RS256", "PS256", "EdDSA"] {
        assert!(AssertionAlg::from_name(good).is_some(), "{good}");
    }
}
