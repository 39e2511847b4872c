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
use commons_ledger::db::transactions::{
    Poster, PostingRow, TransactionRow, chain_hash, insert, post,
};
use commons_ledger::domain::{AccountName, Amount, NewPosting, NewTransaction, TransactionKind};
use commons_ledger::http::problem::ApiError;
use serde_json::json;

use support::{Server, Store, report, tenths};

#[derive(Debug, Parser)]
struct Options {
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    scenario: Vec<Scenario>,
    /// Seconds each write measurement runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent clients of the write scenario.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32, 64])]
    clients: Vec<usize>,
    /// Contributors of the distribution scenario.
    #[arg(long, default_value_t = 10_000)]
    contributors: u64,
    /// Approved contributions of the distribution scenario.
    #[arg(long, default_value_t = 1_000_000)]
    contributions: u64,
    /// Postings in the ledger for the export scenario.
    #[arg(long, default_value_t = 1_000_000)]
    export_postings: u64,
    /// Seed the export scenario's ledger through `POST .../transactions/batch`
    /// (1,000 transfers a request, two clients) instead of the library, and
    /// report the rate.
    #[arg(long)]
    seed_through_batches: bool,
    /// A PostgreSQL server to run the PostgreSQL half against.
    #[arg(long, env = "COMMONS_LEDGER_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Only SQLite, even if a PostgreSQL server is named.
    #[arg(long)]
    sqlite_only: bool,
    /// Only PostgreSQL (the server named by `--postgres-url`).
    #[arg(long, conflicts_with = "sqlite_only")]
    postgres_only: bool,
    /// Append the results (Markdown) to this file as well.
    #[arg(long)]
    results: Option<std::path::PathBuf>,
    /// An older build of the binary measured too, in the same run (a
    /// baseline): its single transfers (writes scenario, both backends,
    /// driven in turn with this build's), its balance and value-account
    /// reads (export scenario, both backends, in turn with this build's),
    /// its transfers during a draft and its drafts alone (distribution
    /// scenario, both backends, the drafts in turn with this build's), its
    /// contribution logging (both backends, in turn with this build's).
    #[arg(long)]
    baseline_binary: Option<std::path::PathBuf>,
    /// Cargo passes `--bench`; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// Single-posting transfers at 1, 8, 32 and 64 clients, spread and hot,
    /// against the raw database baselines B1 and B64.
    Writes,
    /// journal.csv of a large ledger, then balance reads on it.
    Export,
    /// Contribution logging at 1 and 64 clients.
    Contributions,
    /// A distribution run over many contributors and approved contributions.
    Distribution,
    /// Transfers through `POST .../transactions/batch`, 1,000 a request.
    Batch,
}

fn main() {
    let options = Options::parse();
    let runtime = support::runtime();
    let mut results = support::results_file(options.results.as_deref());
    let scenarios = if options.scenario.is_empty() {
        vec![
            Scenario::Writes,
            Scenario::Contributions,
            Scenario::Distribution,
            Scenario::Batch,
            Scenario::Export,
        ]
    } else {
        options.scenario.clone()
    };
    let mut stores: Vec<fn(&Options) -> Option<Store>> = Vec::new();
    if !options.postgres_only {
        stores.push(|_| Some(Store::sqlite()));
    }
    if !options.sqlite_only {
        stores.push(|o| o.postgres_url.as_deref().map(Store::postgres));
    }
    for scenario in scenarios {
        for make in &stores {
            let Some(store) = make(&options) else {
                continue;
            };
            match scenario {
                Scenario::Writes => runtime.block_on(writes(&options, &store, &mut results)),
                Scenario::Export => runtime.block_on(export(&options, &store, &mut results)),
                Scenario::Contributions => {
                    runtime.block_on(contributions(&options, &store, &mut results));
                }
                Scenario::Distribution => {
                    runtime.block_on(distribution(&options, &store, &mut results));
                }
                Scenario::Batch => runtime.block_on(batch(&options, &store, &mut results)),
            }
        }
    }
}

