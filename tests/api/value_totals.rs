//! The running value totals kept beside each account's balance
//! (distributions earned, payouts received): moved by distributions,
//! payouts and the reversals of either, read by the value account in one
//! row, re-derived by verification, and backfilled by their migration.

use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::{Value, json};

use commons_ledger::db::DbConnection;

use crate::helpers::{TestApp, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    value_totals_follow_distributions_payouts_and_reversals,
    a_tampered_value_total_is_found,
    the_migration_backfills_the_totals_from_the_postings
);

/// A project whose one contributor earned 100.00 EUR by an executed
/// distribution run: the project, the contributor's id and the transaction.
struct Earned {
    project: String,
    contributor: String,
    distribution: String,
}

async fn earned(app: &TestApp) -> Earned {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, second) = app.member(&project, "treasurer").await;
    let (contributor, token) = app.member(&project, "contributor").await;
    created(
        app.post(
            &format!("{base}/rates"),
            &json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00",
        "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"}),
        )
        .await,
    )
    .await;
    let contribution = created(
        app.send_as(
            Some(&token),
            Method::POST,
            &format!("{base}/contributions"),
            Some(&json!({"kind": "time", "date": "2026-03-02", "quantity": "4", "unit": "hour"})),
        )
        .await,
    )
    .await;
    let id = contribution["id"].as_str().expect("id");
    created(
        app.post(
            &format!("{base}/contributions/{id}/reviews"),
            &json!({"decision": "approve"}),
        )
        .await,
    )
    .await;
    let funder = created(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await,
    )
    .await;
    let grant = created(
        app.post(
            &format!("{base}/grants"),
            &json!({"funder": funder["id"], "kind": "grant",
        "reference": "G-1", "amount": "1000.00", "currency": "EUR", "received_on": "2026-02-01",
        "restriction": "sensors", "distributable": true}),
        )
        .await,
    )
    .await;
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
            &json!({"rule_set_version": 1, "grant": grant["id"],
        "amount": "100.00", "period_from": "2026-03-01", "period_to": "2026-03-31"}),
        )
        .await,
    )
    .await;
    let run = format!("{base}/distributions/{}", draft["id"].as_str().expect("id"));
    created(
        app.send_as(
            Some(&second),
            Method::POST,
            &format!("{run}/approvals"),
            Some(&json!({})),
        )
        .await,
    )
    .await;
    let executed = created(
        app.post(
            &format!("{run}/execution"),
            &json!({"effective_date": "2026-03-31"}),
        )
        .await,
    )
    .await;
    Earned {
        project,
        contributor,
        distribution: executed["transaction"]
            .as_str()
            .expect("transaction")
            .to_owned(),
    }
}

/// The value account's money line: (earned, received, owed).
async fn money(app: &TestApp, e: &Earned) -> (String, String, String) {
    let account = json_of(
        app.get(&format!(
            "/v1/projects/{}/members/{}/value-account",
            e.project, e.contributor
        ))
        .await,
    )
    .await;
    let money = &account["money"][0];
    let text = |field: &str| money[field].as_str().expect(field).to_owned();
    (
        text("distributions_earned"),
        text("payouts_received"),
        text("balance_owed"),
    )
}

