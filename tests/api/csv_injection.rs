//! Spreadsheet formula injection: text a caller chose (descriptions,
//! references, suppliers, rate methods and sources, skills, funder
//! categories) that begins with `=`, `+`, `-`, `@`, tab or carriage return
//! comes out of every CSV export with a leading apostrophe, while amount
//! columns, negative ones included, stay plain numbers.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use commons_ledger::routes::reports::{
    CONTRIBUTION_COLUMNS, CellKind, Column, DISTRIBUTION_COLUMNS, GRANT_COLUMNS, JOURNAL_COLUMNS,
    STATEMENT_COLUMNS,
};

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(formula_like_text_is_neutralised_in_every_csv);

/// One text per character a spreadsheet takes as the start of a formula.
const FORMULAS: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example\",\"invoice\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+2",
    "\r=1+2",
];

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    created_as(app, None, path, body).await
}

async fn created_as(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> Value {
    let response = match token {
        Some(token) => {
            app.send_as(Some(token), Method::POST, path, Some(&body))
                .await
        }
        None => app.post(path, &body).await,
    };
    let status = response.status();
    let answer = json_of(response).await;
    assert_eq!(status, 201, "{path}: {answer}");
    answer
}

/// The rows of a CSV export, as header name -> cell.
fn rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("record").iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn plain_decimal(cell: &str) -> bool {
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let mut parts = unsigned.splitn(2, '.');
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    parts.next().is_some_and(digits) && parts.next().is_none_or(digits)
}

/// Downloads a CSV and checks every cell against its column's kind: no text
/// cell starts like a formula, every number cell is a plain decimal.
async fn export(app: &TestApp, path: &str, columns: &[Column]) -> Vec<BTreeMap<String, String>> {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    let rows = rows(&response.text().await.expect("body"));
    assert!(!rows.is_empty(), "{path} has rows");
    for row in &rows {
        for column in columns {
            let cell = &row[column.name];
            match column.kind {
                CellKind::Text => assert!(
                    !cell.starts_with(TRIGGERS),
                    "{path}: {} = {cell:?} would run as a formula",
                    column.name
                ),
                CellKind::Number => assert!(
                    cell.is_empty() || plain_decimal(cell),
                    "{path}: {} = {cell:?} is not a plain number",
                    column.name
                ),
            }
        }
    }
    rows
}

/// Whether `column` of some row is exactly `expected`.
fn has(rows: &[BTreeMap<String, String>], column: &str, expected: &str) -> bool {
    rows.iter().any(|row| row[column] == expected)
}

fn neutralised(text: &str) -> String {
    format!("'{text}")
}

async fn formula_like_text_is_neutralised_in_every_csv(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (contributor, contributor_token) = app.member(&project, "contributor").await;

    // journal.csv: a transaction description for each trigger, kept as sent.
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    for formula in FORMULAS {
        let mut body = crate::helpers::transfer_body("funder:a", "pool:general", "10.00", "EUR");
        body["description"] = json!(formula);
        created(app, &format!("{base}/transactions"), body).await;
    }

    // The grant report, contributions.csv and a statement.
    created(
        app,
        &format!("{base}/expense-categories"),
        json!({"name": "parts", "funder_category": "@ funder category"}),
    )
    .await;
    created(
        app,
        &format!("{base}/expense-categories"),
        json!({"name": "in-kind-time", "funder_category": "=in-kind category"}),
    )
    .await;
    created(
        app,
        &format!("{base}/rates"),
        json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
            "per": "hour", "method": "-replacement cost", "source": "+rates 2026"}),
    )
    .await;
    let funder = created(
        app,
        "/v1/agents",
        json!({"kind": "organisation", "name": "=Fondation Horizon"}),
    )
    .await;
    let grant = created(
        app,
        &format!("{base}/grants"),
        json!({"funder": funder["id"], "kind": "grant", "reference": "=FH-2026-017",
            "amount": "1000.00", "currency": "EUR", "received_on": "2026-02-01",
            "period_start": "2026-01-01", "period_end": "2026-12-31",
            "description": "-the grant", "eligible_categories": ["parts"]}),
    )
    .await;
    let grant_id = grant["id"].as_str().expect("grant");
    created(
        app,
        &format!("{base}/expenses"),
        json!({"grant": grant_id, "amount": "100.00", "currency": "EUR", "category": "parts",
            "supplier": "@Capteurs & Cie", "date": "2026-03-15", "description": "+sensor parts"}),
    )
    .await;
    let contribution = created_as(
        app,
        Some(&contributor_token),
        &format!("{base}/contributions"),
        json!({"kind": "time", "date": "2026-03-02", "quantity": "4", "unit": "hour",
            "description": "=calibration", "skill": "@calibration"}),
    )
    .await;
    let contribution_id = contribution["id"].as_str().expect("id");
    created(
        app,
        &format!("{base}/contributions/{contribution_id}/reviews"),
        json!({"decision": "approve"}),
    )
    .await;

    // A distribution to the contributor, and a payout with a formula-like reference.
    created(
        app,
        &format!("{base}/rule-sets"),
        json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
            "to": {"type": "pro_rata", "weights": {"time": "1", "equipment": "1", "data": "1"}}}],
            "residue": {"type": "pool"}}),
    )
    .await;
    let run = created(
        app,
        &format!("{base}/distributions"),
        json!({"rule_set_version": 1, "grant": grant_id, "amount": "300.00",
            "period_from": "2026-03-01", "period_to": "2026-03-31"}),
    )
    .await;
    let run_id = run["id"].as_str().expect("run");
    // Four eyes: a treasurer other than the author approves.
    let (_, second) = app.member(&project, "treasurer").await;
    created_as(
        app,
        Some(&second),
        &format!("{base}/distributions/{run_id}/approvals"),
        json!({}),
    )
    .await;
    created(
        app,
        &format!("{base}/distributions/{run_id}/execution"),
        json!({"effective_date": "2026-03-31"}),
    )
    .await;
    created(
        app,
        &format!("{base}/payouts"),
        json!({"agent": contributor, "amount": "40.00", "currency": "EUR",
            "method": "bank-transfer", "reference": "=SEPA-1", "date": "2026-04-30"}),
    )
    .await;

    let reports = format!("{base}/reports");
    let journal = export(app, &format!("{reports}/journal.csv"), &JOURNAL_COLUMNS).await;
    for formula in FORMULAS {
        assert!(
            has(&journal, "description", &neutralised(formula)),
            "journal.csv: {formula:?} comes out as '{formula:?}"
        );
    }
    assert!(
        has(&journal, "balance", "-10.00") && has(&journal, "balance", "-60.00"),
        "negative running balances stay numbers, unprefixed"
    );
    assert!(has(&journal, "debit", "10.00"));

    let contributions = export(
        app,
        &format!("{reports}/contributions.csv"),
        &CONTRIBUTION_COLUMNS,
    )
    .await;
    for (column, text) in [
        ("description", "=calibration"),
        ("skill", "@calibration"),
        ("method", "-replacement cost"),
        ("source", "+rates 2026"),
        ("funder_category", "=in-kind category"),
    ] {
        assert!(
            has(&contributions, column, &neutralised(text)),
            "contributions.csv: {column} {text:?}"
        );
    }
    assert!(has(&contributions, "value", "100.00"), "4 h at 25.00");
    assert!(has(&contributions, "quantity", "4.00"));

    let grant_report = export(
        app,
        &format!("{reports}/grants/{grant_id}.csv"),
        &GRANT_COLUMNS,
    )
    .await;
    for (column, text) in [
        ("reference", "=FH-2026-017"),
        ("reference", "@Capteurs & Cie"),
        ("description", "+sensor parts"),
        ("funder_category", "@ funder category"),
    ] {
        assert!(
            has(&grant_report, column, &neutralised(text)),
            "grant report: {column} {text:?}"
        );
    }
    assert!(has(&grant_report, "cash", "100.00"), "spent, unchanged");

    let distribution = export(
        app,
        &format!("{reports}/distributions/{run_id}.csv"),
        &DISTRIBUTION_COLUMNS,
    )
    .await;
    assert!(
        has(&distribution, "amount", "300.00"),
        "one contributor takes it all"
    );

    let statement = export(
        app,
        &format!("{reports}/statements/{contributor}.csv"),
        &STATEMENT_COLUMNS,
    )
    .await;
    assert!(has(&statement, "description", &neutralised("=calibration")));
    assert!(has(&statement, "reference", &neutralised("=SEPA-1")));
    assert!(has(&statement, "paid", "40.00"));
    assert!(has(&statement, "balance_owed", "260.00"));
}
