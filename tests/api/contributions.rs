//! Contributions of time, equipment and data: valuation, licences, review
//! and value accounts, through the API.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    story_steps_three_and_four,
    a_rate_change_values_later_work_only,
    the_most_specific_rate_wins,
    review_rules,
    corrections_and_unvalued_contributions,
);

async fn rate(app: &TestApp, project: &str, body: Value) -> Value {
    let response = app
        .post(&format!("/v1/projects/{project}/rates"), &body)
        .await;
    assert_eq!(response.status(), 201, "rate {body}");
    json_of(response).await
}

fn time_rate(from: &str, amount: &str) -> Value {
    json!({"kind": "time", "effective_from": from, "rate": amount, "currency": "EUR", "per": "hour",
           "method": "replacement_cost", "source": "replacement cost, ISCO 2511"})
}

async fn log(app: &TestApp, token: &str, project: &str, body: &Value) -> reqwest::Response {
    app.send_as(
        Some(token),
        Method::POST,
        &format!("/v1/projects/{project}/contributions"),
        Some(body),
    )
    .await
}

async fn logged(app: &TestApp, token: &str, project: &str, body: Value) -> Value {
    let response = log(app, token, project, &body).await;
    let status = response.status();
    let created = json_of(response).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn review(
    app: &TestApp,
    token: &str,
    project: &str,
    id: &str,
    decision: &str,
    reason: &str,
) -> reqwest::Response {
    app.send_as(
        Some(token),
        Method::POST,
        &format!("/v1/projects/{project}/contributions/{id}/reviews"),
        Some(&json!({"decision": decision, "reason": reason})),
    )
    .await
}

fn hours(date: &str, quantity: &str) -> Value {
    json!({"kind": "time", "date": date, "quantity": quantity, "unit": "hour", "description": "sensor calibration"})
}

async fn story_steps_three_and_four(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let settings = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .json(&json!({"licence_policy": "open"}))
        .send()
        .await
        .expect("request");
    assert_eq!(json_of(settings).await["licence_policy"], "open");
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (camille, camille_token) = app.member(&project, "contributor").await;
    let (_, ines) = app.member(&project, "contributor").await;
    let (_, malo) = app.member(&project, "contributor").await;

    rate(app, &project, time_rate("2026-01-01", "25.00")).await;
    rate(app, &project, json!({"kind": "equipment", "effective_from": "2026-01-01", "rate": "3.00", "currency": "EUR", "per": "hour",
                               "method": "rental_equivalent", "source": "local fablab price list", "equipment": "3d-printer-1"})).await;
    rate(app, &project, json!({"kind": "data", "effective_from": "2026-01-01", "rate": "500.00", "currency": "EUR", "per": "dataset",
                               "method": "fixed_per_dataset", "source": "project board decision 2026-01"})).await;

    let time = logged(app, &camille_token, &project, hours("2026-03-02", "12.5")).await;
    let equipment = logged(
        app,
        &ines,
        &project,
        json!({"kind": "equipment", "date": "2026-03-05", "quantity": "40", "unit": "hour",
        "equipment": "3d-printer-1", "description": "sensor housings"}),
    )
    .await;
    let dataset = json!({"kind": "data", "date": "2026-03-10", "quantity": "1", "unit": "dataset", "description": "readings",
        "dataset": {"title": "Lyon air quality, 1.2 million readings", "uri": "doi:10.5281/zenodo.0000001",
                    "size_bytes": 48_000_000, "checksum": "sha256:00ff", "licence": "CC-BY-4.0"}});
    let data = logged(app, &malo, &project, dataset.clone()).await;
    let mut non_commercial = dataset;
    non_commercial["dataset"]["licence"] = json!("CC-BY-NC-4.0");
    let refused = assert_problem(
        log(app, &malo, &project, &non_commercial).await,
        422,
        "licence_not_open",
        "NC is not open",
    )
    .await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("commercial use"),
        "{refused}"
    );

    for (contribution, value, method) in [
        (&time, "312.50", "replacement_cost"),
        (&equipment, "120.00", "rental_equivalent"),
        (&data, "500.00", "fixed_per_dataset"),
    ] {
        assert_eq!(contribution["valuation"]["value"], value);
        assert_eq!(contribution["valuation"]["currency"], "EUR");
        assert_eq!(contribution["valuation"]["rate"]["method"], method);
        assert_eq!(contribution["status"], "pending");
        let id = contribution["id"].as_str().expect("id");
        let approved = json_of(
            review(
                app,
                &treasurer,
                &project,
                id,
                "approve",
                "checked against the logbook",
            )
            .await,
        )
        .await;
        assert_eq!(approved["status"], "approved");
        assert_eq!(approved["reviews"][0]["decision"], "approve");
    }
    assert_eq!(data["dataset"]["licence"], "CC-BY-4.0");

    let mine = json_of(
        app.send_as(
            Some(&camille_token),
            Method::GET,
            "/v1/me/value-account",
            None,
        )
        .await,
    )
    .await;
    let account = &mine["projects"][0];
    assert_eq!(
        account["totals"][0],
        json!({"currency": "EUR", "approved": "312.50", "pending": "0.00"})
    );
    assert_eq!(account["by_kind"][0]["kind"], "time");
    assert_eq!(account["by_period"][0]["period"], "2026-03");
    let same = json_of(
        app.send_as(
            Some(&treasurer),
            Method::GET,
            &format!("/v1/projects/{project}/members/{camille}/value-account"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(&same, account, "the treasurer sees the same account");

    let approved = json_of(
        app.get(&format!(
            "/v1/projects/{project}/contributions?status=approved&kind=time"
        ))
        .await,
    )
    .await;
    assert_eq!(
        approved["items"].as_array().expect("items").len(),
        1,
        "filters by status and kind"
    );
}

async fn a_rate_change_values_later_work_only(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    rate(app, &project, time_rate("2026-01-01", "20.00")).await;
    rate(app, &project, time_rate("2026-06-01", "30.00")).await;
    let may = logged(app, &contributor, &project, hours("2026-05-31", "2")).await;
    let june = logged(app, &contributor, &project, hours("2026-06-01", "2")).await;
    assert_eq!(may["valuation"]["value"], "40.00");
    assert_eq!(june["valuation"]["value"], "60.00");

    rate(app, &project, time_rate("2026-05-01", "25.00")).await;
    let may_id = may["id"].as_str().expect("id");
    let reread = json_of(
        app.get(&format!("/v1/projects/{project}/contributions/{may_id}"))
            .await,
    )
    .await;
    assert_eq!(
        reread["valuation"]["value"], "40.00",
        "a rate added later never changes a past value"
    );
    assert_eq!(
        reread["valuation"]["rate"]["rate"], "20.00",
        "and the value keeps its rate"
    );
    let later = logged(app, &contributor, &project, hours("2026-05-31", "2")).await;
    assert_eq!(
        later["valuation"]["value"], "50.00",
        "new work in May uses the new rate"
    );

    let duplicate = app
        .post(
            &format!("/v1/projects/{project}/rates"),
            &time_rate("2026-06-01", "99.00"),
        )
        .await;
    assert_problem(
        duplicate,
        409,
        "rate_exists",
        "one rate per scope and start date",
    )
    .await;
    let bad = [
        (
            json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.001", "currency": "EUR", "per": "hour", "method": "m", "source": "s"}),
            "amount_precision",
        ),
        (
            json!({"kind": "data", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR", "per": "hour", "method": "m", "source": "s"}),
            "invalid_unit",
        ),
        (
            json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "HOUR", "per": "hour", "method": "m", "source": "s"}),
            "unknown_currency",
        ),
        (
            json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR", "per": "hour", "method": "m", "source": "s", "equipment": "x"}),
            "invalid_scope",
        ),
    ];
    for (body, code) in bad {
        assert_problem(
            app.post(&format!("/v1/projects/{project}/rates"), &body)
                .await,
            422,
            code,
            code,
        )
        .await;
    }
}

async fn the_most_specific_rate_wins(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (alice, alice_token) = app.member(&project, "contributor").await;
    let (_, bob) = app.member(&project, "contributor").await;
    rate(app, &project, time_rate("2026-01-01", "25.00")).await;
    let mut soldering = time_rate("2026-01-01", "40.00");
    soldering["skill"] = json!("soldering");
    rate(app, &project, soldering).await;
    let mut alices = time_rate("2025-06-01", "50.00");
    alices["agent"] = json!(alice);
    rate(app, &project, alices).await;

    let mut work = hours("2026-03-02", "1");
    assert_eq!(
        logged(app, &bob, &project, work.clone()).await["valuation"]["value"],
        "25.00",
        "the general rate"
    );
    work["skill"] = json!("soldering");
    assert_eq!(
        logged(app, &bob, &project, work.clone()).await["valuation"]["value"],
        "40.00",
        "the skill's rate"
    );
    assert_eq!(
        logged(app, &alice_token, &project, work).await["valuation"]["value"],
        "50.00",
        "Alice's own rate, though older"
    );
}

async fn review_rules(app: &TestApp) {
    let project = app.create_project("EUR").await;
    rate(app, &project, time_rate("2026-01-01", "25.00")).await;
    let (_, first) = app.member(&project, "treasurer").await;
    let (_, second) = app.member(&project, "treasurer").await;
    let (contributor, contributor_token) = app.member(&project, "contributor").await;
    let (_, auditor) = app.member(&project, "auditor").await;

    let own = logged(app, &first, &project, hours("2026-03-02", "1")).await;
    let own_id = own["id"].as_str().expect("id");
    assert_problem(
        review(app, &first, &project, own_id, "approve", "").await,
        403,
        "self_review",
        "nobody reviews their own work",
    )
    .await;
    assert_problem(
        review(app, &contributor_token, &project, own_id, "approve", "").await,
        403,
        "forbidden",
        "contributors do not review",
    )
    .await;

    let on_behalf = logged(app, &first, &project, json!({"agent": contributor, "kind": "time", "date": "2026-03-03", "quantity": "2", "unit": "hour"})).await;
    assert_eq!(
        on_behalf["agent"],
        contributor.as_str(),
        "treasurers log for others"
    );
    assert_problem(
        review(
            app,
            &first,
            &project,
            on_behalf["id"].as_str().expect("id"),
            "approve",
            "",
        )
        .await,
        403,
        "self_review",
        "nor what they recorded",
    )
    .await;
    let for_other = json!({"agent": app.admin_id, "kind": "time", "date": "2026-03-03", "quantity": "2", "unit": "hour"});
    assert_problem(
        log(app, &contributor_token, &project, &for_other).await,
        403,
        "forbidden",
        "contributors log only their own",
    )
    .await;
    assert_problem(
        log(app, &auditor, &project, &hours("2026-03-03", "1")).await,
        403,
        "forbidden",
        "auditors do not log",
    )
    .await;

    let settings = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .json(&json!({"approvals_required": 2}))
        .send()
        .await
        .expect("request");
    assert_eq!(json_of(settings).await["approvals_required"], 2);
    let work = logged(app, &contributor_token, &project, hours("2026-03-04", "3")).await;
    let id = work["id"].as_str().expect("id");
    assert_eq!(
        json_of(review(app, &first, &project, id, "approve", "ok").await).await["status"],
        "pending",
        "one of two"
    );
    assert_problem(
        review(app, &first, &project, id, "approve", "again").await,
        409,
        "already_reviewed",
        "approvals are distinct",
    )
    .await;
    assert_eq!(
        json_of(review(app, &second, &project, id, "approve", "ok").await).await["status"],
        "approved",
        "two of two"
    );
    assert_problem(
        review(
            app,
            &app.token_for(&app.admin_id),
            &project,
            id,
            "reject",
            "late",
        )
        .await,
        409,
        "contribution_decided",
        "decided once",
    )
    .await;

    let other = logged(app, &contributor_token, &project, hours("2026-03-05", "1")).await;
    let other_id = other["id"].as_str().expect("id");
    assert_problem(
        review(app, &first, &project, other_id, "reject", "").await,
        422,
        "too_long",
        "a rejection says why",
    )
    .await;
    let rejected = json_of(
        review(
            app,
            &first,
            &project,
            other_id,
            "reject",
            "not in the logbook",
        )
        .await,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reviews"][0]["reason"], "not in the logbook");
}

async fn corrections_and_unvalued_contributions(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (me, token) = app.member(&project, "contributor").await;
    assert_problem(
        log(app, &token, &project, &hours("2026-03-02", "1")).await,
        422,
        "no_applicable_rate",
        "no rate, no value",
    )
    .await;
    let settings = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .json(&json!({"allow_unvalued": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(json_of(settings).await["allow_unvalued"], true);
    let unvalued = logged(app, &token, &project, hours("2026-03-02", "1")).await;
    assert!(unvalued["valuation"].is_null(), "accepted without a value");

    rate(app, &project, time_rate("2026-01-01", "25.00")).await;
    let original = logged(app, &token, &project, hours("2026-03-03", "10")).await;
    let original_id = original["id"].as_str().expect("id");
    review(app, &treasurer, &project, original_id, "approve", "ok").await;
    let mut fix = hours("2026-03-03", "8");
    fix["supersedes"] = json!(original_id);
    let correction = logged(app, &token, &project, fix.clone()).await;
    assert_eq!(correction["supersedes"], original_id);
    assert_problem(
        log(app, &token, &project, &fix).await,
        409,
        "already_corrected",
        "one live correction",
    )
    .await;

    let path = format!("/v1/projects/{project}/members/{me}/value-account");
    let before = json_of(app.send_as(Some(&token), Method::GET, &path, None).await).await;
    assert_eq!(
        before["totals"][0]["approved"], "250.00",
        "the original stands until its correction is approved"
    );
    assert_eq!(before["totals"][0]["pending"], "200.00");
    review(
        app,
        &treasurer,
        &project,
        correction["id"].as_str().expect("id"),
        "approve",
        "ok",
    )
    .await;
    let after = json_of(app.send_as(Some(&token), Method::GET, &path, None).await).await;
    assert_eq!(
        after["totals"][0]["approved"], "200.00",
        "the correction replaces it"
    );
    let reread = json_of(
        app.get(&format!(
            "/v1/projects/{project}/contributions/{original_id}"
        ))
        .await,
    )
    .await;
    assert_eq!(
        reread["status"], "approved",
        "the original itself is never edited"
    );

    // The value account's approved total is the sum of what stands behind it.
    let listed = json_of(
        app.get(&format!(
            "/v1/projects/{project}/contributions?agent={me}&status=approved"
        ))
        .await,
    )
    .await;
    let superseded: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["supersedes"].as_str())
        .collect();
    let cents: i64 = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|c| !superseded.contains(&c["id"].as_str().unwrap_or_default()))
        .filter_map(|c| c["valuation"]["value"].as_str())
        .map(|v| v.replace('.', "").parse::<i64>().expect("cents"))
        .sum();
    assert_eq!(cents, 20_000);
}
