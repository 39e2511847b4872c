//! The dependency rules of docs/ARCHITECTURE.md, checked on the source:
//! the domain is pure (no actix, diesel or utoipa), storage knows nothing of
//! HTTP, and neither the operations nor the write pipeline know HTTP.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself when it is a file).
fn sources(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The lines of `text` that name one of `forbidden` as a path (in a `use`,
/// a qualified path or an attribute), outside comments, with their numbers.
fn offending_lines(text: &str, forbidden: &[&str]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let offends = forbidden.iter().any(|name| {
            let as_path = format!("{name}::");
            code.match_indices(&as_path).any(|(at, _)| {
                // `actix_web::` but not `my_actix_web::`.
                code[..at]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            }) || code.contains(&format!("#[{name}"))
        });
        if offends {
            found.push((number + 1, line.trim().to_owned()));
        }
    }
    found
}

/// The offending lines of every source file of `layer` (a folder or a file under src/).
fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (number, line) in offending_lines(&text, forbidden) {
            found.push(format!("{}:{number}: {line}", file.display()));
        }
    }
    found
}

#[test]
fn the_domain_imports_no_framework() {
    let found = violations(
        "domain",
        &[
            "actix_web",
            "actix",
            "diesel",
            "diesel_migrations",
            "utoipa",
            "utoipa_actix_web",
        ],
    );
    assert!(
        found.is_empty(),
        "domain/ must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn storage_knows_nothing_of_http() {
    let found = violations("db", &["routes", "http", "actix_web", "actix"]);
    assert!(
        found.is_empty(),
        "db/ must not use routes or actix:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_write_pipeline_knows_no_http() {
    let found = violations(
        "write_pipeline.rs",
        &["routes", "http", "actix_web", "utoipa"],
    );
    assert!(
        found.is_empty(),
        "the write pipeline must not use routes or HTTP:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_http_support_holds_no_handler() {
    // Handlers are registered with actix's route macros; they live in routes/.
    let found = violations("http", &["get", "post", "put", "patch", "delete"])
        .into_iter()
        .filter(|line| line.contains("#["))
        .collect::<Vec<_>>();
    assert!(
        found.is_empty(),
        "http/ must hold no route handler:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_http_support_knows_no_handler_module() {
    // routes/ stands on http/, never the other way round: no cycle.
    let found = violations("http", &["routes"]);
    assert!(
        found.is_empty(),
        "http/ must not use routes/:\n{}",
        found.join("\n")
    );
}

#[test]
fn operations_know_no_http() {
    let found = violations(
        "ops",
        &[
            "routes",
            "http",
            "actix_web",
            "actix",
            "utoipa",
            "utoipa_actix_web",
        ],
    );
    assert!(
        found.is_empty(),
        "ops/ must not use routes or HTTP:\n{}",
        found.join("\n")
    );
}

/// The check itself catches what it must, and only that.
#[test]
fn a_forbidden_import_is_caught() {
    let text = "use actix_web::HttpResponse;\n\
                // actix_web::HttpResponse in a comment\n\
                let x = my_actix_web::y;\n\
                #[utoipa::path(get)]\n\
                let y = crate::routes::AppState;\n";
    let found = offending_lines(text, &["actix_web", "utoipa", "routes"]);
    let numbers: Vec<usize> = found.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![1, 4, 5], "{found:?}");
}
