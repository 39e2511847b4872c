//! A distribution draft sums its contributions in the database and records
//! which it counted in `distribution_selected`: the approved, valued
//! contributions of the period, a correction instead of what it replaces.

use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::{Value, json};

use commons_ledger::db::{self, DbConnection, StorageError};

use crate::helpers::{TestApp, created};
use crate::on_both_backends;

on_both_backends!(a_draft_records_exactly_the_contributions_it_counted);

async fn contribute(
    app: &TestApp,
    (base, token): (&str, &str),
    body: Value,
    decision: Option<&str>,
) -> String {
    let contribution = created(
        app.send_as(
            Some(token),
            Method::POST,
            &format!("{base}/contributions"),
            Some(&body),
        )
        .await,
    )
    .await;
    let id = contribution["id"].as_str().expect("id").to_owned();
    if let Some(decision) = decision {
        let mut review = json!({"decision": decision});
        if decision == "reject" {
            review["reason"] = json!("not project work");
        }
        created(
            app.post(&format!("{base}/contributions/{id}/reviews"), &review)
                .await,
        )
        .await;
    }
    id
}

fn time(date: &str, hours: &str) -> Value {
    json!({"kind": "time", "date": date, "quantity": hours, "unit": "hour"})
}

/// The number `sql` answers in its column `n`.
fn count(conn: &mut DbConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), conn)
        .expect(sql)
        .n
}

