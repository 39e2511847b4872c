//! Exports: journal.csv, and journal.hledger checked by hledger itself.

use std::collections::BTreeMap;

use rand::Rng;

use commons_ledger::db::transactions::post;
use commons_ledger::domain::{AccountName, Amount, NewPosting, NewTransaction, TransactionKind};

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(
    journal_csv_has_two_rows_per_posting,
    hledger_agrees_with_the_ledger_to_the_cent,
    the_hledger_journal_declares_only_its_projects_commodities
);

/// Set to `required` (CI does) to fail rather than skip when hledger is missing.
const HLEDGER_VARIABLE: &str = "COMMONS_LEDGER_TEST_HLEDGER";

async fn journal_csv_has_two_rows_per_posting(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let mut early = crate::helpers::transfer_body("funder:a", "pool:general", "100.00", "EUR");
    early["effective_date"] = serde_json::json!("2026-02-01");
    early["description"] = serde_json::json!("grant, \"first\" tranche");
    assert_eq!(
        app.post(&format!("/v1/projects/{project}/transactions"), &early)
            .await
            .status(),
        201
    );
    assert_eq!(
        app.transfer(&project, "pool:general", "funder:a", "30.50", "EUR")
            .await
            .status(),
        201
    );

    let response = app
        .get(&format!("/v1/projects/{project}/reports/journal.csv"))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        commons_ledger::routes::reports::JOURNAL_COLUMNS.map(|column| column.name.to_owned())
    );
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("row").iter().map(str::to_owned))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 4, "two rows per posting");
    assert_eq!(rows[0]["account"], "pool:general");
    assert_eq!(rows[0]["debit"], "100.00");
    assert_eq!(rows[0]["balance"], "100.00");
    assert_eq!(
        rows[0]["description"], "grant, \"first\" tranche",
        "quoted as RFC 4180 says"
    );
    assert_eq!(rows[1]["account"], "funder:a");
    assert_eq!(rows[1]["credit"], "100.00");
    assert_eq!(rows[1]["balance"], "-100.00");
    assert_eq!(rows[2]["account"], "funder:a");
    assert_eq!(
        rows[2]["balance"], "-69.50",
        "running balance of the account"
    );
    assert_eq!(rows[3]["balance"], "69.50");

    let filtered = app
        .get(&format!(
            "/v1/projects/{project}/reports/journal.csv?from=2026-03-01"
        ))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        filtered.lines().count(),
        3,
        "header and the March transaction's two rows"
    );
    let other = app.create_project("EUR").await;
    let (_, outsider) = app.member(&other, "contributor").await;
    let hidden = app
        .send_as(
            Some(&outsider),
            reqwest::Method::GET,
            &format!("/v1/projects/{project}/reports/journal.csv"),
            None,
        )
        .await;
    assert_eq!(
        hidden.status(),
        404,
        "reports follow the ledger's visibility"
    );
}

pub fn hledger_available() -> bool {
    let found = std::process::Command::new("hledger")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var(HLEDGER_VARIABLE).is_ok_and(|v| v == "required") {
        panic!("hledger is required ({HLEDGER_VARIABLE}=required) but not installed");
    }
    found
}

pub fn hledger(args: &[&str]) -> std::process::Output {
    std::process::Command::new("hledger")
        .args(args)
        .output()
        .expect("run hledger")
}

