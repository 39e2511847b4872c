use serde_json::json;

use crate::helpers::{TestApp, assert_problem, json_of, transfer_body};
use crate::on_both_backends;

on_both_backends!(
    replays_return_the_original_response,
    a_key_with_another_request_is_refused,
    refusals_keep_failing_the_same_way,
    concurrent_duplicates_have_one_effect,
);

async fn replays_return_the_original_response(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let path = format!("/v1/projects/{project}/transactions");
    let body = transfer_body("funder:a", "pool:general", "25.00", "EUR");

    let first = app.post_with_key(&path, "grant-2026-017", &body).await;
    assert_eq!(first.status(), 201);
    assert!(
        first.headers().get("Idempotency-Replayed").is_none(),
        "the first answer is not a replay"
    );
    let location = |response: &reqwest::Response| {
        response
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let first_location = location(&first);
    let first = json_of(first).await;
    assert_eq!(
        first_location,
        Some(format!(
            "/v1/projects/{project}/transactions/{}",
            first["id"].as_str().expect("id")
        )),
        "a 201 names where the transaction is"
    );

    let second = app.post_with_key(&path, "grant-2026-017", &body).await;
    assert_eq!(second.status(), 201, "a replay keeps the original status");
    assert_eq!(
        second
            .headers()
            .get("Idempotency-Replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(
        location(&second),
        first_location,
        "a replay keeps the Location"
    );
    assert_eq!(json_of(second).await, first, "and the original body");
    assert_eq!(app.transaction_count(&project).await, 1, "one effect");
    assert_eq!(app.balances(&project).await["pool:general"], "25.00");

    // Keys work on every POST, e.g. creating a project.
    let project_body = json!({"name": "Fablab", "currency": "EUR"});
    let a = json_of(
        app.post_with_key("/v1/projects", "project-key", &project_body)
            .await,
    )
    .await;
    let b = json_of(
        app.post_with_key("/v1/projects", "project-key", &project_body)
            .await,
    )
    .await;
    assert_eq!(a["id"], b["id"]);
}

async fn a_key_with_another_request_is_refused(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let path = format!("/v1/projects/{project}/transactions");
    assert_eq!(
        app.post_with_key(
            &path,
            "k",
            &transfer_body("funder:a", "pool:general", "1.00", "EUR")
        )
        .await
        .status(),
        201
    );
    let response = app
        .post_with_key(
            &path,
            "k",
            &transfer_body("funder:a", "pool:general", "2.00", "EUR"),
        )
        .await;
    assert_problem(
        response,
        422,
        "idempotency_key_reused",
        "same key, different body",
    )
    .await;
    let response = app
        .post_with_key(
            "/v1/projects",
            "k",
            &json!({"name": "X", "currency": "EUR"}),
        )
        .await;
    assert_problem(
        response,
        422,
        "idempotency_key_reused",
        "same key, different endpoint",
    )
    .await;
    let long_key = "k".repeat(256);
    let response = app
        .post_with_key(
            &path,
            &long_key,
            &transfer_body("funder:a", "pool:general", "1.00", "EUR"),
        )
        .await;
    assert_problem(
        response,
        400,
        "invalid_idempotency_key",
        "keys are at most 255 characters",
    )
    .await;
    assert_eq!(app.transaction_count(&project).await, 1);
}

async fn refusals_keep_failing_the_same_way(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "expense:parts", "EUR", false)
        .await;
    let path = format!("/v1/projects/{project}/transactions");
    let expense = transfer_body("pool:general", "expense:parts", "1200.00", "EUR");

    let refused = assert_problem(
        app.post_with_key(&path, "parts", &expense).await,
        422,
        "insufficient_funds",
        "empty pool",
    )
    .await;
    assert_eq!(
        app.transfer(&project, "funder:a", "pool:general", "5000.00", "EUR")
            .await
            .status(),
        201
    );
    let replay = app.post_with_key(&path, "parts", &expense).await;
    assert_eq!(
        replay
            .headers()
            .get("Idempotency-Replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let replayed = assert_problem(
        replay,
        422,
        "insufficient_funds",
        "the refusal is replayed although the pool is funded now",
    )
    .await;
    assert_eq!(replayed, refused);
    assert_eq!(
        app.balances(&project).await["pool:general"],
        "5000.00",
        "the expense never happened"
    );
    assert_eq!(
        app.post_with_key(&path, "parts-2", &expense).await.status(),
        201,
        "a new key is a new attempt"
    );
}

async fn concurrent_duplicates_have_one_effect(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let path = format!("/v1/projects/{project}/transactions");
    let body = transfer_body("funder:a", "pool:general", "10.00", "EUR");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let client = app.client.clone();
        let url = app.url(&path);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("Idempotency-Key", "same")
                .json(&body)
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("json");
            (status, body)
        }));
    }
    let mut created_ids = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        match status {
            201 => created_ids.push(body["id"].clone()),
            409 => assert_eq!(body["code"], "idempotency_request_in_flight"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert!(!created_ids.is_empty(), "at least one request succeeded");
    assert!(
        created_ids.windows(2).all(|w| w[0] == w[1]),
        "every success names the same transaction"
    );
    assert_eq!(app.transaction_count(&project).await, 1, "one effect");
    assert_eq!(app.balances(&project).await["pool:general"], "10.00");
}
