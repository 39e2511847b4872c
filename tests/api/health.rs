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
