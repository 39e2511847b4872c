//! In-kind counted once (#18 item 4): a contribution's value counts toward
//! at most one grant's match. Two concurrent grants no longer both claim
//! the same volunteer hours: each grant report lists only what is
//! allocated to it, and a separate total says what is allocated to none.
//! A contribution is allocated later, or as it is recorded.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    the_same_hours_never_count_toward_two_grants,
    hours_recorded_for_a_grant_count_toward_it_once,
);

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

async fn hours_recorded_for_a_grant_count_toward_it_once(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, reviewer) = app.member(&project, "treasurer").await;
    let (contributor_id, contributor) = app.member(&project, "contributor").await;
    let send = |token: &str, method: Method, path: String, body: Option<Value>| {
        let token = token.to_owned();
        async move {
            app.send_as(Some(&token), method, &path, body.as_ref())
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
    created(
        send(
            &treasurer,
            Method::POST,
            format!("{base}/rates"),
            Some(json!({"kind": "time",
        "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR", "per": "hour",
        "method": "replacement_cost", "source": "test"})),
        )
        .await,
    )
    .await;
    let mut grants = Vec::new();
    for reference in ["A-1", "B-1"] {
        let grant = created(send(&treasurer, Method::POST, format!("{base}/grants"), Some(json!({"funder": funder,
            "kind": "grant", "reference": reference, "amount": "100.00", "currency": "EUR",
            "received_on": "2026-01-15", "period_start": "2026-01-01", "period_end": "2026-06-30"}))).await).await;
        grants.push(grant["id"].as_str().expect("id").to_owned());
    }
    let hours = |grant: &str| {
        json!({"agent": contributor_id, "kind": "time", "date": "2026-03-02", "quantity": "6",
            "unit": "hour", "grant": grant})
    };
    let count = || async {
        json_of(
            send(
                &treasurer,
                Method::GET,
                format!("{base}/contributions"),
                None,
            )
            .await,
        )
        .await["items"]
            .as_array()
            .expect("items")
            .len()
    };

    // Recorded for grant A: allocated at once, pending review.
    let recorded = created(
        send(
            &treasurer,
            Method::POST,
            format!("{base}/contributions"),
            Some(hours(&grants[0])),
        )
        .await,
    )
    .await;
    assert_eq!(recorded["grant"], grants[0].as_str());
    assert_eq!(recorded["status"], "pending");
    let id = recorded["id"].as_str().expect("id").to_owned();

    // Nothing is written when the grant is unknown, or when a contributor
    // (who may record their own hours but allocates nothing) names one.
    assert_problem(
        send(
            &treasurer,
            Method::POST,
            format!("{base}/contributions"),
            Some(hours("01900000-0000-7000-8000-000000000000")),
        )
        .await,
        404,
        "grant_not_found",
        "an unknown grant",
    )
    .await;
    let mut own = hours(&grants[1]);
    own.as_object_mut().expect("object").remove("agent");
    assert_problem(
        send(
            &contributor,
            Method::POST,
            format!("{base}/contributions"),
            Some(own),
        )
        .await,
        403,
        "forbidden",
        "a contributor allocates",
    )
    .await;
    assert_eq!(count().await, 1, "no contribution without its allocation");

    // Counted once: allocating it again, to the other grant, is refused.
    let refused = assert_problem(
        send(
            &treasurer,
            Method::POST,
            format!("{base}/grants/{}/in-kind", grants[1]),
            Some(json!({"contribution": id})),
        )
        .await,
        409,
        "already_allocated",
        "a second allocation",
    )
    .await;
    assert!(
        refused["detail"].as_str().expect("detail").contains("A-1"),
        "{refused}"
    );
    let listed = |grant: String| {
        let path = format!("{base}/grants/{grant}/in-kind");
        let token = treasurer.clone();
        async move { json_of(app.send_as(Some(&token), Method::GET, &path, None).await).await }
    };
    let on_a = listed(grants[0].clone()).await;
    assert_eq!(on_a["items"].as_array().expect("items").len(), 1);
    assert_eq!(on_a["items"][0]["contribution"], id.as_str());
    assert_eq!(on_a["items"][0]["grant"], grants[0].as_str());
    let on_b = listed(grants[1].clone()).await;
    assert!(
        on_b["items"].as_array().expect("items").is_empty(),
        "{on_b}"
    );
    assert_problem(
        send(
            &treasurer,
            Method::GET,
            format!("{base}/grants/01900000-0000-7000-8000-000000000000/in-kind"),
            None,
        )
        .await,
        404,
        "grant_not_found",
        "the allocations of an unknown grant",
    )
    .await;

    // Approved, its value is in grant A's report, and in no other.
    created(
        send(
            &reviewer,
            Method::POST,
            format!("{base}/contributions/{id}/reviews"),
            Some(json!({"decision": "approve"})),
        )
        .await,
    )
    .await;
    let shown = json_of(
        send(
            &treasurer,
            Method::GET,
            format!("{base}/contributions/{id}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(shown["grant"], grants[0].as_str());
    for (grant, lines) in [(&grants[0], 1), (&grants[1], 0)] {
        let text = send(
            &treasurer,
            Method::GET,
            format!("{base}/reports/grants/{grant}.csv"),
            None,
        )
        .await
        .text()
        .await
        .expect("csv");
        let rows: Vec<Vec<String>> = csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("row").iter().map(str::to_owned).collect())
            .collect();
        let in_kind: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "in_kind").collect();
        assert_eq!(in_kind.len(), lines, "{grant}: {rows:?}");
        if lines == 1 {
            assert_eq!((&in_kind[0][2], in_kind[0][10].as_str()), (&id, "150.00"));
        }
        assert!(
            !rows.iter().any(|r| r[0] == "total_in_kind_unallocated"),
            "nothing is left unallocated: {rows:?}"
        );
    }
}