/// Posts `count` single-posting transfers through the library (seeding,
/// not measured), `batch` to a database transaction. PostgreSQL wants small
/// batches: every posting updates the project's row and two account rows,
/// and row versions made inside one open transaction cannot be pruned, so a
/// long batch gets slower with every posting.
fn seed(db: &Database, project: &str, count: u64, batch: u64, receiver: &str) {
    let by = poster(db, project);
    let accounts = [
        AccountName::parse("funder:a").expect("name"),
        AccountName::parse(receiver).expect("name"),
        AccountName::parse("reserve").expect("name"),
    ];
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(batch);
        db.write(|conn| -> Result<(), ApiError> {
            let mut poster = Poster::new(project, &by);
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
                poster.post(conn, &transaction, None)?;
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

/// `count` single-posting transfers like [`seed`]'s, through the batch
/// endpoint: atomic batches of 1,000 from two clients, dated from
/// 2020-01-01 on (5,000 a day, so ten million stay in the past).
async fn seed_through_batches(server: &Server, project: &str, count: u64, receiver: &str) {
    let batches = count.div_ceil(1_000);
    let mut tasks = Vec::new();
    for client in 0..2 {
        let http = server.client.clone();
        let url = format!("{}/v1/projects/{project}/transactions/batch", server.url);
        let (token, receiver) = (server.token.clone(), receiver.to_owned());
        tasks.push(tokio::spawn(async move {
            for batch in (client..batches).step_by(2) {
                let items: Vec<serde_json::Value> = (batch * 1_000..(batch * 1_000 + 1_000).min(count))
                    .map(|i| {
                        let to = if i % 2 == 1 { "reserve" } else { receiver.as_str() };
                        let date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
                            .expect("date")
                            .checked_add_days(chrono::Days::new(i / 5_000))
                            .expect("date");
                        let minor = i % 9_973 + 1;
                        json!({"effective_date": date.to_string(),
                            "description": format!("seeded transfer {i}"),
                            "postings": [{"from": "funder:a", "to": to,
                                "amount": format!("{}.{:02}", minor / 100, minor % 100), "currency": "EUR"}]})
                    })
                    .collect();
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
                    .json(&json!({"atomic": true, "transactions": items}))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), 200, "{}", response.text().await.expect("body"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
}

/// Refreshes PostgreSQL's planner statistics and prunes dead row versions,
/// as autovacuum would (this machine's server runs with autovacuum off).
/// Without it, plans made while the tables were empty keep scanning them
/// whole as they grow, and the rows every write updates (the project's, the
/// accounts') drag ever longer chains of dead versions.
fn analyze(db: &Database) {
    use diesel::RunQueryDsl;
    let mut conn = db.connection().expect("connection");
    if let commons_ledger::db::DbConnection::Postgresql(pg) = &mut *conn {
        diesel::sql_query("VACUUM ANALYZE")
            .execute(pg)
            .expect("vacuum analyze");
    }
}

/// journal.csv of a large ledger: rows per second, and the server's peak
/// resident memory, which must not grow with the ledger.
async fn export(options: &Options, store: &Store, results: &mut Option<std::fs::File>) {
    let db = store.prepare();
    let server = Server::start(store, &[]).await;
    let project = server.project("Export").await;
    // Half the postings go to the administrator's contributor account, so
    // that its value account sits on a long history.
    let me = server.get("/v1/me").await["agent"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let receiver = format!("contributor:{me}");
    for (name, non_negative) in [
        ("funder:a", false),
        (receiver.as_str(), true),
        ("reserve", true),
    ] {
        server
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": name, "currency": "EUR", "non_negative": non_negative}),
            )
            .await;
    }
    let seeding = Instant::now();
    if options.seed_through_batches {
        seed_through_batches(&server, &project, options.export_postings, &receiver).await;
        server.stop();
    } else {
        server.stop();
        let batch = if store.backend() == "SQLite" {
            10_000
        } else {
            200
        };
        seed(&db, &project, options.export_postings, batch, &receiver);
    }
    let seeded_in = seeding.elapsed();
    if options.seed_through_batches {
        report(
            results,
            &format!(
                "| seeding through `POST .../transactions/batch` | {} | {} transfers, 1,000 a request, 2 clients | {} s | {} transfers/s |",
                store.backend(),
                options.export_postings,
                seeded_in.as_secs(),
                u128::from(options.export_postings) * 1_000 / seeded_in.as_millis().max(1),
            ),
        );
    }
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
    // Balance and value-account reads on the large ledger, 8 clients: this
    // build's, and with `--baseline-binary` an older build's over the same
    // database, in turn (this, older, this, older), so that their ratio
    // comes from one run on one machine state.
    let mut builds: Vec<(&str, Option<&std::path::Path>)> = vec![("service", None)];
    if let Some(binary) = &options.baseline_binary {
        builds.push(("baseline build", Some(binary.as_path())));
    }
    let rounds = if builds.len() > 1 { 2 } else { 1 };
    let accounts = vec![
        receiver.clone(),
        "reserve".to_owned(),
        "funder:a".to_owned(),
    ];
    let value_path = format!("/v1/projects/{project}/members/{me}/value-account");
    for round in 1..=rounds {
        for (build, binary) in &builds {
            let server = match binary {
                Some(binary) => Server::start_binary(binary, store, &[]).await,
                None => Server::start(store, &[]).await,
            };
            let mut reads = read_balances(&server, &project, &accounts, 8, 2_000).await;
            let mut value_reads =
                read_paths(&server, std::slice::from_ref(&value_path), 8, 500).await;
            server.stop();
            let label = if rounds > 1 {
                format!(" ({build}, round {round})")
            } else {
                String::new()
            };
            report(
                results,
                &format!(
                    "| balance reads{label} | {} | {} postings in the ledger | 8 clients | {} reads/s | p50 {} ms, p99 {} ms |",
                    store.backend(),
                    options.export_postings,
                    reads.throughput(),
                    reads.percentile(500),
                    reads.percentile(990),
                ),
            );
            report(
                results,
                &format!(
                    "| value-account reads{label} | {} | {} postings, half on the contributor's account | 8 clients | {} reads/s | p50 {} ms, p99 {} ms |",
                    store.backend(),
                    options.export_postings,
                    value_reads.throughput(),
                    value_reads.percentile(500),
                    value_reads.percentile(990),
                ),
            );
        }
    }
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

/// Latencies of one measurement, in microseconds, and what they add up to.
struct Run {
    latencies_us: Vec<u64>,
    elapsed: std::time::Duration,
}

impl Run {
    /// The latencies the client `tasks` measured, from `started` until the
    /// last of them ends.
    async fn gathered(tasks: Vec<tokio::task::JoinHandle<Vec<u64>>>, started: Instant) -> Run {
        let mut latencies_us = Vec::new();
        for task in tasks {
            latencies_us.extend(task.await.expect("client"));
        }
        Run {
            latencies_us,
            elapsed: started.elapsed(),
        }
    }

    fn throughput(&self) -> u128 {
        (self.latencies_us.len() as u128) * 1_000_000 / self.elapsed.as_micros().max(1)
    }

    fn percentile(&mut self, per_mille: usize) -> String {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        if n == 0 {
            return "-".to_owned();
        }
        let index = (n * per_mille / 1000).min(n - 1);
        tenths(u128::from(self.latencies_us[index]), 1000)
    }
}

const SPREAD_ACCOUNTS: usize = 64;

/// Clients posting transfers while a draft is computed.
const DRAFT_CLIENTS: usize = 8;

/// The account a write goes to: the hot pool, or one of 64 spread over.
fn target(hot: bool, i: usize) -> String {
    if hot {
        "pool:hot".to_owned()
    } else {
        format!("pool:s{}", i % SPREAD_ACCOUNTS)
    }
}

async fn write_project(server: &Server) -> String {
    let project = server.project("Writes").await;
    write_accounts(server, &project).await;
    project
}

/// The accounts transfers of [`drive`] use, in `project`.
async fn write_accounts(server: &Server, project: &str) {
    let mut names = vec![
        ("funder:a".to_owned(), false),
        ("pool:hot".to_owned(), true),
    ];
    names.extend((0..SPREAD_ACCOUNTS).map(|i| (format!("pool:s{i}"), true)));
    for (name, non_negative) in names {
        server
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": name, "currency": "EUR", "non_negative": non_negative}),
            )
            .await;
    }
}

/// `clients` clients posting transfers for `seconds`, each with its own
/// `Idempotency-Key`, as a careful client does.
async fn drive(server: &Server, project: &str, clients: usize, hot: bool, seconds: u64) -> Run {
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    drive_while(server, project, clients, hot, move || {
        Instant::now() < deadline
    })
    .await
}

/// Like [`drive`], for as long as `going` says. The clients start at once;
/// the future returned waits for them.
fn drive_while(
    server: &Server,
    project: &str,
    clients: usize,
    hot: bool,
    going: impl Fn() -> bool + Clone + Send + 'static,
) -> impl std::future::Future<Output = Run> + Send + 'static {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let http = server.client.clone();
        let url = format!("{}/v1/projects/{project}/transactions", server.url);
        let token = server.token.clone();
        let going = going.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = client;
            while going() {
                let body = json!({"effective_date": "2026-03-01", "description": "benchmark",
                    "postings": [{"from": "funder:a", "to": target(hot, i), "amount": "1.00", "currency": "EUR"}]});
                let (response, micros) = timed_post(&http, &url, &token, &body).await;
                assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
                latencies.push(micros);
                i += clients;
            }
            latencies
        }));
    }
    Run::gathered(tasks, started)
}

/// Who posts the transfers the benchmark writes through the library: a
/// member of the project (the ledger records who posted each transaction).
fn poster(db: &Database, project: &str) -> String {
    db.read(|conn| -> Result<_, ApiError> {
        Ok(commons_ledger::db::memberships::list(
            conn, project, None, 1,
        )?)
    })
    .expect("members")
    .first()
    .expect("a member")
    .0
    .agent_id
    .to_string()
}

/// The raw database baseline: the same transfer through diesel and the
/// ledger's posting code, one database transaction per transfer, same
/// durability, no HTTP, no idempotency key, from `threads` threads.
fn baseline(
    db: &std::sync::Arc<Database>,
    project: &str,
    threads: usize,
    hot: bool,
    seconds: u64,
) -> Run {
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let db = db.clone();
            let project = project.to_owned();
            let by = poster(&db, &project);
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut i = thread;
                let from = AccountName::parse("funder:a").expect("name");
                while Instant::now() < deadline {
                    let to = AccountName::parse(&target(hot, i)).expect("name");
                    let transaction = NewTransaction {
                        kind: TransactionKind::Transfer,
                        effective_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
                        description: "benchmark".to_owned(),
                        metadata: "{}".to_owned(),
                        postings: vec![NewPosting {
                            from: from.clone(),
                            to,
                            amount: Amount::from_minor(100).expect("amount"),
                            unit: "EUR".to_owned(),
                        }],
                    };
                    let sent = Instant::now();
                    db.write(|conn| -> Result<(), ApiError> {
                        post(conn, (&project, &by), &transaction, None)?;
                        Ok(())
                    })
                    .expect("write");
                    latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                    i += threads;
                }
                latencies
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    for handle in handles {
        latencies_us.extend(handle.join().expect("thread"));
    }
    Run {
        latencies_us,
        elapsed: started.elapsed(),
    }
}

/// Each number of clients with each build, the builds in turn: the one
/// measured first alternates from one number of clients to the next (and
/// with `shift`), since of two measurements back to back the second runs
/// faster on this machine (about 10 % on PostgreSQL: docs/benchmarks.md),
/// which would otherwise favour the build always measured second.
fn in_turn<'a, B>(clients: &[usize], builds: &'a [B], shift: usize) -> Vec<(usize, &'a B)> {
    let mut turns = Vec::new();
    for (i, &clients) in clients.iter().enumerate() {
        let mut order: Vec<&B> = builds.iter().collect();
        if (i + shift) % 2 == 1 {
            order.reverse();
        }
        turns.extend(order.into_iter().map(|build| (clients, build)));
    }
    turns
}

/// Transfers through the service at each concurrency, spread and hot, and
/// the raw baselines, side by side.
async fn writes(options: &Options, store: &Store, results: &mut Option<std::fs::File>) {
    let db = std::sync::Arc::new(store.prepare());
    let server = Server::start(store, &[("COMMONS_LEDGER_POOL_SIZE", "16")]).await;
    let project = write_project(&server).await;
    // An older build, driven in turn with this one on the same database and
    // project (one at a time), when `--baseline-binary` names one.
    let mut builds = vec![("service", server)];
    if let Some(binary) = &options.baseline_binary {
        let baseline =
            Server::start_binary(binary, store, &[("COMMONS_LEDGER_POOL_SIZE", "16")]).await;
        builds.push(("baseline build", baseline));
    }
    // Warm up, then fresh statistics (autovacuum would, on a normal server).
    for (_, server) in &builds {
        drive(server, &project, 8, false, 1).await;
    }
    analyze(&db);
    let seconds = options.seconds;
    let backend = store.backend();
    for hot in [false, true] {
        let mode = if hot { "hot pool" } else { "64 accounts" };
        analyze(&db);
        let mut raw = baseline(&db, &project, 1, hot, seconds);
        let b1_throughput = raw.throughput();
        report(
            results,
            &format!(
                "| {backend} | raw B1 | {mode} | 1 | {} | {} | {} | 1.00 |",
                raw.throughput(),
                raw.percentile(500),
                raw.percentile(990)
            ),
        );
        let mut b64_throughput = None;
        if backend == "PostgreSQL" {
            analyze(&db);
            let mut raw64 = baseline(&db, &project, 64, hot, seconds);
            b64_throughput = Some(raw64.throughput());
            report(
                results,
                &format!(
                    "| {backend} | raw B64 | {mode} | 64 | {} | {} | {} | {} |",
                    raw64.throughput(),
                    raw64.percentile(500),
                    raw64.percentile(990),
                    tenths(raw64.throughput() * 10, b1_throughput.max(1) * 10),
                ),
            );
        }
        for (clients, (build, server)) in in_turn(&options.clients, &builds, usize::from(hot)) {
            analyze(&db);
            let before = commit_counters(server).await;
            let mut run = drive(server, &project, clients, hot, seconds).await;
            let after = commit_counters(server).await;
            let batch = tenths(
                u128::from(after.1 - before.1) * 10,
                u128::from((after.0 - before.0).max(1)) * 10,
            );
            let against_b64 = b64_throughput
                .map(|b64| {
                    format!(
                        " ({} × B64)",
                        tenths(run.throughput() * 10, b64.max(1) * 10)
                    )
                })
                .unwrap_or_default();
            report(
                results,
                &format!(
                    "| {backend} | {build} | {mode} | {clients} | {} | {} | {} | {}{against_b64} | {batch} |",
                    run.throughput(),
                    run.percentile(500),
                    run.percentile(990),
                    tenths(run.throughput() * 10, b1_throughput.max(1) * 10),
                ),
            );
        }
    }
    for (build, server) in builds {
        report(
            results,
            &format!(
                "| {backend} | {build} peak RSS | | | {} MiB | | | |",
                tenths(u128::from(server.peak_rss_kib()), 1024)
            ),
        );
        server.stop();
    }
}

/// `clients` clients each reading an account's balance `count` times.
async fn read_balances(
    server: &Server,
    project: &str,
    accounts: &[String],
    clients: usize,
    count: usize,
) -> Run {
    let paths: Vec<String> = accounts
        .iter()
        .map(|a| format!("/v1/projects/{project}/accounts/{a}"))
        .collect();
    read_paths(server, &paths, clients, count).await
}

/// `clients` clients each reading the `paths` in turn, `count` times.
async fn read_paths(server: &Server, paths: &[String], clients: usize, count: usize) -> Run {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let http = server.client.clone();
        let token = server.token.clone();
        let urls: Vec<String> = paths.iter().map(|p| format!("{}{p}", server.url)).collect();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for i in 0..count {
                let sent = Instant::now();
                let response = http
                    .get(&urls[(client + i) % urls.len()])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("read");
                assert_eq!(response.status(), 200);
                response.bytes().await.expect("body");
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            latencies
        }));
    }
    Run::gathered(tasks, started).await
}

