//! The layering rule of `lib.rs`, checked: each layer is unaware of the ones above it
//! (main -> cli -> app -> http -> domain -> store -> model, with config read by all), and neither
//! the domain nor http sees the ORM. Doc comments may link upwards; code may not.

use std::path::{Path, PathBuf};

/// `(folder or file under src/, what it must not mention)`.
const RULES: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "crate::store",
            "crate::domain",
            "crate::http",
            "crate::app",
            "crate::cli",
            "sea_orm",
            "axum",
        ],
    ),
    (
        "store",
        &["crate::domain", "crate::http", "crate::app", "crate::cli"],
    ),
    (
        "domain",
        &[
            "crate::http",
            "crate::app",
            "crate::cli",
            "sea_orm",
            "store::entities",
            "axum",
        ],
    ),
    (
        "http",
        &[
            "crate::app",
            "crate::cli",
            "sea_orm",
            "store::entities",
            "crate::store",
        ],
    ),
    (
        "config",
        &["crate::http", "crate::app", "crate::cli", "crate::store"],
    ),
    (
        "telemetry",
        &[
            "crate::model",
            "crate::store",
            "crate::domain",
            "crate::http",
            "crate::app",
            "crate::cli",
            "sea_orm",
            "axum",
        ],
    ),
    ("app.rs", &["crate::cli"]),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            rust_files(&entry.path(), out);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    let mut checked = 0;
    for (place, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(place), &mut files);
        assert!(
            !files.is_empty(),
            "{place} has no files: the rule checks nothing"
        );
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        {
            checked += 1;
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for word in forbidden.iter().filter(|w| code.contains(**w)) {
                    broken.push(format!("{}:{}: {word}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} files checked");
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}
