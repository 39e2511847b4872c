//! In-kind counted once (#18 item 4): a contribution's value counts toward
//! at most one grant's match. Two concurrent grants no longer both claim
//! the same volunteer hours: each grant report lists only what is
//! allocated to it, and a separate total says what is allocated to none.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(the_same_hours_never_count_toward_two_grants);

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn the_same_hours_never_count_toward_two_grants(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    let post = |token: &str, path: String, body: Value| {
        let token = token.to_owned();
        async move {
            app.send_as(Some(&token), Method::POST, &path, Some(&body))
                .await
        }
    };
    let funder = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation"}),
        )
        .await,
    )
    .await["id"]
        .clone();
    created(post(&treasurer, format!("{base}/rates"), json!({"kind": "time", "effective_from": "2026-01-01",
        "rate": "25.00", "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"})).await).await;
    let mut grants = Vec::new();
    for reference in ["A-1", "B-1"] {
        let grant = created(post(&treasurer, format!("{base}/grants"), json!({"funder": funder, "kind": "grant",
            "reference": reference, "amount": "100.00", "currency": "EUR", "received_on": "2026-01-15",
            "period_start": "2026-01-01", "period_end": "2026-06-30"})).await).await;
        grants.push(grant["id"].as_str().expect("id").to_owned());
    }
    let mut hours = Vec::new();
    for (day, quantity) in [
        ("2026-03-02", "4"),
        ("2026-03-03", "2"),
        ("2026-03-04", "1"),
    ] {
        let contribution = created(
            post(
                &contributor,
                format!("{base}/contributions"),
                json!({"kind": "time", "date": day, "quantity": quantity, "unit": "hour"}),
            )
            .await,
        )
        .await;
        let id = contribution["id"].as_str().expect("id").to_owned();
        created(
            post(
                &treasurer,
                format!("{base}/contributions/{id}/reviews"),
                json!({"decision": "approve"}),
            )
            .await,
        )
        .await;
        hours.push(id);
    }
    let allocate = |grant: &str, contribution: &str| {
        post(
            &treasurer,
            format!("{base}/grants/{grant}/in-kind"),
            json!({"contribution": contribution}),
        )
    };
    let allocation = created(allocate(&grants[0], &hours[0]).await).await;
    assert_eq!(allocation["grant"], grants[0].as_str());
    created(allocate(&grants[1], &hours[1]).await).await;
    // The same hours toward the other grant, or again: refused.
    for grant in [&grants[1], &grants[0]] {
        let refused = assert_problem(
            allocate(grant, &hours[0]).await,
            409,
            "already_allocated",
            "counted once",
        )
        .await;
        assert!(
            refused["detail"].as_str().expect("detail").contains("A-1"),
            "{refused}"
        );
    }
    assert_problem(
        post(
            &contributor,
            format!("{base}/grants/{}/in-kind", grants[0]),
            json!({"contribution": hours[2]}),
        )
        .await,
        403,
        "forbidden",
        "a contributor allocates",
    )
    .await;
    assert_problem(
        allocate(&grants[0], "01900000-0000-7000-8000-000000000000").await,
        404,
        "contribution_not_found",
        "unknown",
    )
    .await;

    let report = |grant: &str| {
        let path = format!("{base}/reports/grants/{grant}.csv");
        let token = treasurer.clone();
        async move {
            let text = app
                .send_as(Some(&token), Method::GET, &path, None)
                .await
                .text()
                .await
                .expect("csv");
            let rows: Vec<Vec<String>> = csv::Reader::from_reader(text.as_bytes())
                .records()
                .map(|r| r.expect("row").iter().map(str::to_owned).collect())
                .collect();
            rows
        }
    };
    for (grant, own, listed) in [
        (&grants[0], &hours[0], "100.00"),
        (&grants[1], &hours[1], "50.00"),
    ] {
        let rows = report(grant).await;
        let in_kind: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "in_kind").collect();
        assert_eq!(in_kind.len(), 1, "only its own allocation: {rows:?}");
        assert_eq!(&in_kind[0][2], own);
        let total = rows
            .iter()
            .find(|r| r[0] == "total_in_kind")
            .expect("total");
        assert_eq!(total[10], listed);
        let unallocated = rows
            .iter()
            .find(|r| r[0] == "total_in_kind_unallocated")
            .expect("unallocated");
        assert_eq!(unallocated[10], "25.00", "the hour allocated to no grant");
    }

    // Closed, a period's contributions are no longer allocated.
    created(
        post(
            &treasurer,
            format!("{base}/closings"),
            json!({"through": "2026-03-31"}),
        )
        .await,
    )
    .await;
    assert_problem(
        allocate(&grants[0], &hours[2]).await,
        422,
        "period_closed",
        "in a closed period",
    )
    .await;
}