/// The group committer's counters from /metrics: shared commits, and the
/// write requests they carried.
async fn commit_counters(server: &Server) -> (u64, u64) {
    let text = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        value("commons_ledger_group_commits_total "),
        value("commons_ledger_group_commit_requests_total "),
    )
}

/// A project valuing time at 25.00 EUR an hour.
async fn contribution_project(server: &Server, name: &str) -> String {
    let project = server
        .post("/v1/projects", &json!({"name": name, "currency": "EUR"}))
        .await["id"]
        .as_str()
        .expect("project")
        .to_owned();
    server
        .post(
            &format!("/v1/projects/{project}/rates"),
            &json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00",
                    "currency": "EUR", "per": "hour", "method": "replacement cost", "source": "bench"}),
        )
        .await;
    project
}

/// Contributions logged (valued at once from the rate in force), each with
/// its own `Idempotency-Key`; with `--baseline-binary`, by the older build
/// and this one in turn, twice, each in a server of its own on the same
/// database and project.
async fn contributions(options: &Options, store: &Store, results: &mut Option<std::fs::File>) {
    let db = store.prepare();
    let server = Server::start(store, &[]).await;
    let project = contribution_project(&server, "Contributions").await;
    analyze(&db);
    server.stop();
    let mut builds: Vec<(String, Option<&std::path::PathBuf>)> = Vec::new();
    match &options.baseline_binary {
        Some(binary) => {
            for round in 1..=2 {
                builds.push((format!("baseline build, round {round}"), Some(binary)));
                builds.push((format!("service, round {round}"), None));
            }
        }
        None => builds.push(("service".to_owned(), None)),
    }
    for (build, older) in builds {
        let server = match older {
            Some(binary) => Server::start_binary(binary, store, &[]).await,
            None => Server::start(store, &[]).await,
        };
        for clients in [1, 64] {
            let path = format!("/v1/projects/{project}/contributions");
            let body = json!({"kind": "time", "date": "2026-03-02", "quantity": "1.5",
                              "unit": "hour", "description": "benchmark"});
            let mut run = post_for(&server, (&path, &body, 201), clients, options.seconds).await;
            report(
                results,
                &format!(
                    "| contribution logging | {} | {build} | {clients} clients | {} /s | p50 {} ms, p99 {} ms |",
                    store.backend(),
                    run.throughput(),
                    run.percentile(500),
                    run.percentile(990),
                ),
            );
        }
        server.stop();
    }
}

