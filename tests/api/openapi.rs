//! The committed OpenAPI document equals the one the code generates and the
//! one the server serves.

use crate::helpers::{Backend, json_of, spawn_app};

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn committed_spec_matches_the_code() {
    let generated: serde_json::Value =
        serde_json::to_value(commons_ledger::startup::openapi()).expect("spec serialises");
    let committed: serde_json::Value =
        serde_json::from_str(COMMITTED).expect("committed spec is JSON");
    assert!(
        generated == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_spec_matches_the_committed_one_and_docs_work_offline() {
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let served = json_of(app.get("/openapi.json").await).await;
    let committed: serde_json::Value =
        serde_json::from_str(COMMITTED).expect("committed spec is JSON");
    assert_eq!(
        served, committed,
        "/openapi.json serves the committed document"
    );
    assert_eq!(served["openapi"], "3.1.0");

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !html.contains("https://"),
        "Swagger UI loads nothing from the network"
    );
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200, "its assets are served locally");
}

#[test]
fn every_operation_has_an_id_a_tag_and_documented_errors() {
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    let paths = spec["paths"].as_object().expect("paths");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is unique");
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id} has a tag"
            );
            let responses = operation["responses"].as_object().expect("responses");
            if path.starts_with("/v1/") {
                assert!(
                    responses.keys().any(|status| status.starts_with('4')),
                    "{id} documents its errors"
                );
            }
        }
    }
}
