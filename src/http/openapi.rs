//! What many operations declare alike in the OpenAPI document, declared once
//! and referenced from each `#[utoipa::path]`: the problem responses that
//! mean the same on every operation (no valid token, a body that is not
//! JSON or too large, an idempotent request in flight, ...) and the
//! `Idempotency-Key` parameter; and, for the `project_id` path parameter,
//! which the framework already finds in every route that has one,
//! [`describe_path_parameters`] gives its description and format once.
//!
//! An operation states only what is its own: its success, and the problem
//! responses whose description names its own codes. [`complete_operations`]
//! then adds, by rule and only where the operation states nothing for that
//! status, what means the same everywhere: 401 where a bearer token is read,
//! 400/413/415 where a JSON body is read, 400 on a page, 404 under
//! `/projects/{project_id}`, 400 everywhere else (an encoded NUL in the path
//! or query), 503 everywhere (a request past the time limit; under `/v1` also
//! a busy or unreachable database), and on every `POST` the `Idempotency-Key`
//! header with its 400, 409 and 422. [`declare_headers`] declares, by the
//! same kind of rule, the response headers the service sends: `Location` on
//! every 201, `Idempotency-Replayed` on the success of every keyed `POST`,
//! `Retry-After` on every 429 and 503, and `Content-Disposition` on every
//! report download.

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{OpenApi, RefOr, Required, Response};
use utoipa::{IntoParams, IntoResponses};

use super::problem::Problem;

/// Declares problem responses (`application/problem+json`) once, each a
/// struct of one status and description, or an enum of several: every one
/// of them is written the same way, only the names, statuses and
/// descriptions differ.
macro_rules! problem_responses {
    () => {};
    ($(#[$doc:meta])* enum $name:ident { $($variant:ident: $status:tt $description:tt,)* } $($rest:tt)*) => {
        $(#[$doc])*
        #[derive(IntoResponses)]
        pub enum $name {
            $(
                #[response(
                    status = $status,
                    description = $description,
                    content_type = "application/problem+json"
                )]
                $variant(Problem),
            )*
        }
        problem_responses!($($rest)*);
    };
    ($(#[$doc:meta])* $name:ident: $status:tt $description:tt; $($rest:tt)*) => {
        $(#[$doc])*
        #[derive(IntoResponses)]
        #[response(
            status = $status,
            description = $description,
            content_type = "application/problem+json"
        )]
        pub struct $name(pub Problem);
        problem_responses!($($rest)*);
    };
}

problem_responses! {
    /// 401 on every operation that reads a bearer token.
    Unauthenticated: 401 "No valid token";

    /// 400, 413 and 415 on every operation that reads a JSON body.
    enum JsonBodyProblems {
        Malformed: 400 "Malformed request",
        TooLarge: 413 "Body too large",
        NotJson: 415 "Body is not JSON",
    }

    /// 400 on a list: its `limit` or `cursor` is invalid.
    InvalidPage: 400 "`invalid_query` (`limit`) or `invalid_cursor`";

    /// 400 on a write without a body: the `Idempotency-Key` is invalid.
    InvalidIdempotencyKey: 400 "`invalid_idempotency_key`";

    /// 403 where the caller's role does not allow the operation.
    Forbidden: 403 "`forbidden`: the role does not allow it";

    /// 403 on an operation only a project's owners may call.
    OwnersOnly: 403 "`forbidden`: only owners";

    /// 403 on an operation only a project's owners and treasurers may call.
    OwnersAndTreasurers: 403 "`forbidden`: owners and treasurers only";

    /// 404 on an operation under `/projects/{project_id}` naming nothing else.
    ProjectNotFound: 404 "`project_not_found`";

    /// 404 on an operation under `/projects/{project_id}/grants/{grant_id}`.
    GrantNotFound: 404 "`project_not_found` or `grant_not_found`";

    /// 404 on an operation under `/projects/{project_id}/payouts/{payout_id}`.
    PayoutNotFound: 404 "`project_not_found` or `payout_not_found`";

    /// 404 on an operation under `/projects/{project_id}/distributions/{distribution_id}`.
    DistributionNotFound: 404 "`project_not_found` or `distribution_not_found`";

    /// 403 and 409 on approving or rejecting a record held for a second person
    /// (four eyes: an expense, a payout, a release).
    enum FourEyesRefusals {
        NotTheirs: 403 "`forbidden`, or `self_approval` (its recorder)",
        Decided: 409 "`already_decided`, or idempotent request in flight",
    }

    /// 422 on a rejection (four eyes) whose reason is missing or too long.
    RejectionReasonRefused: 422 "`required` or `too_long` (`reason`)";

    /// 409 on a write whose `Idempotency-Key` is held by a request still running.
    InFlight: 409 "Idempotent request in flight";

    /// 422 on a write whose `Idempotency-Key` came with another request.
    KeyReused: 422 "`idempotency_key_reused`";

    /// 400 on every operation: its path or query holds an encoded NUL, which
    /// no identifier or filter contains (refused before routing).
    NulInRequest: 400 "`invalid_query`: the path or query holds an encoded NUL (`%00`)";

    /// 503 on every read under `/v1`: the request ran past the instance's time
    /// limit, or its database was busy or out of reach.
    Unavailable: 503 "`request_timeout`, `database_busy` or `service_unavailable`; retry after `Retry-After`";

    /// 503 on every write under `/v1`: as on a read, or the instance serves
    /// reads only.
    UnavailableWrite: 503 "`request_timeout`, `database_busy` or `service_unavailable` (retry after `Retry-After`); `read_only_instance`: this instance serves reads only, send the write to one over the primary database";

    /// 503 on the probes and the metrics, which read no database: the request
    /// ran past the instance's time limit.
    TimedOut: 503 "`request_timeout`; retry after `Retry-After`";
}