/// One `POST` of `body` to `url` with a fresh `Idempotency-Key`, and how long
/// its answer took, in microseconds.
async fn timed_post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> (reqwest::Response, u64) {
    let sent = Instant::now();
    let response = http
        .post(url)
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(body)
        .send()
        .await
        .expect("request");
    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
    (response, micros)
}

/// `clients` posting `body` to `path` (under the server's URL), each request
/// with a fresh `Idempotency-Key` and answered `status`, for `seconds`.
async fn post_for(
    server: &Server,
    (path, body, status): (&str, &serde_json::Value, u16),
    clients: usize,
    seconds: u64,
) -> Run {
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let http = server.client.clone();
        let url = format!("{}{path}", server.url);
        let (token, body) = (server.token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let (response, micros) = timed_post(&http, &url, &token, &body).await;
                assert_eq!(response.status(), status);
                latencies.push(micros);
            }
            latencies
        }));
    }
    Run::gathered(tasks, started).await
}

/// Atomic batches of 1,000 single-posting transfers (no item keys, a key per
/// request) from 1 and 4 clients for `--seconds` each: transfers per second
/// through HTTP, then the ledger verified (chain, balances, audit trail).
/// With `--baseline-binary`, the older build posts to the same project in
/// turn with this one, at each number of clients.
async fn batch(options: &Options, store: &Store, results: &mut Option<std::fs::File>) {
    let db = store.prepare();
    let server = Server::start(store, &[]).await;
    let project = batch_project(&server, "Batches").await;
    let mut builds = vec![("service", server)];
    if let Some(binary) = &options.baseline_binary {
        builds.push((
            "baseline build",
            Server::start_binary(binary, store, &[]).await,
        ));
    }
    let server = &builds[0].1;
    let raw = batch_baselines(&db, server, options.seconds).await;
    for (what, rate) in [
        (
            "raw: the posting code, 1,000 transfers per database transaction, one thread",
            raw.0,
        ),
        (
            "raw: their rows only (transaction and posting inserts with their triggers)",
            raw.1,
        ),
    ] {
        report(
            results,
            &format!(
                "| batch transfers | {} | {what} | {rate} transfers/s | |",
                store.backend()
            ),
        );
    }
    let item = json!({"effective_date": "2026-03-01",
        "postings": [{"from": "funder:a", "to": "pool:general", "amount": "1.00", "currency": "EUR"}]});
    let body = json!({"atomic": true, "transactions": vec![item; 1_000]});
    let mut posted = 0_u64;
    for (clients, (build, driven)) in in_turn(&[1, 4], &builds, 0) {
        analyze(&db);
        let path = format!("/v1/projects/{project}/transactions/batch");
        let mut run = post_for(driven, (&path, &body, 200), clients, options.seconds).await;
        let batches = run.latencies_us.len() as u64;
        posted += batches * 1_000;
        let millis = run.elapsed.as_millis().max(1);
        report(
            results,
            &format!(
                "| batch transfers | {} | {build}: {clients} clients, atomic batches of 1,000 | {} transfers/s ({batches} batches in {} s; {} × raw posting code) | batch p50 {} ms, p99 {} ms |",
                store.backend(),
                u128::from(batches * 1_000) * 1_000 / millis,
                tenths(millis, 1000),
                hundredths(u128::from(batches * 1_000) * 1_000 / millis, raw.0),
                run.percentile(500),
                run.percentile(990),
            ),
        );
    }
    // The raw projects were posted without requests, so without audit
    // events: verification checks the events last, and finds only that.
    let mut checked = Vec::new();
    for project in raw.2.iter().chain([&project]) {
        let verified = server.verification(project).await;
        let raw_project = raw.2.contains(project);
        let unaudited = verified["discrepancy"]["code"] == "unrecorded_transaction";
        assert!(
            verified["ok"] == true || (raw_project && unaudited),
            "{verified}"
        );
        checked.push(verified["transactions_checked"].as_u64().expect("count"));
    }
    assert_eq!(checked.last(), Some(&posted));
    report(
        results,
        &format!(
            "| batch transfers | {} | verification of the three projects (raw posting code, raw rows, batches): hash chain, balances, value totals; audit trail for the batches | ok: {checked:?} transactions | |",
            store.backend()
        ),
    );
    for (_, server) in builds {
        server.stop();
    }
}

