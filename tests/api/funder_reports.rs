//! PRODUCT.md step 8: after the whole story (a grant, a donation, three
//! contributions, an expense, a distribution, payouts), the funder downloads
//! the grant report and the journal; every report is compared with its
//! golden file in fixtures/reports/story/, every amount column is re-added
//! and checked against the API's figures, and hledger agrees to the cent.
//!
//! Set `COMMONS_LEDGER_UPDATE_GOLDEN=1` to rewrite the golden files after a
//! deliberate change of a report's format; review the diff before committing.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{TestApp, created, json_of};
use crate::on_both_backends;
use crate::reports::{hledger, hledger_available};

on_both_backends!(the_funder_checks_the_story);

const GOLDEN_DIR: &str = "fixtures/reports/story";

/// Everything a story's reports are checked against.
pub(crate) struct Story {
    pub(crate) base: String,
    pub(crate) grant: String,
    pub(crate) run: String,
    pub(crate) contributors: Vec<String>,
    pub(crate) auditor: String,
}

pub(crate) async fn play_story(app: &TestApp) -> Story {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, second) = app.member(&project, "treasurer").await;
    let (_, auditor) = app.member(&project, "auditor").await;
    let as_treasurer = |path: String, body: Value| {
        let treasurer = treasurer.clone();
        async move {
            created(
                app.send_as(Some(&treasurer), Method::POST, &path, Some(&body))
                    .await,
            )
            .await
        }
    };
    let mut contributors = Vec::new();
    for _ in 0..3 {
        contributors.push(app.member(&project, "contributor").await);
    }
    // The Horizon Europe mapping of this project's categories.
    for (name, funder_category) in [
        ("parts", "C.3 other goods, works and services"),
        ("in-kind-time", "A personnel costs"),
        ("in-kind-equipment", "C.2 equipment"),
        ("in-kind-data", "C.3 other goods, works and services"),
    ] {
        as_treasurer(
            format!("{base}/expense-categories"),
            json!({"name": name, "funder_category": funder_category}),
        )
        .await;
    }
    for (kind, per, rate, method) in [
        ("time", "hour", "25.00", "replacement cost"),
        ("equipment", "hour", "3.00", "rental equivalent"),
        ("data", "dataset", "500.00", "market price"),
    ] {
        as_treasurer(
            format!("{base}/rates"),
            json!({"kind": kind, "effective_from": "2026-01-01", "rate": rate,
            "currency": "EUR", "per": per, "method": method, "source": "OpenAir Lyon rates 2026"}),
        )
        .await;
    }
    let funder = created(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await,
    )
    .await;
    let grant = as_treasurer(format!("{base}/grants"), json!({"funder": funder["id"], "kind": "grant", "reference": "FH-2026-017",
        "amount": "10000.00", "currency": "EUR", "received_on": "2026-02-01", "period_start": "2026-01-01",
        "period_end": "2026-12-31", "restriction": "air-quality sensor programme", "eligible_categories": ["parts"],
        "distributable": true}))
    .await;
    let donor = created(
        app.post(
            "/v1/agents",
            &json!({"kind": "person", "name": "A neighbour"}),
        )
        .await,
    )
    .await;
    as_treasurer(
        format!("{base}/grants"),
        json!({"funder": donor["id"], "kind": "donation", "reference": "DON-001",
        "amount": "250.00", "currency": "EUR", "received_on": "2026-02-10"}),
    )
    .await;
    let work = [
        json!({"kind": "time", "date": "2026-03-02", "quantity": "12.5", "unit": "hour", "description": "sensor calibration", "skill": "calibration"}),
        json!({"kind": "equipment", "date": "2026-03-05", "quantity": "40", "unit": "hour", "equipment": "3d-printer-1", "description": "sensor housings"}),
        json!({"kind": "data", "date": "2026-03-10", "quantity": "1", "unit": "dataset", "dataset": {"title": "Lyon air quality, 1.2 million readings",
            "uri": "doi:10.5281/zenodo.123", "checksum": "sha256:abc", "licence": "CC-BY-4.0"}}),
    ];
    for ((_, token), body) in contributors.iter().zip(&work) {
        let contribution = created(
            app.send_as(
                Some(token),
                Method::POST,
                &format!("{base}/contributions"),
                Some(body),
            )
            .await,
        )
        .await;
        let id = contribution["id"].as_str().expect("id");
        as_treasurer(
            format!("{base}/contributions/{id}/reviews"),
            json!({"decision": "approve"}),
        )
        .await;
        // The grant's match: the work counts toward this grant, and only it.
        as_treasurer(
            format!(
                "{base}/grants/{}/in-kind",
                grant["id"].as_str().expect("grant")
            ),
            json!({"contribution": id}),
        )
        .await;
    }
    as_treasurer(format!("{base}/expenses"), json!({"grant": grant["id"], "amount": "1200.00", "currency": "EUR",
        "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15", "description": "sensor parts"}))
    .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    as_treasurer(format!("{base}/rule-sets"), json!({"steps": [
        {"share": {"type": "percentage", "percent": "10", "of": "total"}, "to": {"type": "account", "account": "reserve"}},
        {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
         "to": {"type": "pro_rata", "weights": {"time": "1", "equipment": "1", "data": "1"}, "cap": {"type": "percentage", "percent": "40"}}}
    ], "residue": {"type": "pool"}}))
    .await;
    let run = as_treasurer(
        format!("{base}/distributions"),
        json!({"rule_set_version": 1, "grant": grant["id"], "amount": "4500.00",
        "period_from": "2026-03-01", "period_to": "2026-03-31"}),
    )
    .await;
    let run_id = run["id"].as_str().expect("run").to_owned();
    let run_path = format!("{base}/distributions/{run_id}");
    created(
        app.send_as(
            Some(&second),
            Method::POST,
            &format!("{run_path}/approvals"),
            Some(&json!({})),
        )
        .await,
    )
    .await;
    let executed = as_treasurer(
        format!("{run_path}/execution"),
        json!({"effective_date": "2026-03-31"}),
    )
    .await;
    assert_eq!(executed["status"], "executed");
    for ((agent, _), amount) in contributors.iter().zip(["1357.24", "521.18", "1000.00"]) {
        as_treasurer(format!("{base}/payouts"), json!({"agent": agent, "amount": amount, "currency": "EUR",
            "method": "bank-transfer", "reference": format!("SEPA-{amount}"), "date": "2026-04-30"}))
        .await;
    }
    Story {
        base,
        grant: grant["id"].as_str().expect("grant").to_owned(),
        run: run_id,
        contributors: contributors.into_iter().map(|(id, _)| id).collect(),
        auditor,
    }
}

