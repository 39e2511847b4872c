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

/// Every text field of every JSON request body, and every text query or
/// header parameter, states its longest value (`maxLength`), and every array
/// its most items (`maxItems`): a limit a client can read before it is
/// refused. Enumerations are bounded by their values. `cursor` is exempt:
/// it is opaque, and refused unless this service issued it.
#[test]
fn every_request_text_states_its_maximum() {
    use serde_json::Value;
    fn walk(
        schemas: &Value,
        schema: &Value,
        path: &str,
        seen: &mut Vec<String>,
        missing: &mut Vec<String>,
    ) {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.rsplit('/').next().unwrap_or_default().to_owned();
            if !seen.contains(&name) {
                seen.push(name.clone());
                walk(schemas, &schemas[&name], &name, seen, missing);
                seen.pop();
            }
            return;
        }
        for combinator in ["oneOf", "anyOf", "allOf"] {
            for (index, inner) in schema[combinator]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                walk(
                    schemas,
                    inner,
                    &format!("{path}/{combinator}[{index}]"),
                    seen,
                    missing,
                );
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if types.contains(&"string")
            && schema.get("enum").is_none()
            && schema.get("maxLength").is_none()
        {
            missing.push(format!("{path}: string without maxLength"));
        }
        if types.contains(&"array") {
            if schema.get("maxItems").is_none() {
                missing.push(format!("{path}: array without maxItems"));
            }
            walk(
                schemas,
                &schema["items"],
                &format!("{path}[]"),
                seen,
                missing,
            );
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            walk(schemas, property, &format!("{path}.{name}"), seen, missing);
        }
    }
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    let schemas = &spec["components"]["schemas"];
    let mut missing = Vec::new();
    let mut bodies = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let at = format!("{method} {path}");
            for (media_type, content) in operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                // The CSV import's body is a file, bounded by its byte limit (413).
                if media_type.contains("json") {
                    bodies += 1;
                    walk(
                        schemas,
                        &content["schema"],
                        &at,
                        &mut Vec::new(),
                        &mut missing,
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                if parameter["in"] != "path" && name != "cursor" {
                    walk(
                        schemas,
                        &parameter["schema"],
                        &format!("{at} {name}"),
                        &mut Vec::new(),
                        &mut missing,
                    );
                }
            }
        }
    }
    assert!(bodies >= 20, "the walk reads the request bodies ({bodies})");
    assert!(
        missing.is_empty(),
        "unbounded request text:\n{}",
        missing.join("\n")
    );
    // The stated limits are the enforced ones (the attributes take literals).
    use commons_ledger::routes;
    let stated = |schema: &str, property: &str, keyword: &str| {
        schemas[schema]["properties"][property][keyword]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
    };
    let cases = [
        (
            "CreateGrantRequest",
            "description",
            "maxLength",
            routes::grants::GRANT_TEXT_LENGTH_MAX,
        ),
        (
            "CreateGrantRequest",
            "eligible_categories",
            "maxItems",
            routes::expenses::CATEGORIES_PER_PROJECT_MAX,
        ),
        (
            "Dataset",
            "licence",
            "maxLength",
            routes::contributions::LICENCE_LENGTH_MAX,
        ),
        (
            "Dataset",
            "title",
            "maxLength",
            routes::contributions::CONTRIBUTION_TEXT_LENGTH_MAX,
        ),
        (
            "CreateTransactionRequest",
            "description",
            "maxLength",
            commons_ledger::domain::transaction::DESCRIPTION_LENGTH_MAX,
        ),
        ("CreateTransactionRequest", "postings", "minItems", 1),
        (
            "CreateTransactionRequest",
            "postings",
            "maxItems",
            commons_ledger::domain::transaction::POSTINGS_PER_TRANSACTION_MAX,
        ),
        ("CreateRuleSetRequest", "steps", "minItems", 1),
        (
            "CreateRuleSetRequest",
            "steps",
            "maxItems",
            commons_ledger::domain::allocation::STEPS_MAX,
        ),
        (
            "CreateDistributionRequest",
            "rule_set_version",
            "minimum",
            1,
        ),
        (
            "CreateDistributionRequest",
            "pool",
            "maxLength",
            commons_ledger::domain::account::ACCOUNT_NAME_LENGTH_MAX,
        ),
        (
            "CreateAccountRequest",
            "name",
            "maxLength",
            commons_ledger::domain::account::ACCOUNT_NAME_LENGTH_MAX,
        ),
        (
            "CreateAgentRequest",
            "name",
            "maxLength",
            commons_ledger::domain::agent::AGENT_NAME_LENGTH_MAX,
        ),
        (
            "CreateAgentRequest",
            "password",
            "maxLength",
            commons_ledger::domain::agent::PASSWORD_LENGTH_MAX,
        ),
        (
            "CreateTokenRequest",
            "email",
            "maxLength",
            routes::limits::EMAIL_LENGTH_MAX,
        ),
        (
            "CreateProjectRequest",
            "name",
            "maxLength",
            routes::projects::PROJECT_NAME_LENGTH_MAX,
        ),
        (
            "CreateRateRequest",
            "method",
            "maxLength",
            routes::rates::RATE_METHOD_LENGTH_MAX,
        ),
        (
            "CreateRateRequest",
            "source",
            "maxLength",
            routes::rates::RATE_SOURCE_LENGTH_MAX,
        ),
        (
            "CreateRateRequest",
            "skill",
            "maxLength",
            routes::rates::SCOPE_LENGTH_MAX,
        ),
        (
            "CreateRateRequest",
            "agent",
            "maxLength",
            routes::limits::ID_LENGTH_MAX,
        ),
        (
            "CreateRateRequest",
            "rate",
            "maxLength",
            commons_ledger::domain::money::AMOUNT_TEXT_LENGTH_MAX,
        ),
        (
            "CreateRateRequest",
            "currency",
            "maxLength",
            routes::limits::UNIT_CODE_LENGTH_MAX,
        ),
        (
            "CreateReviewRequest",
            "reason",
            "maxLength",
            routes::contributions::REVIEW_REASON_LENGTH_MAX,
        ),
        (
            "CreateExpenseRequest",
            "supplier",
            "maxLength",
            routes::expenses::EXPENSE_TEXT_LENGTH_MAX,
        ),
        (
            "CreateExpenseRequest",
            "category",
            "maxLength",
            routes::funds::SEGMENT_LENGTH_MAX,
        ),
        (
            "ExpenseCategory",
            "funder_category",
            "maxLength",
            routes::expenses::FUNDER_CATEGORY_LENGTH_MAX,
        ),
        (
            "CreatePayoutRequest",
            "reference",
            "maxLength",
            routes::payouts::PAYOUT_REFERENCE_LENGTH_MAX,
        ),
        (
            "CreateExchangeRequest",
            "source",
            "maxLength",
            routes::exchanges::EXCHANGE_SOURCE_LENGTH_MAX,
        ),
        (
            "CreateGrantRequest",
            "reference",
            "maxLength",
            routes::grants::GRANT_REFERENCE_LENGTH_MAX,
        ),
        (
            "CreateContributionRequest",
            "date",
            "maxLength",
            routes::extract::DATE_LENGTH,
        ),
    ];
    for (schema, property, keyword, limit) in cases {
        assert_eq!(
            stated(schema, property, keyword),
            Some(limit),
            "{schema}.{property} {keyword}"
        );
    }
    assert_eq!(
        schemas["CategoryName"]["maxLength"].as_u64(),
        u64::try_from(routes::funds::SEGMENT_LENGTH_MAX).ok()
    );
}