/// A project named `name` with the batch scenario's two accounts,
/// `funder:a` and the non-negative `pool:general`; its id.
async fn batch_project(server: &Server, name: &str) -> String {
    let project = server.project(name).await;
    for (account, non_negative) in [("funder:a", false), ("pool:general", true)] {
        server
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": account, "currency": "EUR", "non_negative": non_negative}),
            )
            .await;
    }
    project
}

/// The batch's raw baselines, each in a project of its own with the same
/// two accounts, `seconds` long, 1,000 transfers (as the batch's items) per
/// database transaction from one thread, same durability: through the
/// posting code (`Poster`: the chain head and the accounts read once,
/// hashing, the domain rules, the inserts), and the inserts alone of rows
/// made beforehand (what the database takes, triggers included). Transfers
/// per second of each, and the two projects.
async fn batch_baselines(
    db: &Database,
    server: &Server,
    seconds: u64,
) -> (u128, u128, Vec<String>) {
    let projects = vec![
        batch_project(server, "Raw batches").await,
        batch_project(server, "Raw rows").await,
    ];
    let transfer = NewTransaction {
        kind: TransactionKind::Transfer,
        effective_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
        description: String::new(),
        metadata: "{}".to_owned(),
        postings: vec![NewPosting {
            from: AccountName::parse("funder:a").expect("name"),
            to: AccountName::parse("pool:general").expect("name"),
            amount: Amount::from_minor(100).expect("amount"),
            unit: "EUR".to_owned(),
        }],
    };
    let by = poster(db, &projects[0]);
    let timed = |work: &mut dyn FnMut() -> std::time::Duration| {
        let (mut count, mut elapsed) = (0_u128, std::time::Duration::ZERO);
        let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
        while Instant::now() < deadline {
            elapsed += work();
            count += 1_000;
        }
        count * 1_000_000 / elapsed.as_micros().max(1)
    };
    // Fresh planner statistics before each measurement (PostgreSQL; see
    // `analyze`), as the writes scenario has.
    analyze(db);
    let code = timed(&mut || {
        let started = Instant::now();
        db.write(|conn| -> Result<(), ApiError> {
            let mut poster = Poster::new(&projects[0], &by);
            for _ in 0..1_000 {
                poster.post(conn, &transfer, None)?;
            }
            Ok(())
        })
        .expect("raw batch");
        started.elapsed()
    });
    let mut head = (0, commons_ledger::domain::hash::GENESIS_HASH.to_owned(), 0);
    analyze(db);
    let rows = timed(&mut || {
        let batch = raw_rows(db, &projects[1], &by, &mut head);
        let started = Instant::now();
        db.write(|conn| -> Result<(), ApiError> {
            for (row, postings) in &batch {
                insert(conn, row, postings)?;
            }
            Ok(())
        })
        .expect("raw rows");
        started.elapsed()
    });
    (code, rows, projects)
}

