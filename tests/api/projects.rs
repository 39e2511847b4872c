use serde_json::json;

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    projects_are_created_listed_and_read,
    invalid_projects_are_refused
);

async fn projects_are_created_listed_and_read(app: &TestApp) {
    let mut ids = Vec::new();
    for currency in ["EUR", "JPY", "KWD"] {
        let response = app
            .post(
                "/v1/projects",
                &json!({"name": "OpenAir Lyon", "currency": currency, "public": true}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let project = json_of(response).await;
        assert_eq!(project["currency"], currency);
        assert_eq!(project["public"], true);
        ids.push(project["id"].as_str().expect("id").to_owned());
    }
    let first = json_of(app.get("/v1/projects?limit=2").await).await;
    let listed: Vec<&str> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, ids[..2], "oldest first, page of two");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a full page has a next cursor");
    let second = json_of(
        app.get(&format!("/v1/projects?limit=2&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(second["items"][0]["id"], ids[2].as_str());
    assert!(second["next_cursor"].is_null(), "last page");

    let one = json_of(app.get(&format!("/v1/projects/{}", ids[1])).await).await;
    assert_eq!(one["currency"], "JPY");
    assert_problem(
        app.get("/v1/projects/01900000-0000-7000-8000-000000000000")
            .await,
        404,
        "project_not_found",
        "unknown project",
    )
    .await;
}

async fn invalid_projects_are_refused(app: &TestApp) {
    let cases = [
        (
            json!({"name": "X", "currency": "HOUR"}),
            422,
            "unknown_currency",
            "a project keeps its books in a currency",
        ),
        (
            json!({"name": "X", "currency": "EURO"}),
            422,
            "unknown_currency",
            "currency must be ISO 4217",
        ),
        (
            json!({"name": "X", "currency": "XAU"}),
            422,
            "unknown_currency",
            "a currency needs a minor unit",
        ),
        (
            json!({"name": "  ", "currency": "EUR"}),
            422,
            "invalid_name",
            "name must not be blank",
        ),
        (
            json!({"name": "X"}),
            422,
            "invalid_body",
            "currency is required",
        ),
        (
            json!({"name": "X", "currency": "EUR", "colour": "red"}),
            422,
            "invalid_body",
            "unknown fields are refused",
        ),
    ];
    for (body, status, code, rule) in cases {
        assert_problem(app.post("/v1/projects", &body).await, status, code, rule).await;
    }
    let response = app
        .client
        .post(app.url("/v1/projects"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("request");
    assert_problem(response, 400, "malformed_json", "malformed JSON").await;
    let response = app
        .client
        .post(app.url("/v1/projects"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_problem(response, 415, "unsupported_media_type", "JSON only").await;
    assert_problem(
        app.get("/v1/projects?limit=1001").await,
        400,
        "invalid_query",
        "limit above the maximum is refused, not clamped",
    )
    .await;
    assert_problem(
        app.get("/v1/projects?limit=0").await,
        400,
        "invalid_query",
        "limit zero",
    )
    .await;
    assert_problem(
        app.get("/v1/projects?cursor=zz").await,
        400,
        "invalid_cursor",
        "forged cursor",
    )
    .await;
    let listed = json_of(app.get("/v1/projects").await).await;
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        0,
        "nothing was created"
    );
}