/// Downloads a report as the funder's auditor, checking its headers.
pub(crate) async fn download(
    app: &TestApp,
    story: &Story,
    path: &str,
    file_name_part: &str,
) -> String {
    let response = app
        .send_as(
            Some(&story.auditor),
            Method::GET,
            &format!("{}/reports/{path}", story.base),
            None,
        )
        .await;
    assert_eq!(response.status(), 200, "{path}");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("disposition")
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"openair-lyon-")
            && disposition.contains(file_name_part),
        "{path}: {disposition}"
    );
    response.text().await.expect("body")
}

/// Replaces what differs from run to run (ids, times, hashes) by stable
/// placeholders, numbered in order of appearance.
/// A small scanner: UUIDs, RFC 3339 timestamps with microseconds, and
/// 64-hex hashes.
fn normalized(text: &str) -> String {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    while i < bytes.len() {
        // UUID: 8-4-4-4-12 hex.
        if i + 36 <= bytes.len() {
            let candidate = &text[i..i + 36];
            let shape = candidate.bytes().enumerate().all(|(k, b)| {
                if [8, 13, 18, 23].contains(&k) {
                    b == b'-'
                } else {
                    is_hex(b)
                }
            });
            if shape {
                let next = ids.len() + 1;
                let n = *ids.entry(candidate.to_owned()).or_insert(next);
                out.push_str(&format!("<id{n}>"));
                i += 36;
                continue;
            }
        }
        // Hash: 64 hex digits.
        if i + 64 <= bytes.len() && bytes[i..i + 64].iter().all(|&b| is_hex(b)) {
            out.push_str("<hash>");
            i += 64;
            continue;
        }
        // Timestamp: YYYY-MM-DDTHH:MM:SS.ffffffZ
        if i + 27 <= bytes.len()
            && bytes[i].is_ascii_digit()
            && bytes[i + 4] == b'-'
            && bytes[i + 10] == b'T'
            && bytes[i + 26] == b'Z'
        {
            out.push_str("<recorded-at>");
            i += 27;
            continue;
        }
        let c = text[i..].chars().next().expect("char");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn check_golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(GOLDEN_DIR)
        .join(name);
    let actual = normalized(actual);
    if std::env::var("COMMONS_LEDGER_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        std::fs::write(&path, &actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; set COMMONS_LEDGER_UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{name} differs from its golden file {}",
        path.display()
    );
}

type Rows = Vec<BTreeMap<String, String>>;

fn rows(text: &str) -> Rows {
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
            let r = r.expect("record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn dec(text: &str) -> Decimal {
    if text.is_empty() {
        Decimal::ZERO
    } else {
        text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }
}

fn sum(rows: &Rows, section: &str, column: &str) -> Decimal {
    rows.iter()
        .filter(|r| r["section"] == section)
        .map(|r| dec(&r[column]))
        .sum()
}

fn one(rows: &Rows, section: &str, column: &str) -> Decimal {
    let found: Vec<_> = rows.iter().filter(|r| r["section"] == section).collect();
    assert_eq!(found.len(), 1, "one {section} line");
    dec(&found[0][column])
}

async fn the_funder_checks_the_story(app: &TestApp) {
    let story = play_story(app).await;
    let balances = app
        .balances(story.base.trim_start_matches("/v1/projects/"))
        .await;

    // The journal: debits equal credits, and each account's rows re-add to its balance.
    let journal = download(app, &story, "journal.csv", "-journal-start_end.csv").await;
    check_golden("journal.csv", &journal);
    let journal_rows = rows(&journal);
    let mut by_account: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut last_balance: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in &journal_rows {
        *by_account.entry(row["account"].clone()).or_default() +=
            dec(&row["debit"]) - dec(&row["credit"]);
        last_balance.insert(row["account"].clone(), dec(&row["balance"]));
    }
    assert_eq!(
        journal_rows
            .iter()
            .map(|r| dec(&r["debit"]))
            .sum::<Decimal>(),
        journal_rows
            .iter()
            .map(|r| dec(&r["credit"]))
            .sum::<Decimal>()
    );
    for (account, total) in &by_account {
        assert_eq!(*total, dec(&balances[account]), "{account} re-added");
        assert_eq!(
            last_balance[account],
            dec(&balances[account]),
            "{account} running"
        );
    }

    // The grant report: the sections re-add to the grant's figures and the pool.
    let grant_csv = download(
        app,
        &story,
        &format!("grants/{}.csv", story.grant),
        "-grant-fh-2026-017-start_end.csv",
    )
    .await;
    check_golden("grant.csv", &grant_csv);
    let grant_rows = rows(&grant_csv);
    let figures = json_of(
        app.get(&format!("{}/grants/{}", story.base, story.grant))
            .await,
    )
    .await;
    let figure = |name: &str| dec(figures[name].as_str().expect("figure"));
    assert_eq!(sum(&grant_rows, "received", "cash"), figure("received"));
    assert_eq!(
        one(&grant_rows, "total_received", "cash"),
        figure("received")
    );
    assert_eq!(sum(&grant_rows, "spent", "cash"), figure("spent"));
    assert_eq!(
        sum(&grant_rows, "spent_by_category", "cash"),
        figure("spent")
    );
    assert_eq!(one(&grant_rows, "total_spent", "cash"), figure("spent"));
    assert_eq!(
        sum(&grant_rows, "distributed", "cash"),
        figure("distributed")
    );
    assert_eq!(
        one(&grant_rows, "distributed_by_run", "cash"),
        figure("distributed")
    );
    assert_eq!(
        one(&grant_rows, "total_distributed", "cash"),
        figure("distributed")
    );
    assert_eq!(one(&grant_rows, "remaining", "cash"), figure("remaining"));
    assert_eq!(
        figure("remaining"),
        dec(&balances["pool:grant:FH-2026-017"])
    );
    assert_eq!(figure("received"), dec("10000.00"));
    assert_eq!(figure("spent"), dec("1200.00"));
    assert_eq!(figure("distributed"), dec("3948.42"));
    let parts = grant_rows
        .iter()
        .find(|r| r["section"] == "spent_by_category")
        .expect("parts");
    assert_eq!(
        parts["funder_category"],
        "C.3 other goods, works and services"
    );
    assert_eq!(sum(&grant_rows, "in_kind", "in_kind"), dec("932.50"));
    assert_eq!(one(&grant_rows, "total_in_kind", "in_kind"), dec("932.50"));
    assert!(
        grant_rows
            .iter()
            .filter(|r| r["section"] == "in_kind")
            .all(|r| r["cash"].is_empty() && !r["method"].is_empty()),
        "in-kind is never counted as cash, and always names its method"
    );

    // The same report for March only: it opens on the pool's balance before it.
    let march = rows(
        &download(
            app,
            &story,
            &format!("grants/{}.csv?from=2026-03-01&to=2026-03-31", story.grant),
            "-grant-fh-2026-017-2026-03-01_2026-03-31.csv",
        )
        .await,
    );
    assert_eq!(one(&march, "opening", "cash"), dec("10000.00"));
    assert_eq!(sum(&march, "received", "cash"), Decimal::ZERO);
    assert_eq!(one(&march, "remaining", "cash"), figure("remaining"));

    // The journal of the grant's pool alone re-adds to the pool's balance.
    let pool_journal = rows(
        &download(
            app,
            &story,
            &format!("journal.csv?grant={}", story.grant),
            "-journal-pool-grant-fh-2026-017-start_end.csv",
        )
        .await,
    );
    let pool: Decimal = pool_journal
        .iter()
        .filter(|r| r["account"] == "pool:grant:FH-2026-017")
        .map(|r| dec(&r["debit"]) - dec(&r["credit"]))
        .sum();
    assert_eq!(pool, figure("remaining"));
    assert!(
        pool_journal
            .iter()
            .all(|r| !r["account"].starts_with("pool:general")),
        "only the pool's transactions"
    );

    // Contributions: the values re-add to the value accounts.
    let contributions = download(
        app,
        &story,
        "contributions.csv",
        "-contributions-start_end.csv",
    )
    .await;
    check_golden("contributions.csv", &contributions);
    let contribution_rows = rows(&contributions);
    assert_eq!(
        contribution_rows
            .iter()
            .map(|r| dec(&r["value"]))
            .sum::<Decimal>(),
        dec("932.50")
    );
    for (agent, row) in story.contributors.iter().zip(&contribution_rows) {
        let account = json_of(
            app.get(&format!("{}/members/{agent}/value-account", story.base))
                .await,
        )
        .await;
        assert_eq!(
            dec(&row["value"]),
            dec(account["totals"][0]["approved"].as_str().expect("approved"))
        );
    }
    assert_eq!(contribution_rows[0]["method"], "replacement cost");
    assert_eq!(contribution_rows[0]["funder_category"], "A personnel costs");
    assert_eq!(contribution_rows[2]["licence"], "CC-BY-4.0");

    // The run: the lines plus the residue are the run's amount, exactly.
    let run = download(
        app,
        &story,
        &format!("distributions/{}.csv", story.run),
        "-distribution-2026-03-01_2026-03-31.csv",
    )
    .await;
    check_golden("distribution.csv", &run);
    let run_rows = rows(&run);
    assert_eq!(
        run_rows.iter().map(|r| dec(&r["amount"])).sum::<Decimal>(),
        dec("4500.00")
    );
    assert_eq!(
        run_rows.last().expect("residue")["recipient_type"],
        "residue"
    );

    // Each contributor's statement ends on what the value account says is owed.
    for (index, agent) in story.contributors.iter().enumerate() {
        let statement = download(
            app,
            &story,
            &format!("statements/{agent}.csv"),
            "-statement-",
        )
        .await;
        check_golden(&format!("statement-{}.csv", index + 1), &statement);
        let statement_rows = rows(&statement);
        let account = json_of(
            app.get(&format!("{}/members/{agent}/value-account", story.base))
                .await,
        )
        .await;
        let money = &account["money"][0];
        let owed = dec(money["balance_owed"].as_str().expect("owed"));
        assert_eq!(one(&statement_rows, "balance_owed", "balance_owed"), owed);
        let earned = sum(&statement_rows, "distribution", "earned");
        let paid = sum(&statement_rows, "payout", "paid");
        assert_eq!(earned - paid, owed);
        assert_eq!(
            earned,
            dec(money["distributions_earned"].as_str().expect("earned"))
        );
        assert_eq!(one(&statement_rows, "total_earned", "earned"), earned);
        assert_eq!(one(&statement_rows, "total_paid", "paid"), paid);
    }

    // hledger, fed the export, agrees with the service to the cent.
    if !hledger_available() {
        eprintln!("skipped the hledger part: hledger is not installed");
        return;
    }
    let ledger = download(app, &story, "journal.hledger", "-journal-start_end.hledger").await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("story.hledger");
    std::fs::write(&file, &ledger).expect("write");
    let path = file.to_string_lossy().into_owned();
    let check = hledger(&["-f", &path, "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let report = hledger(&["-f", &path, "balance", "--flat", "--no-total", "-O", "csv"]);
    let mut reader = csv::Reader::from_reader(report.stdout.as_slice());
    for record in reader.records() {
        let record = record.expect("row");
        let (number, unit) = record[1].split_once(' ').expect("amount");
        assert_eq!(unit, "EUR");
        assert_eq!(dec(number), dec(&balances[&record[0]]), "{}", &record[0]);
    }
}