/// `numerator / denominator` to two decimals.
fn hundredths(numerator: u128, denominator: u128) -> String {
    let scaled = numerator * 100 / denominator.max(1);
    format!("{}.{:02}", scaled / 100, scaled % 100)
}

/// 1,000 transfers of 1.00 EUR from `funder:a` to `pool:general` of
/// `project` as rows, chained from `head` (sequence, hash, the pool's
/// balance), which moves on.
fn raw_rows(
    db: &Database,
    project: &str,
    by: &str,
    head: &mut (i64, String, i64),
) -> Vec<(TransactionRow, Vec<PostingRow>)> {
    let id = |name: &str| {
        db.read(|conn| -> Result<_, ApiError> {
            Ok(commons_ledger::db::accounts::find(conn, project, name)?)
        })
        .expect("account")
        .expect("an account")
        .id
    };
    let (funder, pool) = (id("funder:a"), id("pool:general"));
    (0..1_000)
        .map(|_| {
            let transaction_id = uuid::Uuid::now_v7().to_string();
            head.0 += 1;
            head.2 += 100;
            let postings = vec![PostingRow {
                transaction_id: transaction_id.clone(),
                project_id: project.to_owned(),
                position: 0,
                from_account_id: funder.clone(),
                to_account_id: pool.clone(),
                amount: 100,
                currency: "EUR".to_owned(),
                from_balance_after: -head.2,
                to_balance_after: head.2,
            }];
            let row = TransactionRow {
                id: transaction_id,
                project_id: project.to_owned(),
                sequence: head.0,
                kind: "transfer".to_owned(),
                effective_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
                recorded_at: commons_ledger::db::now(),
                description: String::new(),
                metadata: "{}".to_owned(),
                reverses_id: None,
                previous_hash: head.1.clone(),
                hash: String::new(),
                recorded_by: Some(by.to_owned()),
            };
            let row = TransactionRow {
                hash: chain_hash(&row, &postings),
                ..row
            };
            head.1.clone_from(&row.hash);
            (row, postings)
        })
        .collect()
}