/// The key that makes a write safe to retry (see `IdempotencyKey`, its
/// extractor, for the rules it is checked against).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes the request safe to retry
    #[param(
        rename = "Idempotency-Key",
        nullable = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    pub idempotency_key: Option<String>,
}

/// The `project_id` path parameter, as every operation under
/// `/projects/{project_id}` states it.
fn project_id_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("project_id")
        .parameter_in(ParameterIn::Path)
        .description(Some("Project id"))
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ))
        .build()
}

/// States the `project_id` parameter of every operation whose path has one
/// (adding it where no extractor declared it),
/// and lists each operation's path parameters first, in the order the path
/// names them, before its query and header parameters (kept in the order
/// they are declared).
pub fn describe_path_parameters(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            describe_operation(path, operation);
        }
    }
}

fn describe_operation(path: &str, operation: &mut Operation) {
    if path.contains("{project_id}") && operation.parameters.is_none() {
        operation.parameters = Some(Vec::new());
    }
    let Some(parameters) = operation.parameters.as_mut() else {
        return;
    };
    let project_named = parameters.iter().any(|parameter| {
        matches!(parameter, RefOr::T(p) if p.name == "project_id" && p.parameter_in == ParameterIn::Path)
    });
    if path.contains("{project_id}") && !project_named {
        // A handler that takes its project from a `ProjectCall` has no
        // `Path` extractor for the framework to find it in.
        parameters.push(RefOr::T(project_id_parameter()));
    }
    for parameter in parameters.iter_mut() {
        if let RefOr::T(parameter) = parameter
            && parameter.name == "project_id"
            && parameter.parameter_in == ParameterIn::Path
        {
            *parameter = project_id_parameter();
        }
    }
    // A stable sort: path parameters by where the path names them, every
    // other parameter after them, in its declared order.
    parameters.sort_by_key(|parameter| match parameter {
        RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Path => path
            .find(&format!("{{{}}}", parameter.name))
            .unwrap_or(usize::MAX),
        _ => usize::MAX,
    });
}

/// Adds to every operation what means the same wherever it applies (see
/// the module's documentation), without replacing anything an operation
/// states itself.
pub fn complete_operations(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let post = item.post.as_mut().map(|operation| (true, true, operation));
        let get = item.get.as_mut().map(|operation| (false, false, operation));
        let others = [&mut item.put, &mut item.patch, &mut item.delete]
            .into_iter()
            .flatten()
            .map(|operation| (false, true, operation));
        for (is_post, write, operation) in post.into_iter().chain(get).chain(others) {
            complete_operation(path, is_post, write, operation);
        }
    }
}