/// Checks a JSON answer against the schema the document gives it, for what
/// generated clients rely on: every `required` property is sent, and a
/// `null` is sent only where the schema allows it. `context` names the
/// answer in a failure.
pub fn assert_sent_as_declared(
    spec: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    context: &str,
) {
    let schema = resolved(spec, schema);
    if let Some(branches) = schema.get("oneOf").and_then(|b| b.as_array()) {
        // The branch the value is: `null`, or the other one.
        let branch = branches
            .iter()
            .find(|branch| fits(resolved(spec, branch), value))
            .unwrap_or_else(|| panic!("{context}: no branch of {schema} takes {value}"));
        return assert_sent_as_declared(spec, branch, value, context);
    }
    if value.is_null() {
        assert!(
            allows_null(schema),
            "{context}: null is sent where the schema does not allow it: {schema}"
        );
        return;
    }
    if let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(|p| p.as_object()),
    ) {
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().expect("a field name");
            assert!(
                object.contains_key(field),
                "{context}: required `{field}` is not sent"
            );
        }
        for (field, inner) in object {
            if let Some(declared) = properties.get(field) {
                assert_sent_as_declared(spec, declared, inner, &format!("{context}.{field}"));
            }
        }
    }
    if let (Some(items), Some(declared)) = (value.as_array(), schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            assert_sent_as_declared(spec, declared, item, &format!("{context}[{index}]"));
        }
    }
}

fn resolved<'a>(
    spec: &'a serde_json::Value,
    schema: &'a serde_json::Value,
) -> &'a serde_json::Value {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(target) => {
            let name = target.trim_start_matches("#/components/schemas/");
            resolved(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Whether `value` is of the branch `schema` of a `oneOf`: null for null,
/// else an object with the branch's required fields and only its fields
/// (or, for a branch that is not an object, a value of its type).
fn fits(schema: &serde_json::Value, value: &serde_json::Value) -> bool {
    if allows_null(schema) != value.is_null() {
        return false;
    }
    let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(|p| p.as_object()),
    ) else {
        return true;
    };
    let required = schema["required"].as_array().into_iter().flatten();
    required
        .filter_map(|field| field.as_str())
        .all(|field| object.contains_key(field))
        && object.keys().all(|field| properties.contains_key(field))
}