/// `--contributors` members with `--contributions` approved contributions
/// between them (seeded through the library), then a distribution run over
/// all of them: the dry run, approval and execution timed over HTTP.
async fn distribution(options: &Options, store: &Store, results: &mut Option<std::fs::File>) {
    use commons_ledger::db::agents::NewAgent;
    use commons_ledger::db::contributions::ContributionRow;
    let db = store.prepare();
    // Runs are approved by someone other than their author (four eyes).
    let approver = ("approver@example.org", "an approver's passphrase");
    commons_ledger::admin::create_admin(&db, approver.0, "Approver", approver.1).expect("approver");
    let server = Server::start(store, &[]).await;
    let project = contribution_project(&server, "Distribution").await;
    let funder = server
        .post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await["id"]
        .as_str()
        .expect("funder")
        .to_owned();
    server
        .post(
            &format!("/v1/projects/{project}/grants"),
            &json!({"funder": funder, "kind": "donation", "reference": "BENCH", "amount": "1000000.00",
                    "currency": "EUR", "received_on": "2026-02-01"}),
        )
        .await;
    server
        .post(
            &format!("/v1/projects/{project}/rule-sets"),
            &json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
                "to": {"type": "pro_rata", "weights": {"time": "1"}}}], "residue": {"type": "pool"}}),
        )
        .await;
    let rate: String = {
        use commons_ledger::db::schema::rates;
        use diesel::prelude::*;
        let mut conn = db.connection().expect("connection");
        rates::table
            .filter(rates::project_id.eq(&project))
            .select(rates::id)
            .first(&mut *conn)
            .expect("rate")
    };
    server.stop();
    let seeding = Instant::now();
    let contributors = options.contributors.max(1);
    let mut agents = Vec::new();
    for chunk in 0..contributors.div_ceil(1_000) {
        let made = db
            .write(|conn| -> Result<Vec<String>, ApiError> {
                let mut ids = Vec::new();
                for i in chunk * 1_000..((chunk + 1) * 1_000).min(contributors) {
                    let agent = commons_ledger::db::agents::insert(
                        conn,
                        &NewAgent {
                            kind: "person",
                            name: &format!("Contributor {i}"),
                            email: None,
                            password_hash: None,
                            is_admin: false,
                            created_by: None,
                        },
                    )?;
                    commons_ledger::db::memberships::insert(
                        conn,
                        &project,
                        &agent.id,
                        commons_ledger::domain::access::Role::Contributor,
                    )?;
                    ids.push(agent.id.into_string());
                }
                Ok(ids)
            })
            .expect("agents");
        agents.extend(made);
    }
    let mut done = 0;
    while done < options.contributions {
        let batch = (options.contributions - done).min(10_000);
        db.write(|conn| -> Result<(), ApiError> {
            let now = commons_ledger::db::now();
            for i in done..done + batch {
                let agent = &agents[usize::try_from(i % contributors).expect("index")];
                // 0.25 to 8 hours, so that shares differ.
                let quantity = i64::try_from(25 * (1 + i % 32)).expect("quantity");
                commons_ledger::db::contributions::insert(
                    conn,
                    &ContributionRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        project_id: project.clone(),
                        agent_id: agent.clone(),
                        kind: commons_ledger::domain::contribution::ContributionKind::Time,
                        date: chrono::NaiveDate::from_ymd_opt(
                            2026,
                            3,
                            1 + u32::try_from(i % 28).expect("day"),
                        )
                        .expect("date"),
                        quantity,
                        unit: commons_ledger::domain::contribution::QuantityUnit::Hour,
                        description: String::new(),
                        skill: None,
                        equipment: None,
                        dataset_title: None,
                        dataset_uri: None,
                        dataset_size_bytes: None,
                        dataset_checksum: None,
                        licence: None,
                        rate_id: Some(rate.clone()),
                        value: Some(quantity * 25),
                        currency: Some("EUR".to_owned()),
                        supersedes_id: None,
                        status: commons_ledger::domain::contribution::ContributionStatus::Approved,
                        recorded_by: agent.clone(),
                        recorded_at: now,
                        decided_at: Some(now),
                    },
                )?;
            }
            Ok(())
        })
        .expect("contributions");
        done += batch;
    }
    analyze(&db);
    let seeded_in = seeding.elapsed();
    let base = format!("/v1/projects/{project}/distributions");
    let draft_body = json!({"rule_set_version": 1, "pool": "pool:general", "amount": "100000.00",
                    "period_from": "2026-03-01", "period_to": "2026-03-31"});
    let mut accounts_open = false;
    if let Some(binary) = &options.baseline_binary {
        let server = Server::start_binary(
            binary,
            store,
            &[("COMMONS_LEDGER_REQUEST_TIMEOUT_S", "600")],
        )
        .await;
        write_accounts(&server, &project).await;
        accounts_open = true;
        transfers_during_draft(
            &server,
            &project,
            &base,
            &draft_body,
            options,
            "baseline build",
            results,
        )
        .await;
        server.stop();
        // Drafts alone, by the older build and this one in turn, twice,
        // each in a server of its own: their ratio from one run.
        for round in 1..=2 {
            for (build, older) in [("baseline build", Some(binary)), ("service", None)] {
                let env = [("COMMONS_LEDGER_REQUEST_TIMEOUT_S", "600")];
                let server = match older {
                    Some(binary) => Server::start_binary(binary, store, &env).await,
                    None => Server::start(store, &env).await,
                };
                let started = Instant::now();
                let draft = server.post(&base, &draft_body).await;
                let drafted = started.elapsed();
                assert!(draft["id"].is_string(), "{draft}");
                server.stop();
                report(
                    results,
                    &format!(
                        "| draft (dry run) alone | {} | {build}, round {round} | {} approved contributions | {} ms |",
                        store.backend(),
                        options.contributions,
                        drafted.as_millis(),
                    ),
                );
            }
        }
    }
    let server = Server::start(store, &[("COMMONS_LEDGER_REQUEST_TIMEOUT_S", "600")]).await;
    let before = server.peak_rss_kib();
    if !accounts_open {
        write_accounts(&server, &project).await;
    }
    transfers_during_draft(
        &server,
        &project,
        &base,
        &draft_body,
        options,
        store.backend(),
        results,
    )
    .await;
    // The run is measured in a server of its own: one that has computed
    // no draft before, and in which the approver signs in before the run is
    // measured (a password's hash takes its hasher's working memory, 19 MiB
    // once a hasher, which is not the run's).
    let whole_peak = server.peak_rss_kib();
    server.stop();
    let server = Server::start(store, &[("COMMONS_LEDGER_REQUEST_TIMEOUT_S", "600")]).await;
    let signed_in = server
        .client
        .post(format!("{}/v1/auth/token", server.url))
        .json(&json!({"email": approver.0, "password": approver.1}))
        .send()
        .await
        .expect("sign in")
        .json::<serde_json::Value>()
        .await
        .expect("token");
    server.reset_peak_rss();
    let run_before = server.rss_kib();
    let started = Instant::now();
    let draft = server.post(&base, &draft_body).await;
    let drafted = started.elapsed();
    let lines = draft["lines"].as_array().map_or(0, Vec::len);
    let id = draft["id"].as_str().expect("run").to_owned();
    let approved = server
        .client
        .post(format!("{}{base}/{id}/approvals", server.url))
        .bearer_auth(signed_in["access_token"].as_str().expect("token"))
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(&json!({}))
        .send()
        .await
        .expect("approval");
    assert_eq!(approved.status(), 201, "approved by another administrator");
    let started = Instant::now();
    let executed = server
        .post(&format!("{base}/{id}/execution"), &json!({}))
        .await;
    let execution = started.elapsed();
    assert_eq!(executed["status"], "executed");
    let peak = server.peak_rss_kib();
    // Verification reads every run's selection too (a million numbers a
    // draft here: this scenario's, and those of the drafts before it).
    let started = Instant::now();
    let verified = server.verification(&project).await;
    let verifying = started.elapsed();
    assert_eq!(verified["ok"], true, "{verified}");
    let runs = server.get(&format!("{base}?limit=100")).await["items"]
        .as_array()
        .map_or(0, Vec::len);
    server.stop();
    report(
        results,
        &format!(
            "| distribution run | {} | {} contributors, {} approved contributions | dry run {} ms ({lines} lines); execution {} ms | the run's peak RSS {} MiB (before its draft {} MiB, a fresh server); the transfers during a draft before it: peak {} MiB (at the start {} MiB) | seeded in {} s |",
            store.backend(),
            contributors,
            options.contributions,
            drafted.as_millis(),
            execution.as_millis(),
            tenths(u128::from(peak), 1024),
            tenths(u128::from(run_before), 1024),
            tenths(u128::from(whole_peak), 1024),
            tenths(u128::from(before), 1024),
            seeded_in.as_secs(),
        ),
    );
    report(
        results,
        &format!(
            "| verification after the run | {} | the project: {} transactions, {} runs' selections over {} approved contributions | {} ms | ok |",
            store.backend(),
            verified["transactions_checked"],
            runs,
            options.contributions,
            verifying.as_millis(),
        ),
    );
}