/// An optional JSON body declared as `Option<T>` reads `oneOf: [T, null]`
/// to clients; what it means is a body that may be left out: `T`, not
/// required.
fn optional_body(operation: &mut Operation) {
    let Some(body) = operation.request_body.as_ref() else {
        return;
    };
    let Ok(mut value) = serde_json::to_value(body) else {
        return;
    };
    let schema = &mut value["content"]["application/json"]["schema"];
    let Some(items) = schema
        .get("oneOf")
        .and_then(|items| items.as_array())
        .cloned()
    else {
        return;
    };
    let (nulls, others): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|item| item.get("type").and_then(|t| t.as_str()) == Some("null"));
    if nulls.len() != 1 || others.len() != 1 {
        return;
    }
    *schema = others.into_iter().next().unwrap_or_default();
    value["required"] = serde_json::Value::Bool(false);
    if let Ok(body) = serde_json::from_value(value) {
        operation.request_body = Some(body);
    }
}

fn complete_operation(path: &str, is_post: bool, write: bool, operation: &mut Operation) {
    optional_body(operation);
    let bearer = operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement).is_ok_and(|value| value.get("bearer").is_some())
    });
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| match body {
            RefOr::T(body) => body.content.contains_key("application/json"),
            RefOr::Ref(_) => false,
        });
    let paged = operation.parameters.iter().flatten().any(|parameter| {
        matches!(parameter, RefOr::T(p) if p.name == "limit" && p.parameter_in == ParameterIn::Query)
    });
    // An operation that states its own `Idempotency-Key` (signing in, which
    // is safe to repeat without one) says itself what the key means there.
    let own_key = operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| matches!(parameter, RefOr::T(p) if p.name == "Idempotency-Key"));
    let mut shared: Vec<(String, RefOr<Response>)> = Vec::new();
    if bearer {
        shared.extend(Unauthenticated::responses());
    }
    if json_body {
        shared.extend(JsonBodyProblems::responses());
    }
    if paged {
        shared.extend(InvalidPage::responses());
    }
    if path.starts_with("/v1/projects/{project_id}") {
        shared.extend(ProjectNotFound::responses());
    }
    shared.extend(NulInRequest::responses());
    // Signing in, the one POST that states its own key, writes nothing and
    // is served by a read-only instance too.
    if path.starts_with("/v1/") && write && !own_key {
        shared.extend(UnavailableWrite::responses());
    } else if path.starts_with("/v1/") {
        shared.extend(Unavailable::responses());
    } else {
        shared.extend(TimedOut::responses());
    }
    if is_post && !own_key {
        if !json_body {
            shared.extend(InvalidIdempotencyKey::responses());
        }
        shared.extend(InFlight::responses());
        shared.extend(KeyReused::responses());
        operation.parameters.get_or_insert_with(Vec::new).extend(
            IdempotencyKeyHeader::into_params(|| None)
                .into_iter()
                .map(RefOr::T),
        );
    }
    for (status, response) in shared {
        operation
            .responses
            .responses
            .entry(status)
            .or_insert(response);
    }
    declare_headers(path, is_post && !own_key, operation);
}

/// A response header's declaration: its description and schema.
fn header(description: &str, schema: ObjectBuilder) -> Header {
    let mut header = Header::new(schema);
    header.description = Some(description.to_owned());
    header
}

/// Declares the response headers of `operation` (see the module's
/// documentation); `keyed` is a `POST` taking an `Idempotency-Key`.
fn declare_headers(path: &str, keyed: bool, operation: &mut Operation) {
    let report = path.contains("/reports/");
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let mut headers = Vec::new();
        if status == "201" {
            headers.push((
                "Location",
                header(
                    "The path of what was made, whose `GET` answers it; where it has no `GET` of \
                     its own, the resource or list that holds it (docs/api.md, \"Location\")",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::Custom("uri-reference".to_owned()))),
                ),
            ));
        }
        if keyed && status.starts_with('2') {
            headers.push((
                super::reply::REPLAYED_HEADER,
                header(
                    "`true` when this is the stored answer to an earlier request with the same \
                     `Idempotency-Key`, replayed; absent otherwise",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["true"])),
                ),
            ));
        }
        if status == "429" || status == "503" {
            headers.push((
                "Retry-After",
                header(
                    "Seconds to wait before trying again",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                ),
            ));
        }
        if report && status == "200" {
            headers.push((
                "Content-Disposition",
                header(
                    "`attachment`, with the file name `<project>-<report>-<period>.<extension>`",
                    ObjectBuilder::new().schema_type(Type::String),
                ),
            ));
        }
        for (name, header) in headers {
            response
                .headers
                .entry(name.to_owned())
                .or_insert(header.into());
        }
    }
}

