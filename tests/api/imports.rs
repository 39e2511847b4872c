//! Contribution imports from CSV: all rows or none, every problem with its
//! line, column and code, and the same file imported twice recorded once.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(
    the_sample_timesheet_imports_once,
    a_file_with_problems_records_nothing_and_names_every_cell,
    malformed_files_are_refused_whole
);

const SAMPLE: &str = include_str!("../../fixtures/imports/timesheet.csv");

async fn import(app: &TestApp, project: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/projects/{project}/contributions/imports")))
        .header("Content-Type", "text/csv")
        .body(body.to_owned())
        .send()
        .await
        .expect("request")
}

/// A project with the story's rates and the sample's three contributors.
async fn project_with_contributors(app: &TestApp, with_data_rate: bool) -> String {
    let project = app.create_project("EUR").await;
    let mut rates = vec![("time", "hour", "25.00"), ("equipment", "hour", "3.00")];
    if with_data_rate {
        rates.push(("data", "dataset", "500.00"));
    }
    for (kind, per, rate) in rates {
        add_rate(app, &project, kind, per, rate).await;
    }
    for name in ["alice", "bruno", "chloe"] {
        let agent = json_of(
            app.post(
                "/v1/agents",
                &json!({"kind": "person", "name": name, "email": format!("{name}@openair-lyon.org")}),
            )
            .await,
        )
        .await;
        let added = app
            .post(
                &format!("/v1/projects/{project}/members"),
                &json!({"agent": agent["id"], "role": "contributor"}),
            )
            .await;
        assert_eq!(added.status(), 201);
    }
    project
}

async fn add_rate(app: &TestApp, project: &str, kind: &str, per: &str, rate: &str) {
    let response = app
        .post(
            &format!("/v1/projects/{project}/rates"),
            &json!({"kind": kind, "effective_from": "2026-01-01", "rate": rate, "currency": "EUR",
                    "per": per, "method": "replacement_cost", "source": "test"}),
        )
        .await;
    assert_eq!(response.status(), 201);
}

async fn contributions(app: &TestApp, project: &str) -> Vec<Value> {
    json_of(
        app.get(&format!("/v1/projects/{project}/contributions"))
            .await,
    )
    .await["items"]
        .as_array()
        .expect("items")
        .clone()
}

async fn the_sample_timesheet_imports_once(app: &TestApp) {
    let project = project_with_contributors(app, true).await;
    let response = import(app, &project, SAMPLE).await;
    assert_eq!(response.status(), 201);
    let first = json_of(response).await;
    assert_eq!(first["imported"], 4);
    let recorded = contributions(app, &project).await;
    let values: Vec<&str> = recorded
        .iter()
        .map(|c| c["valuation"]["value"].as_str().expect("value"))
        .collect();
    assert_eq!(values, ["312.50", "75.00", "120.00", "500.00"]);
    assert!(recorded.iter().all(|c| c["status"] == "pending"));
    assert_eq!(recorded[3]["dataset"]["licence"], "CC-BY-4.0");
    assert_eq!(
        recorded[1]["description"], "workshop, evening session",
        "quoted commas survive"
    );
    let ids: Vec<&Value> = recorded.iter().map(|c| &c["id"]).collect();
    assert_eq!(
        first["contributions"]
            .as_array()
            .expect("ids")
            .iter()
            .collect::<Vec<_>>(),
        ids
    );

    // The same file again: the same answer, nothing more recorded.
    let again = import(app, &project, SAMPLE).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    assert_eq!(json_of(again).await, first);
    assert_eq!(contributions(app, &project).await.len(), 4);
}

