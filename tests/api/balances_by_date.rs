//! No non-negative account below zero on any date (#18 item 2): a
//! back-dated posting that would leave a non-negative account negative on
//! some later date is refused, not only in posting order. Random
//! interleavings of back-dated and current postings (a seeded generator;
//! the seed is printed on failure and `COMMONS_LEDGER_BY_DATE_SEED`
//! replays it) never leave a negative balance by effective date, as read
//! from the API, from the journal CSV, and by hledger.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, json_of, transfer_body};
use crate::on_both_backends;
use crate::reports::{hledger, hledger_available};

on_both_backends!(
    money_is_never_spent_before_it_arrives,
    random_back_dated_postings_never_leave_a_negative_day,
);

async fn money_is_never_spent_before_it_arrives(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let post = |from: &str, to: &str, amount: &str, date: &str| {
        let mut body = transfer_body(from, to, amount, "EUR");
        body["effective_date"] = json!(date);
        let path = format!("{base}/transactions");
        async move { app.post(&path, &body).await }
    };
    // A grant received on June 1st.
    assert_eq!(
        post("funder:a", "pool:general", "100.00", "2026-06-01")
            .await
            .status(),
        201
    );
    let before = app.transaction_count(&project).await;
    // Spent on May 31st, before it arrived: refused, though the balance now
    // would allow it.
    let refused = assert_problem(
        post("pool:general", "reserve", "60.00", "2026-05-31").await,
        422,
        "insufficient_funds",
        "spent the day before it arrives",
    )
    .await;
    let detail = refused["detail"].as_str().expect("detail");
    assert!(
        detail.contains("2026-05-31") && detail.contains("-60.00"),
        "{detail}"
    );
    assert_eq!(
        app.transaction_count(&project).await,
        before,
        "nothing was written"
    );
    // On the day it arrives, or after, it may go.
    assert_eq!(
        post("pool:general", "reserve", "60.00", "2026-06-01")
            .await
            .status(),
        201
    );
    // A back-dated outflow may not take what a later one already took:
    // 40 left from June 1st; 30 more on June 2nd would leave 10, but a
    // June 5th outflow of 40 already counts on it.
    assert_eq!(
        post("pool:general", "reserve", "35.00", "2026-06-05")
            .await
            .status(),
        201
    );
    assert_problem(
        post("pool:general", "reserve", "10.00", "2026-06-02").await,
        422,
        "insufficient_funds",
        "a back-dated outflow under a later one",
    )
    .await;
    assert_eq!(
        post("pool:general", "reserve", "5.00", "2026-06-02")
            .await
            .status(),
        201
    );
}

/// The lowest balance by effective date of `account` in the journal CSV.
fn lowest_by_date(journal: &str, account: &str) -> (i64, BTreeMap<String, i64>) {
    let mut by_date: BTreeMap<String, i64> = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(journal.as_bytes());
    for row in reader.records() {
        let row = row.expect("row");
        if &row[5] != account {
            continue;
        }
        let cents = |text: &str| -> i64 {
            if text.is_empty() {
                return 0;
            }
            let (units, decimals) = text.split_once('.').unwrap_or((text, "00"));
            units.parse::<i64>().expect("units") * 100 + decimals.parse::<i64>().expect("decimals")
        };
        *by_date.entry(row[3].to_owned()).or_default() += cents(&row[7]) - cents(&row[8]);
    }
    let mut running = 0;
    let mut lowest = 0;
    for moved in by_date.values() {
        running += moved;
        lowest = lowest.min(running);
    }
    (lowest, by_date)
}

async fn random_back_dated_postings_never_leave_a_negative_day(app: &TestApp) {
    let seed: u64 = std::env::var("COMMONS_LEDGER_BY_DATE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let (mut posted, mut refused) = (0, 0);
    for _ in 0..60 {
        // In or out of the pool, on a day of two months, current or back-dated.
        let (from, to) = match rng.random_range(0..3) {
            0 => ("funder:a", "pool:general"),
            1 => ("pool:general", "reserve"),
            _ => ("reserve", "pool:general"),
        };
        let day = rng.random_range(0..60_u64);
        let date =
            chrono::NaiveDate::from_ymd_opt(2026, 5, 1).expect("date") + chrono::Days::new(day);
        let amount = format!(
            "{}.{:02}",
            rng.random_range(1..60),
            rng.random_range(0..100)
        );
        let mut body = transfer_body(from, to, &amount, "EUR");
        body["effective_date"] = json!(date.to_string());
        let response = app.post(&format!("{base}/transactions"), &body).await;
        let status = response.status().as_u16();
        assert!(
            status == 201 || status == 422,
            "seed {seed}: {status} {}",
            response.text().await.unwrap_or_default()
        );
        if status == 201 {
            posted += 1
        } else {
            refused += 1
        }
    }
    assert!(
        posted > 10 && refused > 0,
        "seed {seed}: {posted} posted, {refused} refused"
    );
    let journal = app.get(&format!("{base}/reports/journal.csv")).await;
    assert_eq!(journal.status(), 200);
    let journal = journal.text().await.expect("journal");
    for account in ["pool:general", "reserve"] {
        let (lowest, by_date) = lowest_by_date(&journal, account);
        assert!(
            lowest >= 0,
            "seed {seed}: {account} by date in the journal CSV: {by_date:?}"
        );
        // The API's balance is the last running balance by date.
        let shown = json_of(app.get(&format!("{base}/accounts/{account}")).await).await;
        let total: i64 = by_date.values().sum();
        assert_eq!(
            shown["balance"]
                .as_str()
                .expect("balance")
                .replace('.', "")
                .parse::<i64>()
                .expect("cents"),
            total,
            "seed {seed}: {account}"
        );
    }
    if hledger_available() {
        let text = app
            .get(&format!("{base}/reports/journal.hledger"))
            .await
            .text()
            .await
            .expect("hledger");
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("journal.hledger");
        std::fs::write(&file, &text).expect("write");
        let path = file.to_string_lossy().into_owned();
        // hledger's running total of each non-negative account at the end of
        // each day (`-D`): the rule is by date, and within one day the
        // journal lists transactions in posting order, so an outflow may stand
        // before a back-dated inflow of the same day that covers it.
        for account in ["pool:general", "reserve"] {
            let register = hledger(&[
                "-f",
                &path,
                "register",
                &format!("^{account}$"),
                "-D",
                "-O",
                "csv",
            ]);
            assert!(
                register.status.success(),
                "{}",
                String::from_utf8_lossy(&register.stderr)
            );
            let mut reader = csv::Reader::from_reader(register.stdout.as_slice());
            let headers = reader.headers().expect("headers").clone();
            let total = headers
                .iter()
                .position(|h| h == "total")
                .expect("total column");
            for row in reader.records() {
                let row = row.expect("row");
                let running: String = row[total]
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '-' || *c == '.')
                    .collect();
                assert!(
                    !running.starts_with('-'),
                    "seed {seed}: hledger shows {account} at {running} on {}",
                    &row[1]
                );
            }
        }
    }
}