async fn a_draft_records_exactly_the_contributions_it_counted(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (alice, alice_token) = app.member(&project, "contributor").await;
    let (bob, bob_token) = app.member(&project, "contributor").await;
    created(
        app.post(
            &format!("{base}/rates"),
            &json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00",
        "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"}),
        )
        .await,
    )
    .await;
    let alice_calls = (base.as_str(), alice_token.as_str());
    let counted = contribute(app, alice_calls, time("2026-03-02", "4"), Some("approve")).await;
    let replaced = contribute(app, alice_calls, time("2026-03-05", "2"), Some("approve")).await;
    let mut correction = time("2026-03-05", "3");
    correction["supersedes"] = json!(replaced);
    let corrected = contribute(app, alice_calls, correction, Some("approve")).await;
    contribute(app, alice_calls, time("2026-03-06", "7"), None).await;
    contribute(app, alice_calls, time("2026-03-07", "9"), Some("reject")).await;
    let april = contribute(app, alice_calls, time("2026-04-02", "5"), Some("approve")).await;
    let bobs = contribute(
        app,
        (&base, &bob_token),
        time("2026-03-31", "1"),
        Some("approve"),
    )
    .await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let funded = app
        .transfer(&project, "funder:a", "pool:general", "1000.00", "EUR")
        .await;
    assert_eq!(funded.status(), 201);
    created(
        app.post(
            &format!("{base}/rule-sets"),
            &json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
                "to": {"type": "pro_rata", "weights": {"time": "1"}}}], "residue": {"type": "pool"}}),
        )
        .await,
    )
    .await;
    let draft = created(
        app.post(
            &format!("{base}/distributions"),
            &json!({"rule_set_version": 1,
        "amount": "200.00", "period_from": "2026-03-01", "period_to": "2026-03-31"}),
        )
        .await,
    )
    .await;
    let lines = draft["lines"].as_array().expect("lines");
    let line = |agent: &str| {
        lines
            .iter()
            .find(|line| line["agent"] == agent)
            .unwrap_or_else(|| panic!("a line for {agent}: {draft}"))
    };
    // 4 h and the corrected 3 h at 25.00; Bob's hour.
    assert_eq!(line(&alice)["amount"], "175.00", "{draft}");
    let why = line(&alice)["explanation"].as_str().expect("explanation");
    assert!(
        why.starts_with("175.00 approved value (time 175.00) in 2026-03-01..2026-03-31"),
        "{why}"
    );
    assert_eq!(line(&bob)["amount"], "25.00", "{draft}");

    let id = draft["id"].as_str().expect("id").to_owned();
    let (project_id, run_id) = (project.clone(), id.clone());
    let (run, selection) = app
        .db
        .read(move |conn| -> Result<_, StorageError> {
            let run = db::distributions::run(conn, &project_id, &run_id)?.expect("the run");
            let selection = db::distributions::selection(conn, &run)?;
            Ok((run, selection))
        })
        .expect("read the run");
    assert_eq!(run.inputs.version, 4);
    let mut older_selection = vec![counted.clone(), bobs.clone()];
    older_selection.sort();
    let mut expected = vec![counted, corrected, bobs];
    expected.sort();
    assert_eq!(selection, Some(expected), "the counted contributions");

    // The selection is kept as recorded: on PostgreSQL its numbers are an
    // array in its row, on SQLite a row each.
    let mut conn = app.db.connection().expect("connection");
    let conn: &mut DbConnection = &mut conn;
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let stored = if postgres {
        "SELECT cardinality(s.contribution_seqs)::BIGINT AS n FROM distribution_selections s \
         WHERE s.distribution_id = '{id}' \
         AND NOT EXISTS (SELECT 1 FROM distribution_selected x WHERE x.selection_seq = s.seq)"
    } else {
        "SELECT COUNT(*) AS n FROM distribution_selected WHERE selection_seq = \
         (SELECT seq FROM distribution_selections WHERE distribution_id = '{id}')"
    };
    assert_eq!(count(conn, &stored.replace("{id}", &id)), 3, "{stored}");
    let changes = if postgres {
        [
            "DELETE FROM distribution_selections WHERE distribution_id = '{id}'",
            "UPDATE distribution_selections SET contribution_seqs = contribution_seqs[1:2] \
             WHERE distribution_id = '{id}'",
            "UPDATE distribution_selections SET contribution_seqs = NULL",
        ]
    } else {
        [
            "DELETE FROM distribution_selected WHERE selection_seq = \
             (SELECT seq FROM distribution_selections WHERE distribution_id = '{id}')",
            "DELETE FROM distribution_selections WHERE distribution_id = '{id}'",
            "UPDATE distribution_selected SET contribution_seq = contribution_seq + 1000",
        ]
    };
    for sql in changes {
        let sql = sql.replace("{id}", &id);
        let refused = conn.batch_execute(&sql).expect_err(&sql);
        assert!(
            refused
                .to_string()
                .contains("a run's selection is never changed"),
            "{sql}: {refused}"
        );
    }
    // Nothing was taken out: the run still reads its three contributions.
    let (project_id, run_id) = (project.clone(), id.clone());
    let again = app
        .db
        .read(move |conn| -> Result<_, StorageError> {
            let run = db::distributions::run(conn, &project_id, &run_id)?.expect("the run");
            Ok(db::distributions::selection(conn, &run)?)
        })
        .expect("read the run");
    assert_eq!(again.map(|ids| ids.len()), Some(3));

    // A run the release before drafted (inputs of version 3) has its
    // selection in distribution_contributions, by ids, and reads it there.
    let older = "01900000-0000-7000-8000-00000000a003";
    conn.batch_execute(&format!(
        "{}; INSERT INTO distribution_contributions (distribution_id, contribution_id) \
         VALUES ('{older}', '{}'), ('{older}', '{}')",
        copy_run(
            &id,
            older,
            "REPLACE(inputs, '\"version\":4', '\"version\":3')"
        ),
        older_selection[1],
        older_selection[0],
    ))
    .expect("a run as the release before stored it");
    assert_eq!(
        stored_run(app, &project, older),
        (3, Some(older_selection.clone())),
        "read from distribution_contributions"
    );

    // A run of version 4 whose selection has rows in distribution_selected,
    // as every one had before PostgreSQL kept the numbers in an array, reads
    // them there on both backends.
    let rows = "01900000-0000-7000-8000-00000000a004";
    conn.batch_execute(&format!(
        "{}; INSERT INTO distribution_selections (distribution_id) VALUES ('{rows}'); \
         INSERT INTO distribution_selected (selection_seq, contribution_seq) \
         SELECT s.seq, c.seq FROM distribution_selections s, contributions c \
         WHERE s.distribution_id = '{rows}' AND c.id IN ('{}', '{}') ORDER BY c.seq",
        copy_run(&id, rows, "inputs"),
        older_selection[0],
        older_selection[1],
    ))
    .expect("a run as the release before stored it");
    assert_eq!(
        stored_run(app, &project, rows),
        (4, Some(older_selection)),
        "read from distribution_selected"
    );

    // Verification checks every selection against what it names.
    let verified = verification(app, &project).await;
    assert_eq!(verified["ok"], true, "{verified}");
    if postgres {
        // A number named twice in the array (written with the guards
        // bypassed), then put back as it was.
        let array = |change: &str| {
            format!(
                "SET session_replication_role = replica; \
                 UPDATE distribution_selections SET contribution_seqs = {change} \
                 WHERE distribution_id = '{id}'; SET session_replication_role = origin"
            )
        };
        conn.batch_execute(&array("contribution_seqs || contribution_seqs[1]"))
            .expect("a number named twice");
        expect_selection_mismatch(app, &project, &id, ("3", "4")).await;
        conn.batch_execute(&array("contribution_seqs[1:3]"))
            .expect("put back");
        let verified = verification(app, &project).await;
        assert_eq!(verified["ok"], true, "{verified}");
    }
    // A row added to the selection, which the database allows (selections
    // only grow), naming an approved contribution outside the run's period.
    conn.batch_execute(&format!(
        "INSERT INTO distribution_selected (selection_seq, contribution_seq) \
         SELECT s.seq, c.seq FROM distribution_selections s, contributions c \
         WHERE s.distribution_id = '{id}' AND c.id = '{april}'"
    ))
    .expect("a row added to the selection");
    expect_selection_mismatch(app, &project, &id, ("3", "4")).await;
}

