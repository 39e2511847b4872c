//! Reads from a PostgreSQL streaming replica through `serve --read-only`,
//! against the same reads from the primary, in one run.
//!
//! `COMMONS_LEDGER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
//!  cargo bench --bench replica -- --results bench-results.md`
//!
//! Seeds a ledger through the primary's HTTP API, makes a hot standby of the
//! server with `pg_basebackup` (the server must allow replication
//! connections from 127.0.0.1), starts `serve --read-only` over it, then
//! measures: how long a write takes to become readable on the replica (its
//! replay lag as a client sees it), balance reads per second on each, and
//! journal.csv rows per second from each. docs/scaling.md has the results.

// Shared with the other benches and tests/resilience.rs.
#[path = "support/standby.rs"]
mod standby;
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;

use support::{Server, Store, report, tenths};

#[derive(Debug, Parser)]
struct Options {
    /// Transfers seeded through the primary's API before measuring.
    #[arg(long, default_value_t = 20_000)]
    transfers: u64,
    /// Writes whose visibility on the replica is timed.
    #[arg(long, default_value_t = 300)]
    visibility_samples: usize,
    /// Seconds each read measurement runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// The PostgreSQL server (its standby is made from it).
    #[arg(long, env = "COMMONS_LEDGER_BENCH_POSTGRES_URL")]
    postgres_url: String,
    /// Append the results (Markdown) to this file as well.
    #[arg(long)]
    results: Option<std::path::PathBuf>,
    /// Cargo passes `--bench`; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let options = Options::parse();
    let runtime = support::runtime();
    let mut results = support::results_file(options.results.as_deref());
    runtime.block_on(run(&options, &mut results));
}

async fn run(options: &Options, results: &mut Option<std::fs::File>) {
    let store = Store::postgres(&options.postgres_url);
    drop(store.prepare());
    let primary = Server::start(&store, &[]).await;
    let project = primary.project("Replica").await;
    for (name, non_negative) in [("donors", false), ("reserve", true)] {
        primary
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": name, "currency": "EUR", "non_negative": non_negative}),
            )
            .await;
    }
    let seeding = Instant::now();
    write_transfers(&primary, &project, options.transfers, 16).await;
    let seeded_in = seeding.elapsed();

    let made = Instant::now();
    let standby = standby::start_standby(&store.url);
    let standby_made_in = made.elapsed();
    let standby_url = standby.url_of(&store.url);
    standby::caught_up(&store.url, &standby_url).await;
    let replica_store = Store::existing(&standby_url);
    let replica = Server::start(&replica_store, &[("COMMONS_LEDGER_READ_ONLY", "true")]).await;

    report(
        results,
        &format!(
            "\n### Read replica (PostgreSQL, {} transfers seeded through the API in {} s; standby made by pg_basebackup in {} s)\n\n\
             | what | primary | replica | replica ÷ primary |\n|---|---|---|---|",
            options.transfers,
            seeded_in.as_secs(),
            tenths(standby_made_in.as_millis(), 1000),
        ),
    );

    // A write on the primary, then reads of it on the replica until found.
    let mut visible_us = Vec::new();
    for _ in 0..options.visibility_samples {
        let id = primary
            .post(
                &format!("/v1/projects/{project}/transactions"),
                &transfer("0.01"),
            )
            .await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let acknowledged = Instant::now();
        let url = format!("{}/v1/projects/{project}/transactions/{id}", replica.url);
        loop {
            let response = replica
                .client
                .get(&url)
                .bearer_auth(&replica.token)
                .send()
                .await
                .expect("read");
            if response.status() == 200 {
                break;
            }
            assert_eq!(response.status(), 404, "not there yet, or there");
            assert!(
                acknowledged.elapsed() < Duration::from_secs(30),
                "the replica did not show the write"
            );
        }
        visible_us.push(u64::try_from(acknowledged.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    visible_us.sort_unstable();
    let at = |per_mille: usize| {
        let index = (visible_us.len() * per_mille / 1000).min(visible_us.len() - 1);
        tenths(u128::from(visible_us[index]), 1000)
    };
    report(
        results,
        &format!(
            "| a write readable on the replica after its acknowledgement ({} writes, one at a time) | at once | p50 {} ms, p99 {} ms, max {} ms | |",
            visible_us.len(),
            at(500),
            at(990),
            at(1000),
        ),
    );

    let on_primary = balance_reads(&primary, &project, options.seconds).await;
    let on_replica = balance_reads(&replica, &project, options.seconds).await;
    report(
        results,
        &format!(
            "| balance reads, 8 clients | {on_primary} reads/s | {on_replica} reads/s | {} |",
            ratio(on_replica, on_primary),
        ),
    );

    let (primary_rows, primary_body) = export(&primary, &project).await;
    let (replica_rows, replica_body) = export(&replica, &project).await;
    assert_eq!(
        primary_body.len(),
        replica_body.len(),
        "the replica has replayed every write: the same journal"
    );
    report(
        results,
        &format!(
            "| journal.csv ({} rows) | {primary_rows} rows/s | {replica_rows} rows/s | {} |",
            primary_body.lines().count().saturating_sub(1),
            ratio(replica_rows, primary_rows),
        ),
    );
    replica.stop();
    primary.stop();
    drop(standby);
}

fn transfer(amount: &str) -> serde_json::Value {
    json!({"kind": "transfer", "effective_date": "2026-03-01", "postings": [
        {"from": "donors", "to": "reserve", "amount": amount, "currency": "EUR"}]})
}

/// `count` transfers from `clients` concurrent clients, each with its own key.
async fn write_transfers(server: &Server, project: &str, count: u64, clients: u64) {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let http = server.client.clone();
        let url = format!("{}/v1/projects/{project}/transactions", server.url);
        let token = server.token.clone();
        let share = count / clients + u64::from(client < count % clients);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
                    .json(&transfer("1.00"))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), 201);
            }
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
}

/// Balance reads per second from 8 clients for `seconds`.
async fn balance_reads(server: &Server, project: &str, seconds: u64) -> u128 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let http = server.client.clone();
        let url = format!("{}/v1/projects/{project}/accounts/reserve", server.url);
        let token = server.token.clone();
        tasks.push(tokio::spawn(async move {
            let mut reads = 0u128;
            while Instant::now() < deadline {
                let response = http
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("read");
                assert_eq!(response.status(), 200);
                reads += 1;
            }
            reads
        }));
    }
    let mut reads = 0;
    for task in tasks {
        reads += task.await.expect("client");
    }
    reads * 1000 / started.elapsed().as_millis().max(1)
}

/// journal.csv: rows per second, and the body.
async fn export(server: &Server, project: &str) -> (u128, String) {
    let started = Instant::now();
    let body = server
        .client
        .get(format!(
            "{}/v1/projects/{project}/reports/journal.csv",
            server.url
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("body");
    let rows = u128::try_from(body.lines().count().saturating_sub(1)).unwrap_or(0);
    (rows * 1000 / started.elapsed().as_millis().max(1), body)
}

/// `a / b` to two decimals, without floating point.
fn ratio(a: u128, b: u128) -> String {
    let hundredths = a * 100 / b.max(1);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}
