use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(probes_answer_ok, unknown_routes_are_problems);

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