/// The statement that stores a copy of run `id` as run `copy`, its inputs
/// given by the SQL expression `inputs` (over the run's `inputs`).
fn copy_run(id: &str, copy: &str, inputs: &str) -> String {
    format!(
        "INSERT INTO distributions (id, project_id, rule_set_version, pool_account, currency, \
         amount, period_from, period_to, status, inputs, plan, residue, created_by, created_at) \
         SELECT '{copy}', project_id, rule_set_version, pool_account, currency, amount, \
         period_from, period_to, status, {inputs}, plan, residue, created_by, created_at \
         FROM distributions WHERE id = '{id}'"
    )
}

/// The inputs version of run `id` as stored, and the selection read for it.
fn stored_run(app: &TestApp, project: &str, id: &str) -> (u32, Option<Vec<String>>) {
    let (project, id) = (project.to_owned(), id.to_owned());
    app.db
        .read(move |conn| -> Result<_, StorageError> {
            let run = db::distributions::run(conn, &project, &id)?.expect("the run");
            Ok((
                run.inputs.version,
                db::distributions::selection(conn, &run)?,
            ))
        })
        .expect("read the run")
}

async fn verification(app: &TestApp, project: &str) -> Value {
    let response = app
        .get(&format!("/v1/projects/{project}/ledger/verification"))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("a verification report")
}

/// Verification finds the selection of run `id` naming other than
/// `expected.0` different contributions it may count: `expected.1` numbers.
async fn expect_selection_mismatch(app: &TestApp, project: &str, id: &str, expected: (&str, &str)) {
    let report = verification(app, project).await;
    assert_eq!(report["ok"], false, "{report}");
    let discrepancy = &report["discrepancy"];
    assert_eq!(discrepancy["code"], "selection_mismatch", "{report}");
    assert_eq!(
        (&discrepancy["expected"], &discrepancy["found"]),
        (&json!(expected.0), &json!(expected.1)),
        "{report}"
    );
    assert!(
        discrepancy["message"]
            .as_str()
            .expect("message")
            .contains(id),
        "{report}"
    );
}
