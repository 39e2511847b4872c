//! Tamper evidence: verification recomputes the hash chain and every
//! balance; rows altered directly in the database (protective triggers
//! switched off by the test) are caught, through the API and the CLI.

use diesel::RunQueryDsl;
use serde_json::Value;

use commons_ledger::db::DbConnection;

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(
    a_clean_ledger_verifies,
    an_altered_description_breaks_the_hash,
    an_altered_amount_breaks_the_hash,
    an_altered_running_balance_is_found,
    an_altered_balance_is_found,
    an_altered_event_breaks_its_hash,
    a_removed_event_is_found,
    a_removed_last_event_leaves_a_transaction_unrecorded,
    a_transaction_given_another_poster_is_found,
    verification_while_transfers_commit_sees_one_ledger
);

/// A project with a few transfers and a reversal.
async fn ledger(app: &TestApp) -> String {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    for (from, to, amount) in [
        ("funder:a", "pool:general", "1000.00"),
        ("pool:general", "reserve", "250.50"),
        ("funder:a", "pool:general", "12.34"),
    ] {
        assert_eq!(
            app.transfer(&project, from, to, amount, "EUR")
                .await
                .status(),
            201
        );
    }
    project
}

async fn verification(app: &TestApp, project: &str) -> Value {
    let response = app
        .get(&format!("/v1/projects/{project}/ledger/verification"))
        .await;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

fn cli_verify(app: &TestApp) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_commons-ledger"))
        .arg("verify")
        .env("COMMONS_LEDGER_DATABASE_URL", &app.database_url)
        .env("COMMONS_LEDGER_LOG", "error")
        .output()
        .expect("run verify");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Runs `sql` with the protective triggers out of the way: dropped on
/// SQLite (the database is the test's own), bypassed on PostgreSQL.
fn tamper(app: &TestApp, triggers: &[&str], sql: &str) {
    let mut conn = app.db.connection().expect("connection");
    match &mut *conn {
        DbConnection::Sqlite(sqlite) => {
            for trigger in triggers {
                diesel::sql_query(format!("DROP TRIGGER {trigger}"))
                    .execute(sqlite)
                    .expect("drop trigger");
            }
            diesel::sql_query(sql).execute(sqlite).expect("tamper");
        }
        DbConnection::Postgresql(pg) => {
            diesel::sql_query("SET session_replication_role = replica")
                .execute(pg)
                .expect("bypass triggers");
            diesel::sql_query(sql).execute(pg).expect("tamper");
            diesel::sql_query("SET session_replication_role = origin")
                .execute(pg)
                .expect("restore triggers");
        }
    }
}

async fn a_clean_ledger_verifies(app: &TestApp) {
    let project = ledger(app).await;
    let report = verification(app, &project).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["transactions_checked"], 3);
    assert_eq!(report["postings_checked"], 3);
    assert_eq!(report["accounts_checked"], 3);
    assert_eq!(report["head_sequence"], 3);
    // The project, three accounts, three transfers.
    assert_eq!(report["events_checked"], 7);
    assert_eq!(report["events_head_sequence"], 7);
    assert!(report["discrepancy"].is_null());
    let (ok, out) = cli_verify(app);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("ok      {project}: 3 transactions")),
        "{out}"
    );
}

/// Verification reads one state of the ledger (one snapshot for all its
/// statements): while transfers commit beside it, the chain's head, the
/// balances, the postings and the audit trail it reads always agree. Read
/// statement by statement instead, a transfer committed between two of them
/// is seen by one and not the other, and the report shows a discrepancy.
async fn verification_while_transfers_commit_sees_one_ledger(app: &TestApp) {
    let project = ledger(app).await;
    let writing = std::sync::atomic::AtomicBool::new(true);
    let writer = |from: &'static str, to: &'static str| {
        let project = &project;
        async move {
            for _ in 0..25 {
                let response = app.transfer(project, from, to, "0.01", "EUR").await;
                assert_eq!(response.status(), 201);
            }
        }
    };
    let writers = async {
        tokio::join!(
            writer("funder:a", "pool:general"),
            writer("pool:general", "reserve"),
            writer("funder:a", "reserve"),
        );
        writing.store(false, std::sync::atomic::Ordering::SeqCst);
    };
    let checker = async {
        let mut checked = 0_u32;
        while writing.load(std::sync::atomic::Ordering::SeqCst) || checked < 3 {
            let report = verification(app, &project).await;
            assert_eq!(report["ok"], true, "{report}");
            checked += 1;
        }
        checked
    };
    let ((), checked) = tokio::join!(writers, checker);
    let report = verification(app, &project).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["transactions_checked"], 3 + 75);
    assert!(checked >= 3, "verified {checked} times while writing");
}