fn allows_null(schema: &serde_json::Value) -> bool {
    match &schema["type"] {
        serde_json::Value::String(t) => t == "null",
        serde_json::Value::Array(types) => types.iter().any(|t| t == "null"),
        _ => false,
    }
}

/// Every response field that is always sent is required (and nullable where
/// it may be null), and only response schemas are made so; a request
/// schema's optional fields stay optional. What is really sent is checked
/// against it by the authorization walk (tests/api/authorization.rs), which
/// calls every operation.
#[test]
fn response_fields_are_required_and_request_fields_are_not() {
    let spec: serde_json::Value = serde_json::from_str(COMMITTED).expect("JSON");
    let schemas = &spec["components"]["schemas"];
    let required = |schema: &str| {
        schemas[schema]["required"]
            .as_array()
            .expect("required")
            .iter()
            .map(|field| field.as_str().expect("name").to_owned())
            .collect::<Vec<_>>()
    };
    for (schema, field) in [
        ("Contribution", "valuation"),
        ("TransactionPage", "next_cursor"),
        ("Claim", "transaction"),
        ("Grant", "restriction"),
    ] {
        assert!(
            required(schema).iter().any(|f| f == field),
            "{schema}.{field} is always sent: required"
        );
    }
    for (schema, field) in [("Agent", "admin"), ("Problem", "errors")] {
        assert!(
            !required(schema).iter().any(|f| f == field),
            "{schema}.{field} is left out when empty: optional"
        );
    }
    assert!(
        !required("CreateTransactionRequest")
            .iter()
            .any(|f| f == "metadata"),
        "a request's optional field stays optional"
    );
    assert_eq!(
        schemas["CreateTransactionRequest"]["properties"]["kind"]["enum"],
        serde_json::json!(["transfer", "adjustment"]),
        "a transaction request takes only the kinds it posts"
    );
    assert_eq!(
        schemas["TransactionKindDto"]["enum"]
            .as_array()
            .map(Vec::len),
        Some(10),
        "a transaction answers with every kind"
    );
    for schema in ["Transaction", "CreateTransactionRequest"] {
        assert_eq!(
            schemas[schema]["properties"]["metadata"]["additionalProperties"], true,
            "{schema}.metadata maps string keys to any JSON value"
        );
    }
}

/// Every operation has a one-line summary and a description that says more
/// than it: what generated clients show as the method's name and its
/// documentation.
#[test]
fn every_operation_has_a_summary_and_a_description() {
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let summary = operation["summary"].as_str().unwrap_or_default();
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.contains('\n') && summary.len() <= 60,
                "{method} {path}: a summary of one short line, not {summary:?}"
            );
            assert!(
                !summary.ends_with('.'),
                "{method} {path}: a summary is a title, not a sentence"
            );
            assert!(
                description.len() > summary.len() && description.ends_with(['.', ')']),
                "{method} {path}: a description in sentences, not {description:?}"
            );
        }
    }
}

/// The example of every request body, as a client would send it.
fn request_examples(spec: &serde_json::Value) -> Vec<(String, String, String, serde_json::Value)> {
    let mut examples = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(content) = operation["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media_type, body) in content {
                let example = body
                    .get("example")
                    .or_else(|| resolved(spec, &body["schema"]).get("example"))
                    .unwrap_or_else(|| panic!("{method} {path} ({media_type}) has an example"));
                examples.push((
                    method.clone(),
                    path.clone(),
                    media_type.clone(),
                    example.clone(),
                ));
            }
        }
    }
    examples
}

/// Every request body has an example, and each example is a body the
/// service reads: sent as it stands (path identifiers that name nothing,
/// in a real project), it is never refused as malformed or of the wrong
/// shape, and never fails the server.
async fn request_examples_are_bodies_the_service_reads(app: &crate::helpers::TestApp) {
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    let examples = request_examples(&spec);
    assert!(
        examples.len() >= 31,
        "every request body: {}",
        examples.len()
    );
    let project = app.create_project("EUR").await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (method, path, media_type, example) in examples {
        let url = path
            .replace("{project_id}", &project)
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    if segment == "{version}" {
                        "99"
                    } else {
                        unknown
                    }
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let request = app.client.request(method.clone(), app.url(&url));
        let request = if media_type == "application/json" {
            request.json(&example)
        } else {
            let text = example.as_str().expect("a text example").to_owned();
            request
                .header("Content-Type", media_type.clone())
                .body(text)
        };
        let response = request.send().await.expect("request");
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let code = body["code"].as_str().unwrap_or_default();
        assert!(
            status.as_u16() < 500,
            "{method} {path} ({media_type}): {status} {body}"
        );
        assert!(
            ![
                "malformed_json",
                "invalid_body",
                "malformed_csv",
                "unknown_column",
                "missing_column",
            ]
            .contains(&code),
            "{method} {path} ({media_type}): the example is not read: {body}"
        );
    }
}

crate::on_both_backends!(request_examples_are_bodies_the_service_reads);
