//! The benchmark suite: starts the real binary and drives it over HTTP.
//!
//! `cargo bench --bench ledger` runs every scenario on SQLite, and on
//! PostgreSQL too when `COMMONS_LEDGER_BENCH_POSTGRES_URL` names a server
//! (a database is created there and dropped afterwards). `-- --help` lists
//! the options; docs/benchmarks.md has the results and how to read them.

// Shared with tests/resilience.rs, which uses parts this file does not.
#[allow(dead_code)]
mod support;

use std::time::Instant;

use clap::Parser;
use commons_ledger::db::Database;
use commons_ledger::db::transactions::post;
use commons_ledger::domain::{AccountName, Amount, NewPosting, NewTransaction, TransactionKind};
use commons_ledger::routes::problem::ApiError;
use serde_json::json;

use support::{Server, Store, report, tenths};

#[derive(Debug, Parser)]
struct Options {
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    scenario: Vec<Scenario>,
    /// Postings in the ledger for the export scenario.
    #[arg(long, default_value_t = 1_000_000)]
    export_postings: u64,
    /// A PostgreSQL server to run the PostgreSQL half against.
    #[arg(long, env = "COMMONS_LEDGER_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Only SQLite, even if a PostgreSQL server is named.
    #[arg(long)]
    sqlite_only: bool,
    /// Append the results (Markdown) to this file as well.
    #[arg(long)]
    results: Option<std::path::PathBuf>,
    /// Cargo passes `--bench`; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    Export,
}

fn main() {
    let options = Options::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut results = options.results.as_ref().map(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("results file")
    });
    let scenarios = if options.scenario.is_empty() {
        vec![Scenario::Export]
    } else {
        options.scenario.clone()
    };
    let mut stores: Vec<fn(&Options) -> Option<Store>> = vec![|_| Some(Store::sqlite())];
    if !options.sqlite_only {
        stores.push(|o| o.postgres_url.as_deref().map(Store::postgres));
    }
    for scenario in scenarios {
        for make in &stores {
            let Some(store) = make(&options) else {
                continue;
            };
            match scenario {
                Scenario::Export => runtime.block_on(export(&options, &store, &mut results)),
            }
        }
    }
}

/// Posts `count` single-posting transfers through the library (seeding,
/// not measured), `batch` to a database transaction. PostgreSQL wants small
/// batches: every posting updates the project's row and two account rows,
/// and row versions made inside one open transaction cannot be pruned, so a
/// long batch gets slower with every posting.
fn seed(db: &Database, project: &str, count: u64, batch: u64) {
    let accounts = [
        AccountName::parse("funder:a").expect("name"),
        AccountName::parse("pool:general").expect("name"),
        AccountName::parse("reserve").expect("name"),
    ];
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(batch);
        db.write(|conn| -> Result<(), ApiError> {
            for i in done..done + batch {
                let to = &accounts[1 + usize::from(i % 2 == 1)];
                let transaction = NewTransaction {
                    kind: TransactionKind::Transfer,
                    effective_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                        .expect("date")
                        .checked_add_days(chrono::Days::new(i / 5_000))
                        .expect("date"),
                    description: format!("seeded transfer {i}"),
                    metadata: "{}".to_owned(),
                    postings: vec![NewPosting {
                        from: accounts[0].clone(),
                        to: to.clone(),
                        amount: Amount::from_minor(i64::try_from(i % 9_973 + 1).expect("amount"))
                            .expect("amount"),
                        unit: "EUR".to_owned(),
                    }],
                };
                post(conn, project, &transaction, None)?;
            }
            Ok(())
        })
        .expect("seed");
        done += batch;
        if done % 20_000 < batch {
            analyze(db);
        }
    }
    analyze(db);
}

/// Refreshes PostgreSQL's planner statistics, as autovacuum would (this
/// machine's server runs with autovacuum off). Without it, plans made while
/// the tables were empty keep scanning them whole as they grow.
fn analyze(db: &Database) {
    use diesel::RunQueryDsl;
    let mut conn = db.connection().expect("connection");
    if let commons_ledger::db::DbConnection::Postgresql(pg) = &mut *conn {
        diesel::sql_query("ANALYZE").execute(pg).expect("analyze");
    }
}

/// journal.csv of a large ledger: rows per second, and the server's peak
/// resident memory, which must not grow with the ledger.
async fn export(options: &Options, store: &Store, results: &mut Option<std::fs::File>) {
    let db = store.prepare();
    let server = Server::start(store, &[]).await;
    let project = server
        .post(
            "/v1/projects",
            &json!({"name": "Export", "currency": "EUR"}),
        )
        .await["id"]
        .as_str()
        .expect("project")
        .to_owned();
    for (name, non_negative) in [
        ("funder:a", false),
        ("pool:general", true),
        ("reserve", true),
    ] {
        server
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": name, "currency": "EUR", "non_negative": non_negative}),
            )
            .await;
    }
    server.stop();
    let seeding = Instant::now();
    let batch = if store.backend() == "SQLite" {
        10_000
    } else {
        200
    };
    seed(&db, &project, options.export_postings, batch);
    let seeded_in = seeding.elapsed();
    drop(db);
    let server = Server::start(store, &[]).await;
    let before = server.peak_rss_kib();
    let started = Instant::now();
    let mut response = server
        .client
        .get(format!(
            "{}/v1/projects/{project}/reports/journal.csv",
            server.url
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("export");
    assert!(response.status().is_success());
    let (mut bytes, mut lines) = (0_u64, 0_u64);
    let mut first_byte = None;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        first_byte.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let elapsed = started.elapsed();
    let rows = lines - 1;
    assert_eq!(rows, options.export_postings * 2, "two rows per posting");
    let peak = server.peak_rss_kib();
    server.stop();
    let ms = elapsed.as_millis().max(1);
    report(
        results,
        &format!(
            "| journal.csv export | {} | {} postings, {} rows, {} MiB | {} s (first byte {} ms) | {} rows/s | peak RSS {} MiB (before the export {} MiB) | seeded in {} s |",
            store.backend(),
            options.export_postings,
            rows,
            tenths(u128::from(bytes), 1024 * 1024),
            tenths(ms, 1000),
            first_byte.map_or(0, |d| d.as_millis()),
            u128::from(rows) * 1000 / ms,
            tenths(u128::from(peak), 1024),
            tenths(u128::from(before), 1024),
            seeded_in.as_secs(),
        ),
    );
}