async fn expect_discrepancy(app: &TestApp, project: &str, code: &str, sequence: Option<i64>) {
    let report = verification(app, project).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["discrepancy"]["code"], code, "{report}");
    if let Some(sequence) = sequence {
        assert_eq!(report["discrepancy"]["sequence"], sequence, "{report}");
    }
    let (ok, out) = cli_verify(app);
    assert!(!ok, "the CLI fails: {out}");
    assert!(out.contains(&format!("FAILED  {project}: {code}")), "{out}");
}

async fn an_altered_description_breaks_the_hash(app: &TestApp) {
    let project = ledger(app).await;
    tamper(
        app,
        &["transactions_are_append_only"],
        &format!(
            "UPDATE transactions SET description = 'a quieter story' WHERE project_id = '{project}' AND sequence = 2"
        ),
    );
    expect_discrepancy(app, &project, "hash_mismatch", Some(2)).await;
}

async fn an_altered_amount_breaks_the_hash(app: &TestApp) {
    let project = ledger(app).await;
    tamper(
        app,
        &["postings_are_append_only"],
        &format!(
            "UPDATE postings SET amount = amount + 1 WHERE project_id = '{project}' AND transaction_id = \
             (SELECT id FROM transactions WHERE project_id = '{project}' AND sequence = 1)"
        ),
    );
    expect_discrepancy(app, &project, "hash_mismatch", Some(1)).await;
}

async fn an_altered_running_balance_is_found(app: &TestApp) {
    let project = ledger(app).await;
    tamper(
        app,
        &["postings_are_append_only"],
        &format!(
            "UPDATE postings SET to_balance_after = to_balance_after + 1 WHERE project_id = '{project}' \
             AND transaction_id = (SELECT id FROM transactions WHERE project_id = '{project}' AND sequence = 3)"
        ),
    );
    expect_discrepancy(app, &project, "running_balance_mismatch", Some(3)).await;
}

async fn an_altered_balance_is_found(app: &TestApp) {
    let project = ledger(app).await;
    tamper(
        app,
        &["accounts_balance_moves_only_by_postings"],
        &format!(
            "UPDATE accounts SET balance = balance + 100 WHERE project_id = '{project}' AND name = 'reserve'"
        ),
    );
    let report = verification(app, &project).await;
    assert_eq!(report["discrepancy"]["account"], "reserve", "{report}");
    expect_discrepancy(app, &project, "balance_mismatch", None).await;
}

const EVENT_TRIGGERS: [&str; 2] = ["events_are_immutable", "events_are_kept"];

async fn an_altered_event_breaks_its_hash(app: &TestApp) {
    let project = ledger(app).await;
    tamper(
        app,
        &EVENT_TRIGGERS,
        &format!(
            "UPDATE events SET state_after = '{{}}' WHERE project_id = '{project}' AND sequence = 3"
        ),
    );
    expect_discrepancy(app, &project, "event_hash_mismatch", Some(3)).await;
}

async fn a_removed_event_is_found(app: &TestApp) {
    let project = ledger(app).await;
    tamper(
        app,
        &EVENT_TRIGGERS,
        &format!("DELETE FROM events WHERE project_id = '{project}' AND sequence = 2"),
    );
    expect_discrepancy(app, &project, "event_sequence_gap", Some(3)).await;
}

async fn a_removed_last_event_leaves_a_transaction_unrecorded(app: &TestApp) {
    let project = ledger(app).await;
    // The chain itself stays whole: only the count of what it names tells.
    tamper(
        app,
        &EVENT_TRIGGERS,
        &format!("DELETE FROM events WHERE project_id = '{project}' AND sequence = 7"),
    );
    expect_discrepancy(app, &project, "unrecorded_transaction", None).await;
}

async fn a_transaction_given_another_poster_is_found(app: &TestApp) {
    let project = ledger(app).await;
    let (other, _) = app.member(&project, "treasurer").await;
    tamper(
        app,
        &["transactions_are_append_only"],
        &format!(
            "UPDATE transactions SET recorded_by = '{other}' WHERE project_id = '{project}' AND sequence = 2"
        ),
    );
    expect_discrepancy(app, &project, "hash_mismatch", Some(2)).await;
}