async fn a_file_with_problems_records_nothing_and_names_every_cell(app: &TestApp) {
    // No data rate yet: the sample's last row cannot be valued.
    let project = project_with_contributors(app, false).await;
    let response = import(app, &project, SAMPLE).await;
    assert_eq!(response.status(), 422);
    let problem = json_of(response).await;
    assert_eq!(
        problem["errors"],
        json!([{"field": "rows[5].kind", "code": "no_applicable_rate", "row": 5, "column": "kind",
                "message": problem["errors"][0]["message"]}])
    );
    assert!(
        contributions(app, &project).await.is_empty(),
        "all rows or none"
    );
    // The refusal is not remembered: once the rate exists, the same file goes in.
    add_rate(app, &project, "data", "dataset", "500.00").await;
    let response = import(app, &project, SAMPLE).await;
    assert_eq!(response.status(), 201);
    assert_eq!(contributions(app, &project).await.len(), 4);

    let open = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .json(&json!({"licence_policy": "open"}))
        .send()
        .await
        .expect("request");
    assert_eq!(open.status(), 200);
    let broken = "agent,kind,date,quantity,unit,dataset_title,dataset_licence\n\
                  alice@openair-lyon.org,time,2026-03-02,1.5,hour,,\n\
                  nobody@example.org,time,2026-03-02,1,hour,,\n\
                  alice@openair-lyon.org,time,2026-02-30,-1,hour,,\n\
                  chloe@openair-lyon.org,data,2026-03-10,1,dataset,readings,CC-BY-NC-4.0\n\
                  bruno@openair-lyon.org,snacks,2026-03-10,1,hour,,\n";
    let response = import(app, &project, broken).await;
    assert_eq!(response.status(), 422);
    let problem = json_of(response).await;
    let cells: Vec<(u64, String, String)> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().expect("row"),
                e["column"].as_str().expect("column").to_owned(),
                e["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    let expected = [
        (3, "agent", "unknown_agent"),
        (4, "date", "invalid_date"),
        (4, "quantity", "invalid_quantity"),
        (5, "dataset_licence", "licence_not_open"),
        (6, "kind", "invalid_kind"),
    ];
    for (row, column, code) in expected {
        assert!(
            cells.contains(&(row, column.to_owned(), code.to_owned())),
            "{row} {column} {code} in {cells:?}"
        );
    }
    assert_eq!(
        contributions(app, &project).await.len(),
        4,
        "nothing of the refused file was kept"
    );
}

async fn malformed_files_are_refused_whole(app: &TestApp) {
    let project = project_with_contributors(app, true).await;
    let unknown = import(app, &project, "kind,date,quantity,unit,colour\n").await;
    assert_eq!(unknown.status(), 422);
    let problem = json_of(unknown).await;
    assert_eq!(problem["errors"][0]["code"], "unknown_column");
    assert_eq!(problem["errors"][0]["column"], "colour");

    let missing =
        json_of(import(app, &project, "kind,date,unit\ntime,2026-03-02,hour\n").await).await;
    assert_eq!(missing["errors"][0]["code"], "missing_column");
    assert_eq!(missing["errors"][0]["column"], "quantity");

    let empty = json_of(import(app, &project, "kind,date,quantity,unit\n").await).await;
    assert_eq!(empty["errors"][0]["code"], "empty_import");

    let ragged = json_of(
        import(
            app,
            &project,
            "kind,date,quantity,unit\ntime,2026-03-02,1,hour\ntime,2026-03-02\n",
        )
        .await,
    )
    .await;
    assert_eq!(ragged["errors"][0]["code"], "malformed_csv");
    assert_eq!(ragged["errors"][0]["row"], 3);

    let mut long = String::from("kind,date,quantity,unit\n");
    for _ in 0..10_001 {
        long.push_str("time,2026-03-02,1,hour\n");
    }
    let too_long = json_of(import(app, &project, &long).await).await;
    let codes: Vec<&str> = too_long["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["too_many_rows"]);

    let json = app
        .post(
            &format!("/v1/projects/{project}/contributions/imports"),
            &json!({"kind": "time"}),
        )
        .await;
    assert_eq!(json.status(), 415);
    assert!(contributions(app, &project).await.is_empty());
}