/// Response fields the service leaves out rather than sending `null` or an
/// empty value (`skip_serializing_if`): they stay optional in the schema.
/// `tests/api/openapi.rs` checks every other field of a response is sent.
const SKIPPED_FIELDS: [(&str, &str); 6] = [
    ("Agent", "has_credentials"),
    ("Agent", "admin"),
    ("Problem", "errors"),
    ("Problem", "errors_omitted"),
    ("FieldError", "row"),
    ("FieldError", "column"),
];

/// Makes the component schemas say exactly what is sent:
/// - a free JSON object (`{"type": "object"}` and nothing else, e.g. a
///   transaction's `metadata`) maps string keys to any JSON value
///   (`additionalProperties: true`), not to nothing;
/// - a schema only responses use has every property required (serde sends
///   `null` for an absent value, and the schema says where null is
///   possible), except the [`SKIPPED_FIELDS`]; a schema a request body
///   uses is left as it is (its optional fields may be left out).
pub fn exact_schemas(api: &mut OpenApi) {
    let Ok(document) = serde_json::to_value(&*api) else {
        return;
    };
    let Some(components) = api.components.as_mut() else {
        return;
    };
    let response_only = response_only_schemas(&document);
    for (name, schema) in components.schemas.iter_mut() {
        let Ok(mut value) = serde_json::to_value(&*schema) else {
            continue;
        };
        free_objects(&mut value);
        if response_only.contains(name.as_str()) {
            require_all(name, &mut value);
        }
        if let Ok(exact) = serde_json::from_value(value) {
            *schema = exact;
        }
    }
}

/// `{"type": "object"}` (or `["object", "null"]`) with no properties:
/// any JSON value under any key.
fn free_objects(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let object = match map.get("type") {
                Some(serde_json::Value::String(t)) => t == "object",
                Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "object"),
                _ => false,
            };
            if object
                && !map.contains_key("properties")
                && !map.contains_key("additionalProperties")
            {
                map.insert(
                    "additionalProperties".to_owned(),
                    serde_json::Value::Bool(true),
                );
            }
            map.values_mut().for_each(free_objects);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(free_objects),
        _ => {}
    }
}

fn require_all(name: &str, schema: &mut serde_json::Value) {
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    let required: Vec<serde_json::Value> = properties
        .keys()
        .filter(|field| !SKIPPED_FIELDS.contains(&(name, field.as_str())))
        .map(|field| serde_json::Value::String(field.clone()))
        .collect();
    schema["required"] = serde_json::Value::Array(required);
}

/// The names of the component schemas reachable from a response and not
/// from a request body.
fn response_only_schemas(document: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let schemas = &document["components"]["schemas"];
    let (mut requests, mut responses) = (Vec::new(), Vec::new());
    for item in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|i| i.values()) {
            referenced(&operation["requestBody"], &mut requests);
            referenced(&operation["responses"], &mut responses);
        }
    }
    let requests = reachable(schemas, requests);
    reachable(schemas, responses)
        .into_iter()
        .filter(|name| !requests.contains(name))
        .collect()
}

/// The component names `value` refers to (`#/components/schemas/<name>`).
fn referenced(value: &serde_json::Value, names: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", serde_json::Value::String(target)) => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            names.push(name.to_owned());
                        }
                    }
                    _ => referenced(inner, names),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| referenced(item, names)),
        _ => {}
    }
}

fn reachable(
    schemas: &serde_json::Value,
    mut pending: Vec<String>,
) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            referenced(&schemas[name.as_str()], &mut pending);
        }
    }
    seen
}