async fn verification(app: &TestApp, project: &str) -> Value {
    let response = app
        .get(&format!("/v1/projects/{project}/ledger/verification"))
        .await;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

async fn assert_verified(app: &TestApp, project: &str) {
    let report = verification(app, project).await;
    assert_eq!(report["ok"], true, "{report}");
}

async fn payout(app: &TestApp, e: &Earned, amount: &str) -> String {
    let payout = created(
        app.post(
            &format!("/v1/projects/{}/payouts", e.project),
            &json!({"agent": e.contributor, "amount": amount, "currency": "EUR",
                "method": "bank-transfer", "reference": "SEPA", "date": "2026-04-02"}),
        )
        .await,
    )
    .await;
    payout["transaction"]
        .as_str()
        .expect("transaction")
        .to_owned()
}

async fn reverse(app: &TestApp, project: &str, transaction: &str) {
    created(
        app.post(
            &format!("/v1/projects/{project}/transactions/{transaction}/reversal"),
            &json!({}),
        )
        .await,
    )
    .await;
}

fn owned(figures: [&str; 3]) -> (String, String, String) {
    let [a, b, c] = figures.map(str::to_owned);
    (a, b, c)
}

async fn value_totals_follow_distributions_payouts_and_reversals(app: &TestApp) {
    let e = earned(app).await;
    assert_eq!(money(app, &e).await, owned(["100.00", "0.00", "100.00"]));
    assert_verified(app, &e.project).await;

    let first = payout(app, &e, "30.00").await;
    assert_eq!(money(app, &e).await, owned(["100.00", "30.00", "70.00"]));
    reverse(app, &e.project, &first).await;
    assert_eq!(
        money(app, &e).await,
        owned(["100.00", "0.00", "100.00"]),
        "a reversed payout is received back"
    );
    assert_verified(app, &e.project).await;

    reverse(app, &e.project, &e.distribution).await;
    assert_eq!(
        money(app, &e).await,
        owned(["0.00", "0.00", "0.00"]),
        "a reversed distribution is earned back"
    );
    assert_verified(app, &e.project).await;
}

/// Runs `sql` on the test's database, as a bad restore or a hand edit would.
fn raw(app: &TestApp, sql: &str) {
    let mut conn = app.db.connection().expect("connection");
    let conn: &mut DbConnection = &mut conn;
    conn.batch_execute(sql).expect("raw SQL");
}

async fn a_tampered_value_total_is_found(app: &TestApp) {
    let e = earned(app).await;
    payout(app, &e, "30.00").await;
    assert_verified(app, &e.project).await;
    let name = format!("contributor:{}", e.contributor);
    for (column, expected, found) in [
        ("payouts_received", "3000", "3001"),
        ("distributions_earned", "10000", "10001"),
    ] {
        raw(
            app,
            &format!("UPDATE accounts SET {column} = {column} + 1 WHERE name = '{name}'"),
        );
        let report = verification(app, &e.project).await;
        assert_eq!(report["ok"], false, "{report}");
        let discrepancy = &report["discrepancy"];
        assert_eq!(discrepancy["code"], "value_total_mismatch", "{report}");
        assert_eq!(discrepancy["account"], name.as_str(), "{report}");
        assert_eq!(
            (&discrepancy["expected"], &discrepancy["found"]),
            (&json!(expected), &json!(found)),
            "{report}"
        );
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_commons-ledger"))
            .arg("verify")
            .env("COMMONS_LEDGER_DATABASE_URL", &app.database_url)
            .env("COMMONS_LEDGER_LOG", "error")
            .output()
            .expect("run verify");
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{out}");
        assert!(
            out.contains(&format!("FAILED  {}: value_total_mismatch", e.project)),
            "{out}"
        );
        raw(
            app,
            &format!("UPDATE accounts SET {column} = {column} - 1 WHERE name = '{name}'"),
        );
        assert_verified(app, &e.project).await;
    }
    // The pool the run paid from moved -100.00 of distributions.
    raw(
        app,
        &format!(
            "UPDATE accounts SET distributions_earned = 7 WHERE project_id = '{}' AND name = 'pool:grant:G-1'",
            e.project
        ),
    );
    let report = verification(app, &e.project).await;
    let discrepancy = &report["discrepancy"];
    assert_eq!(discrepancy["code"], "value_total_mismatch", "{report}");
    assert_eq!(discrepancy["account"], "pool:grant:G-1");
    assert_eq!(
        (&discrepancy["expected"], &discrepancy["found"]),
        (&json!("-10000"), &json!("7"))
    );
}

/// The migration's backfill, the statement after its `ALTER TABLE`s.
fn backfill(backend: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
        .join("2026-12-11-000001_value_totals/up.sql");
    let text = std::fs::read_to_string(path).expect("migration");
    let start = text.find("UPDATE accounts").expect("the backfill");
    text[start..].to_owned()
}

async fn the_migration_backfills_the_totals_from_the_postings(app: &TestApp) {
    let e = earned(app).await;
    let first = payout(app, &e, "30.00").await;
    reverse(app, &e.project, &first).await;
    payout(app, &e, "40.00").await;
    let before = money(app, &e).await;
    assert_eq!(before, owned(["100.00", "40.00", "60.00"]));
    // As the columns were when the migration added them.
    raw(
        app,
        "UPDATE accounts SET distributions_earned = 0, payouts_received = 0",
    );
    assert_eq!(
        verification(app, &e.project).await["discrepancy"]["code"],
        "value_total_mismatch"
    );
    let backend = {
        let conn = app.db.connection().expect("connection");
        match &*conn {
            DbConnection::Sqlite(_) => "sqlite",
            DbConnection::Postgresql(_) => "postgres",
        }
    };
    raw(app, &backfill(backend));
    assert_eq!(money(app, &e).await, before);
    assert_verified(app, &e.project).await;
}
