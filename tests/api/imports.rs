//! Contribution imports from CSV: all rows or none, every problem with its
//! line, column and code, and the same file imported twice recorded once.

use serde_json::{Value, json};

use reqwest::Method;

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    the_sample_timesheet_imports_once,
    a_file_with_problems_records_nothing_and_names_every_cell,
    malformed_files_are_refused_whole,
    an_identical_timesheet_is_imported_once_per_contributor,
    the_import_tells_no_registered_email_from_an_unknown_one,
    problem_lists_are_capped_and_say_how_many_were_left_off,
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
    let problem = json_of(json).await;
    assert_eq!(problem["code"], "unsupported_media_type");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("text/csv"),
        "the problem names what the import reads: {problem}"
    );
    assert!(contributions(app, &project).await.is_empty());
}

/// Sends `body` as a CSV import with `token`, and an `Idempotency-Key` if given.
async fn import_as(
    app: &TestApp,
    token: &str,
    project: &str,
    body: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .anonymous
        .post(app.url(&format!("/v1/projects/{project}/contributions/imports")))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("request")
}

async fn an_identical_timesheet_is_imported_once_per_contributor(app: &TestApp) {
    let project = project_with_contributors(app, false).await;
    let (alice, alice_token) = app.member(&project, "contributor").await;
    let (bruno, bruno_token) = app.member(&project, "contributor").await;
    // Rows without `agent`: each sender's own work, the same bytes for both.
    let timesheet = "kind,date,quantity,unit,description\ntime,2026-03-02,2.5,hour,calibration\n";
    let first = import_as(app, &alice_token, &project, timesheet, None).await;
    assert_eq!(first.status(), 201);
    let first = json_of(first).await;
    let second = import_as(app, &bruno_token, &project, timesheet, None).await;
    assert_eq!(second.status(), 201);
    assert!(
        second.headers().get("idempotency-replayed").is_none(),
        "the second contributor's import is theirs, not a replay of the first's"
    );
    let second = json_of(second).await;
    assert_ne!(second["contributions"], first["contributions"]);
    let again = import_as(app, &alice_token, &project, timesheet, None).await;
    assert_eq!(
        again.headers()["idempotency-replayed"],
        "true",
        "the same sender's file again is a replay"
    );
    assert_eq!(json_of(again).await, first);
    // An explicit key is the sender's too.
    let keyed = "kind,date,quantity,unit,description\ntime,2026-03-03,1,hour,soldering\n";
    for token in [&alice_token, &bruno_token] {
        let response = import_as(app, token, &project, keyed, Some("timesheet-march")).await;
        assert_eq!(response.status(), 201);
        assert!(response.headers().get("idempotency-replayed").is_none());
    }
    let recorded = contributions(app, &project).await;
    let mut agents: Vec<&str> = recorded
        .iter()
        .map(|c| c["agent"].as_str().expect("agent"))
        .collect();
    agents.sort_unstable();
    let mut expected = vec![
        alice.as_str(),
        alice.as_str(),
        bruno.as_str(),
        bruno.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(
        agents, expected,
        "each contributor's two rows are recorded, once"
    );
}

async fn the_import_tells_no_registered_email_from_an_unknown_one(app: &TestApp) {
    // Someone registered on the instance, but in no project of the caller's.
    let stranger = app
        .post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Dana", "email": "dana@example.org"}),
        )
        .await;
    assert_eq!(stranger.status(), 201);
    let stranger_id = json_of(stranger).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A project of the caller's own, with a rate so that rows would be valued.
    let owner = crate::helpers::insert_agent(&app.db, "Mallory", false);
    let owner_token = app.token_for(&owner);
    let created = app
        .send_as(
            Some(&owner_token),
            Method::POST,
            "/v1/projects",
            Some(&json!({"name": "Probe", "currency": "EUR"})),
        )
        .await;
    let project = json_of(created).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let rate = json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
                      "per": "hour", "method": "replacement_cost", "source": "test"});
    let rated = app
        .send_as(
            Some(&owner_token),
            Method::POST,
            &format!("/v1/projects/{project}/rates"),
            Some(&rate),
        )
        .await;
    assert_eq!(rated.status(), 201);
    let (_, contributor_token) = app.member(&project, "contributor").await;
    let probe = format!(
        "agent,kind,date,quantity,unit\n\
         dana@example.org,time,2026-03-02,1,hour\n\
         nobody@example.org,time,2026-03-02,1,hour\n\
         DANA@Example.org,time,2026-03-02,1,hour\n\
         {stranger_id},time,2026-03-02,1,hour\n\
         01900000-0000-7000-8000-000000000000,time,2026-03-02,1,hour\n"
    );
    for (token, who) in [
        (&owner_token, "an owner"),
        (&contributor_token, "a contributor"),
    ] {
        let problem = assert_problem(
            import_as(app, token, &project, &probe, None).await,
            422,
            "validation_failed",
            &format!("{who} probing emails"),
        )
        .await;
        let answers: Vec<(u64, &str, &str)> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["row"].as_u64().expect("row"),
                    e["code"].as_str().expect("code"),
                    e["message"].as_str().expect("message"),
                )
            })
            .collect();
        let rows: Vec<u64> = answers.iter().map(|(row, _, _)| *row).collect();
        assert_eq!(
            rows,
            [2, 3, 4, 5, 6],
            "{who}: every row is refused: {answers:?}"
        );
        let first = (answers[0].1, answers[0].2);
        assert_eq!(first.0, "unknown_agent");
        assert!(
            answers
                .iter()
                .all(|(_, code, message)| (*code, *message) == first),
            "{who}: a registered email, an unknown one and ids get the same answer: {answers:?}"
        );
    }
    assert!(contributions(app, &project).await.is_empty());

    // Emails are matched without regard to case among the members.
    let member = app
        .post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Eve", "email": "eve@example.org"}),
        )
        .await;
    let member_id = json_of(member).await["id"].as_str().expect("id").to_owned();
    let added = app
        .post(
            &format!("/v1/projects/{project}/members"),
            &json!({"agent": member_id, "role": "contributor"}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let response = import_as(
        app,
        &owner_token,
        &project,
        "agent,kind,date,quantity,unit\nEVE@Example.ORG,time,2026-03-02,1,hour\n",
        None,
    )
    .await;
    assert_eq!(response.status(), 201, "a member's email in any case");
    assert_eq!(
        contributions(app, &project).await[0]["agent"],
        member_id.as_str()
    );
}

async fn problem_lists_are_capped_and_say_how_many_were_left_off(app: &TestApp) {
    let project = project_with_contributors(app, true).await;
    // 5,000 unknown columns, one of them a name far longer than any column.
    let mut header = String::from("kind,date,quantity,unit");
    for i in 0..4_999 {
        header.push_str(&format!(",colour{i}"));
    }
    header.push_str(&format!(",{}", "w".repeat(10_000)));
    let response = import(app, &project, &format!("{header}\n")).await;
    let length = response.content_length();
    let problem = assert_problem(response, 422, "unknown_column", "5,000 unknown columns").await;
    let errors = problem["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1_000, "at most 1,000 problems are listed");
    assert_eq!(problem["errors_omitted"], 4_000, "the rest are counted");
    assert!(
        length.is_some_and(|bytes| bytes < 400_000),
        "the answer stays small: {length:?} bytes"
    );

    // So are the rows' problems.
    let mut rows = String::from("kind,date,quantity,unit\n");
    for _ in 0..3_000 {
        rows.push_str("snacks,2026-02-30,-1,hour\n");
    }
    let problem = assert_problem(
        import(app, &project, &rows).await,
        422,
        "invalid_kind",
        "3,000 bad rows",
    )
    .await;
    assert_eq!(problem["errors"].as_array().expect("errors").len(), 1_000);
    assert_eq!(
        problem["errors_omitted"], 2_000,
        "one problem a row (its kind), all counted"
    );
    // A list within the cap has no count.
    let few = json_of(import(app, &project, "kind,date,quantity,unit,colour\n").await).await;
    assert!(few.get("errors_omitted").is_none(), "{few}");
}