/// Transfers in `project`, alone and then while a draft over every
/// contribution is computed: the draft must not hold the writer (or the
/// project's lock) while it reads and computes.
async fn transfers_during_draft(
    server: &Server,
    project: &str,
    base: &str,
    draft_body: &serde_json::Value,
    options: &Options,
    label: &str,
    results: &mut Option<std::fs::File>,
) {
    let mut alone = drive(server, project, DRAFT_CLIENTS, false, options.seconds).await;
    // A first draft warms the database's caches, as the second will find them.
    let rehearsal = server.post(base, draft_body).await;
    assert!(rehearsal["id"].is_string(), "{rehearsal}");
    let drafting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let going = drafting.clone();
    let transfers = tokio::spawn(drive_while(
        server,
        project,
        DRAFT_CLIENTS,
        false,
        move || going.load(std::sync::atomic::Ordering::SeqCst),
    ));
    let started = Instant::now();
    server.post(base, draft_body).await;
    let drafted = started.elapsed();
    drafting.store(false, std::sync::atomic::Ordering::SeqCst);
    let mut during = transfers.await.expect("transfers");
    report(
        results,
        &format!(
            "| transfers while a draft is computed | {label} | {DRAFT_CLIENTS} clients | alone: {}/s, p50 {} ms, p99 {} ms, max {} ms | during a {} ms draft over {} contributions: {} transfers, p50 {} ms, p99 {} ms, max {} ms |",
            alone.throughput(),
            alone.percentile(500),
            alone.percentile(990),
            alone.percentile(1000),
            drafted.as_millis(),
            options.contributions,
            during.latencies_us.len(),
            during.percentile(500),
            during.percentile(990),
            during.percentile(1000),
        ),
    );
}