async fn hledger_agrees_with_the_ledger_to_the_cent(app: &TestApp) {
    if !hledger_available() {
        eprintln!("skipped: hledger is not installed");
        return;
    }
    let project = app.create_project("EUR").await;
    let accounts = [
        ("funder:a", "EUR", false),
        ("pool:general", "EUR", true),
        ("reserve", "EUR", true),
        ("funder:jp", "JPY", false),
        ("pool:jpy", "JPY", true),
    ];
    for (name, unit, non_negative) in accounts {
        app.create_account(&project, name, unit, non_negative).await;
    }
    let db = app.db.clone();
    let project_id = project.clone();
    let admin = app.admin_id.clone();
    let posted = tokio::task::spawn_blocking(move || {
        let mut rng = rand::rng();
        let mut posted = 0;
        for i in 0..2_500 {
            let (names, unit): (&[&str], &str) = if i % 5 == 0 {
                (&["funder:jp", "pool:jpy"], "JPY")
            } else {
                (&["funder:a", "pool:general", "reserve"], "EUR")
            };
            let from = names[rng.random_range(0..names.len())];
            let mut to = names[rng.random_range(0..names.len())];
            while to == from {
                to = names[rng.random_range(0..names.len())];
            }
            let transaction = NewTransaction {
                kind: TransactionKind::Transfer,
                effective_date: chrono::NaiveDate::from_ymd_opt(
                    2026,
                    1 + (i % 12) as u32,
                    1 + (i % 28) as u32,
                )
                .expect("date"),
                description: format!("generated {i}; with a \"quote\""),
                metadata: "{}".to_owned(),
                postings: vec![NewPosting {
                    from: AccountName::parse(from).expect("name"),
                    to: AccountName::parse(to).expect("name"),
                    amount: Amount::from_minor(rng.random_range(1..100_000)).expect("amount"),
                    unit: unit.to_owned(),
                }],
            };
            let outcome = db.write(
                |conn| -> Result<_, commons_ledger::routes::problem::ApiError> {
                    Ok(post(conn, (&project_id, &admin), &transaction, None)?)
                },
            );
            if outcome.is_ok() {
                posted += 1;
            }
        }
        posted
    })
    .await
    .expect("generate");
    assert!(posted > 1_000, "thousands of transactions: {posted}");

    let response = app
        .get(&format!("/v1/projects/{project}/reports/journal.hledger"))
        .await;
    assert_eq!(response.status(), 200);
    let journal = response.text().await.expect("journal");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("journal.hledger");
    std::fs::write(&file, &journal).expect("write");
    let path = file.to_string_lossy().into_owned();
    let check = hledger(&["-f", &path, "check"]);
    assert!(
        check.status.success(),
        "hledger check accepts the export: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    let report = hledger(&["-f", &path, "balance", "--flat", "--no-total", "-O", "csv"]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let mut reader = csv::Reader::from_reader(report.stdout.as_slice());
    let from_hledger: BTreeMap<String, String> = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect();
    let page = json_of(app.get(&format!("/v1/projects/{project}/balances")).await).await;
    let mut from_api = BTreeMap::new();
    for item in page["items"].as_array().expect("items") {
        let balance = item["balance"].as_str().expect("balance");
        if balance
            .trim_start_matches('-')
            .chars()
            .any(|c| c != '0' && c != '.')
        {
            from_api.insert(
                item["account"].as_str().expect("account").to_owned(),
                format!("{balance} {}", item["currency"].as_str().expect("currency")),
            );
        }
    }
    assert_eq!(
        from_hledger, from_api,
        "hledger's balances are the API's, to the cent"
    );

    // One minor unit changed anywhere, and hledger refuses the file.
    let line = journal
        .lines()
        .find(|l| l.starts_with("    pool:general") && !l.contains('=') && !l.contains("    -"))
        .expect("a positive posting line");
    let (head, amount) = line.rsplit_once("    ").expect("amount");
    let (number, unit) = amount.split_once(' ').expect("unit");
    let cents: i64 = number.replace('.', "").parse().expect("cents");
    let altered_line = format!(
        "{head}    {}.{:02} {unit}",
        (cents + 1) / 100,
        (cents + 1) % 100
    );
    std::fs::write(&file, journal.replacen(line, &altered_line, 1)).expect("write");
    let altered = hledger(&["-f", &path, "check"]);
    assert!(
        !altered.status.success(),
        "an export altered by one minor unit is rejected"
    );
}

/// A JPY account opened in an unrelated project (and the hours its rates
/// are counted in) must not show in this project's journal.hledger.
async fn the_hledger_journal_declares_only_its_projects_commodities(app: &TestApp) {
    let ours = app.create_project("EUR").await;
    app.create_account(&ours, "funder:a", "EUR", false).await;
    app.create_account(&ours, "pool:general", "EUR", true).await;
    app.create_account(&ours, "pool:usd", "USD", true).await;
    assert_eq!(
        app.transfer(&ours, "funder:a", "pool:general", "12.00", "EUR")
            .await
            .status(),
        201
    );
    let theirs = app.create_project("CHF").await;
    app.create_account(&theirs, "funder:jp", "JPY", false).await;
    app.create_account(&theirs, "pool:jpy", "JPY", true).await;
    assert_eq!(
        app.transfer(&theirs, "funder:jp", "pool:jpy", "5000", "JPY")
            .await
            .status(),
        201
    );
    let rate = app
        .post(
            &format!("/v1/projects/{theirs}/rates"),
            &serde_json::json!({"kind": "time", "effective_from": "2026-01-01", "rate": "30.00",
                "currency": "CHF", "per": "hour", "method": "replacement cost", "source": "theirs"}),
        )
        .await;
    assert_eq!(rate.status(), 201);

    let response = app
        .get(&format!("/v1/projects/{ours}/reports/journal.hledger"))
        .await;
    assert_eq!(response.status(), 200);
    let journal = response.text().await.expect("journal");
    let commodities: Vec<&str> = journal
        .lines()
        .filter(|line| line.starts_with("commodity "))
        .collect();
    assert_eq!(
        commodities,
        ["commodity 1000.00 EUR", "commodity 1000.00 USD"],
        "the project's currency and its accounts' units, nothing else"
    );
    for other in ["JPY", "CHF", "hour"] {
        assert!(
            !journal.contains(other),
            "nothing of the other project ({other}) in:\n{journal}"
        );
    }
    if hledger_available() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("journal.hledger");
        std::fs::write(&file, &journal).expect("write");
        let check = hledger(&["-f", &file.to_string_lossy(), "check"]);
        assert!(
            check.status.success(),
            "hledger still accepts the export: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}
