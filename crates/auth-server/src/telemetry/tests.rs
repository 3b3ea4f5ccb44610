use super::*;

#[test]
fn exposition_escapes_label_values_and_help() {
    let mut out = String::new();
    let mut e = Exposition::new(&mut out);
    e.gauge("g", "a \\ help\nline");
    e.sample("g", &[("a", "x\"y\\z\nw"), ("b", "1")], 2.5);
    e.sample("g", &[], -3.0);
    e.sample("g", &[], f64::NAN);
    assert_eq!(
        out,
        "# HELP g a \\\\ help\\nline\n# TYPE g gauge\n\
         g{a=\"x\\\"y\\\\z\\nw\",b=\"1\"} 2.5\ng -3\ng 0\n"
    );
}

#[test]
fn installing_twice_is_harmless_and_renders_build_info() {
    let first = install();
    let second = install();
    assert!(first.is_some() && second.is_some());
    assert!(handle().is_some());
    token_issued(Grant::ClientCredentials, "ES256");
    token_issued(Grant::ClientCredentials, "ES256");
    sign_in(SignIn::Locked);
    let handle = handle().unwrap_or_else(|| panic!("installed above"));
    let text = render(&handle, |g| {
        g.gauge("extra", "an extra gauge");
        g.sample("extra", &[("k", "v")], 7.0);
    });
    assert!(
        text.contains(
            "auth_server_tokens_issued_total{grant=\"client_credentials\",alg=\"ES256\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains("auth_server_sign_ins_total{outcome=\"locked\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "auth_server_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(
        text.contains("# TYPE extra gauge\nextra{k=\"v\"} 7\n"),
        "{text}"
    );
}
