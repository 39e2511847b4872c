//! The audit trail: every change of state is an event in the project's
//! hash-chained log, with its actor, request id and the state replaced and
//! made; refusals and replays record nothing; the log is readable by
//! owners, treasurers and auditors only, and verification checks it with
//! the ledger.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(
    every_change_is_an_event_with_its_actor,
    settings_changes_keep_what_they_replaced,
    refusals_and_replays_record_nothing,
    the_log_is_filtered_and_paged,
    only_owners_treasurers_and_auditors_read_it,
    concurrent_writes_keep_one_chain
);

/// Every event of `project`, all pages, as the administrator reads them.
async fn events(app: &TestApp, project: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/projects/{project}/events?limit=3{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let page = json_of(response).await;
        all.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect()
}

/// A time rate, so that contributions of time are valued.
async fn rate(app: &TestApp, project: &str) {
    let response = app
        .post(
            &format!("/v1/projects/{project}/rates"),
            &json!({"kind": "time", "effective_from": "2026-01-01", "rate": "30.00",
                "currency": "EUR", "per": "hour", "method": "replacement_cost",
                "source": "replacement cost"}),
        )
        .await;
    assert_eq!(response.status(), 201);
}

async fn verified(app: &TestApp, project: &str) -> Value {
    let report = json_of(
        app.get(&format!("/v1/projects/{project}/ledger/verification"))
            .await,
    )
    .await;
    assert_eq!(report["ok"], true, "{report}");
    report
}

async fn every_change_is_an_event_with_its_actor(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (contributor, token) = app.member(&project, "contributor").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let response = app
        .client
        .post(app.url(&format!("/v1/projects/{project}/transactions")))
        .header("X-Request-Id", "grant-day:42")
        .json(&crate::helpers::transfer_body(
            "funder:a",
            "pool:general",
            "100.00",
            "EUR",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["x-request-id"].to_str().expect("id"),
        "grant-day:42"
    );
    let transaction = json_of(response).await;
    assert_eq!(transaction["recorded_by"], app.admin_id.as_str());
    rate(app, &project).await;
    let logged = app
        .send_as(
            Some(&token),
            Method::POST,
            &format!("/v1/projects/{project}/contributions"),
            Some(&json!({"kind": "time", "quantity": "2", "unit": "hour",
                "date": "2026-03-02", "description": "sensor calibration"})),
        )
        .await;
    assert_eq!(logged.status(), 201);
    let contribution = json_of(logged).await;

    let log = events(app, &project, "").await;
    assert_eq!(
        kinds(&log),
        [
            "project.created",
            "member.created",
            "account.created",
            "account.created",
            "transaction.created",
            "rate.created",
            "contribution.created"
        ]
    );
    for (i, event) in log.iter().enumerate() {
        assert_eq!(event["sequence"], i as i64 + 1);
        let actor = if i == 6 { &contributor } else { &app.admin_id };
        assert_eq!(event["actor"], actor.as_str(), "{event}");
        assert_eq!(event["hash"].as_str().expect("hash").len(), 64);
        if i > 0 {
            assert_eq!(event["previous_hash"], log[i - 1]["hash"]);
        }
    }
    assert_eq!(log[0]["previous_hash"], "0".repeat(64));
    // What the request made is what it answered.
    assert_eq!(log[4]["after"], transaction);
    assert_eq!(log[4]["transactions"], json!([transaction["id"]]));
    assert_eq!(log[4]["request_id"], "grant-day:42");
    assert_eq!(
        log[4]["subject"],
        format!("/v1/projects/{project}/transactions")
    );
    assert_eq!(log[6]["after"], contribution);
    assert_eq!(log[6]["transactions"], json!([]));
    assert!(log[6]["before"].is_null());
    // Without an `X-Request-Id`, the service gives the request its own.
    assert_eq!(log[6]["request_id"].as_str().expect("id").len(), 36);
    let report = verified(app, &project).await;
    assert_eq!(report["events_checked"], 7);
    assert_eq!(report["events_head_sequence"], 7);
    assert_eq!(report["events_head_hash"], log[6]["hash"]);
}

async fn settings_changes_keep_what_they_replaced(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (treasurer, _) = app.member(&project, "treasurer").await;
    // Lowered to 1, then raised back: both changes stay on record.
    for approvals in [1, 2] {
        let response = app
            .client
            .patch(app.url(&format!("/v1/projects/{project}")))
            .json(&json!({"distribution_approvals_required": approvals}))
            .send()
            .await
            .expect("patch");
        assert_eq!(response.status(), 200);
    }
    let response = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}/members/{treasurer}")))
        .json(&json!({"role": "auditor"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .delete(app.url(&format!("/v1/projects/{project}/members/{treasurer}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);

    let log = events(app, &project, "").await;
    assert_eq!(
        kinds(&log),
        [
            "project.created",
            "member.created",
            "project.updated",
            "project.updated",
            "member.updated",
            "member.deleted"
        ]
    );
    let approvals = |state: &Value| state["distribution_approvals_required"].clone();
    let first = approvals(&log[2]["before"]);
    assert_eq!(approvals(&log[2]["after"]), 1);
    assert_eq!(approvals(&log[3]["before"]), 1);
    assert_eq!(approvals(&log[3]["after"]), 2);
    assert!(first.is_number(), "{}", log[2]);
    assert_eq!(log[4]["before"]["role"], "treasurer");
    assert_eq!(log[4]["after"]["role"], "auditor");
    assert_eq!(log[5]["before"]["role"], "auditor");
    assert!(log[5]["after"].is_null());
    verified(app, &project).await;
}

async fn refusals_and_replays_record_nothing(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let before = events(app, &project, "").await.len();
    // Refused: more than the pool holds.
    let refused = app
        .transfer(&project, "pool:general", "funder:a", "1.00", "EUR")
        .await;
    assert_eq!(refused.status(), 422);
    let path = format!("/v1/projects/{project}/transactions");
    let body = crate::helpers::transfer_body("funder:a", "pool:general", "5.00", "EUR");
    for _ in 0..2 {
        let response = app.post_with_key(&path, "once-only", &body).await;
        assert_eq!(response.status(), 201);
    }
    let log = events(app, &project, "").await;
    assert_eq!(log.len(), before + 1, "{log:?}");
    assert_eq!(app.transaction_count(&project).await, 1);
    verified(app, &project).await;
}

async fn the_log_is_filtered_and_paged(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (contributor, token) = app.member(&project, "contributor").await;
    rate(app, &project).await;
    for day in ["2026-03-02", "2026-03-03"] {
        let logged = app
            .send_as(
                Some(&token),
                Method::POST,
                &format!("/v1/projects/{project}/contributions"),
                Some(&json!({"kind": "time", "quantity": "1", "unit": "hour",
                    "date": day, "description": "field survey"})),
            )
            .await;
        assert_eq!(logged.status(), 201);
        let id = json_of(logged).await["id"].as_str().expect("id").to_owned();
        let reviewed = app
            .post(
                &format!("/v1/projects/{project}/contributions/{id}/reviews"),
                &json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(reviewed.status(), 201);
    }
    let all = events(app, &project, "").await;
    assert_eq!(all.len(), 7);
    let of_contributions = events(app, &project, "&kind=contribution").await;
    assert_eq!(
        kinds(&of_contributions),
        [
            "contribution.created",
            "contribution.review.created",
            "contribution.created",
            "contribution.review.created"
        ]
    );
    let reviews = events(app, &project, "&kind=contribution.review.created").await;
    assert_eq!(reviews.len(), 2);
    assert!(events(app, &project, "&kind=contrib").await.is_empty());
    let by_contributor = events(app, &project, &format!("&actor={contributor}")).await;
    assert_eq!(kinds(&by_contributor), ["contribution.created"; 2]);
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().expect("date");
    assert_eq!(
        events(app, &project, &format!("&from={today}&to={today}"))
            .await
            .len(),
        7
    );
    assert!(
        events(app, &project, &format!("&from={tomorrow}"))
            .await
            .is_empty()
    );
    for bad in [
        "kind=Contribution",
        "kind=a%25",
        "kind=.",
        "actor=someone",
        "from=2026-13-01",
    ] {
        let response = app
            .get(&format!("/v1/projects/{project}/events?{bad}"))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(json_of(response).await["code"], "invalid_query", "{bad}");
    }
}

async fn only_owners_treasurers_and_auditors_read_it(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let path = format!("/v1/projects/{project}/events");
    for (role, status) in [
        ("owner", 200),
        ("treasurer", 200),
        ("auditor", 200),
        ("contributor", 403),
    ] {
        let (_, token) = app.member(&project, role).await;
        let response = app.send_as(Some(&token), Method::GET, &path, None).await;
        assert_eq!(response.status(), status, "{role}");
    }
    let response = app.send_as(None, Method::GET, &path, None).await;
    assert_eq!(response.status(), 404, "a private project stays hidden");
    let response = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .json(&json!({"public": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), 200);
    let response = app.send_as(None, Method::GET, &path, None).await;
    assert_eq!(
        response.status(),
        401,
        "a public project's trail is not public"
    );
}

async fn concurrent_writes_keep_one_chain(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let (_, token) = app.member(&project, "contributor").await;
    rate(app, &project).await;
    let mut writes = Vec::new();
    for i in 0..24 {
        let (project, token) = (project.clone(), token.clone());
        let app_client = app.client.clone();
        let anonymous = app.anonymous.clone();
        let base = app.address.clone();
        writes.push(tokio::spawn(async move {
            if i % 2 == 0 {
                app_client
                    .post(format!("{base}/v1/projects/{project}/transactions"))
                    .json(&crate::helpers::transfer_body(
                        "funder:a",
                        "pool:general",
                        "1.00",
                        "EUR",
                    ))
                    .send()
                    .await
                    .expect("transfer")
                    .status()
            } else {
                anonymous
                    .post(format!("{base}/v1/projects/{project}/contributions"))
                    .bearer_auth(token)
                    .json(&json!({"kind": "time", "quantity": "1", "unit": "hour",
                        "date": "2026-03-02", "description": format!("shift {i}")}))
                    .send()
                    .await
                    .expect("contribution")
                    .status()
            }
        }));
    }
    for write in writes {
        assert_eq!(write.await.expect("task"), 201);
    }
    let log = events(app, &project, "").await;
    assert_eq!(log.len(), 5 + 24);
    let report = verified(app, &project).await;
    assert_eq!(report["events_checked"], 29);
    assert_eq!(report["transactions_checked"], 12);
}
