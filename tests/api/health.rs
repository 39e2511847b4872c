use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    probes_answer_ok,
    unknown_routes_are_problems,
    unsupported_methods_are_problems,
    docs_without_a_slash_lead_to_swagger_ui,
);

async fn probes_answer_ok(app: &TestApp) {
    for path in ["/healthz", "/readyz"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(json_of(response).await["status"], "ok", "{path}");
    }
}

async fn unknown_routes_are_problems(app: &TestApp) {
    assert_problem(
        app.get("/v1/nothing-here").await,
        404,
        "not_found",
        "unknown route",
    )
    .await;
}

async fn unsupported_methods_are_problems(app: &TestApp) {
    let response = app
        .client
        .delete(app.url("/v1/projects"))
        .send()
        .await
        .expect("request");
    assert_problem(
        response,
        405,
        "method_not_allowed",
        "known path, unsupported method",
    )
    .await;
    let response = app
        .client
        .put(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_problem(response, 405, "method_not_allowed", "probes are GET only").await;
}

async fn docs_without_a_slash_lead_to_swagger_ui(app: &TestApp) {
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200, "redirect followed to Swagger UI");
    assert!(response.url().path().ends_with("/docs/"));
}

on_both_backends!(metrics_count_requests_pool_and_replays);

fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

async fn metrics_count_requests_pool_and_replays(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/v1/projects/{project}/accounts"))
                .await
                .status(),
            200
        );
    }
    let body = crate::helpers::transfer_body("funder:a", "pool:general", "1.00", "EUR");
    for _ in 0..2 {
        let response = app
            .post_with_key(
                &format!("/v1/projects/{project}/transactions"),
                "metrics-key",
                &body,
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let response = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.expect("text");
    let accounts = r#"commons_ledger_http_requests_total{method="GET",route="/v1/projects/{project_id}/accounts",status="200"}"#;
    assert_eq!(metric_value(&text, accounts), 3.0);
    let histogram = r#"commons_ledger_http_request_duration_seconds_count{method="GET",route="/v1/projects/{project_id}/accounts"}"#;
    assert_eq!(metric_value(&text, histogram), 3.0);
    assert_eq!(
        metric_value(&text, "commons_ledger_idempotency_replays_total"),
        1.0
    );
    assert!(metric_value(&text, r#"commons_ledger_db_pool_connections{state="idle"}"#) >= 1.0);
    assert_eq!(
        metric_value(&text, "commons_ledger_db_pool_max_connections"),
        8.0
    );
    assert!(
        !text.contains(&project),
        "routes are labelled by pattern, never by id"
    );
}

#[tokio::test]
async fn a_request_past_the_timeout_is_answered_503() {
    let keys = commons_ledger::auth::jwt::TokenKeys::new(
        crate::helpers::TEST_JWT_SECRET,
        "commons-ledger",
        "commons-ledger",
        3_600,
    )
    .expect("keys");
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, keys, |settings| {
        settings.request_timeout = std::time::Duration::from_secs(1);
    })
    .await
    .expect("app");
    // Hold SQLite's write gate, so that a write request cannot finish.
    let (held, is_held) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let db = app.db.clone();
    let holder = std::thread::spawn(move || {
        db.write(
            |_| -> Result<(), commons_ledger::routes::problem::ApiError> {
                held.send(()).expect("held");
                released.recv().expect("release");
                Ok(())
            },
        )
        .expect("hold");
    });
    is_held.recv().expect("gate held");
    let response = app
        .post(
            "/v1/projects",
            &serde_json::json!({"name": "Slow", "currency": "EUR"}),
        )
        .await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(response, 503, "request_timeout", "timed out").await;
    release.send(()).expect("release");
    holder.join().expect("holder");
}

on_both_backends!(
    nul_characters_are_refused_not_stored,
    refused_methods_say_what_is_allowed
);

async fn nul_characters_are_refused_not_stored(app: &TestApp) {
    let response = app
        .post(
            "/v1/projects",
            &serde_json::json!({"name": "Open\u{0}Air", "currency": "EUR"}),
        )
        .await;
    let problem = assert_problem(response, 422, "invalid_character", "NUL in a name").await;
    assert_eq!(problem["errors"][0]["field"], "name");
    let project = app.create_project("EUR").await;
    let response = app
        .get(&format!("/v1/projects/{project}/contributions?agent=a%00b"))
        .await;
    assert_problem(response, 400, "invalid_query", "NUL in a query").await;
    let response = app
        .get(&format!(
            "/v1/projects/{project}/reports/contributions.csv?agent="
        ))
        .await;
    assert_problem(response, 400, "invalid_query", "an empty id").await;
}

async fn refused_methods_say_what_is_allowed(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let response = app
        .client
        .delete(app.url(&format!("/v1/projects/{project}/accounts")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert_problem(response, 405, "method_not_allowed", "no DELETE").await;
    let response = app
        .get(&format!("/v1/projects/{project}/contributions/imports"))
        .await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_problem(response, 405, "method_not_allowed", "imports are posted").await;
}
