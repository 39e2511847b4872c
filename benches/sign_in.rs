//! Sign-in under attack: many concurrent `POST /v1/auth/token` with wrong
//! passwords for unknown emails, from many client addresses (the service
//! limits by TCP peer, so each client binds its own 127.0.0.x source
//! address), against the real release binary on SQLite. Records the
//! server's memory (idle before, peak `VmHWM`, and right after the storm),
//! the answers by status, and the latency of `/healthz` polled meanwhile.
//!
//! `cargo bench --bench sign_in -- --help` lists the options; with
//! `--baseline-binary` a build from before bounded hashing is measured in
//! the same run, at a smaller load (its memory grows with the load: the
//! default 150 sign-ins took it to about 3 GB). docs/benchmarks.md has the
//! results.

// Shared with the other benchmarks and tests/resilience.rs.
#[allow(dead_code)]
mod support;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;

use support::{Server, Store, report, tenths};

#[derive(Debug, Parser)]
struct Options {
    /// Concurrent sign-ins of the main load.
    #[arg(long, default_value_t = 1_000)]
    sign_ins: usize,
    /// Client addresses they come from (127.0.0.10 and up).
    #[arg(long, default_value_t = 50)]
    addresses: u8,
    /// A build of `commons-ledger` from before bounded hashing, measured
    /// at the baseline load.
    #[arg(long)]
    baseline_binary: Option<PathBuf>,
    /// Concurrent sign-ins of the baseline load (the old binary's and the
    /// new one's, for the ratio).
    #[arg(long, default_value_t = 150)]
    baseline_sign_ins: usize,
    /// Client addresses of the baseline load.
    #[arg(long, default_value_t = 6)]
    baseline_addresses: u8,
    /// Append the results (Markdown) to this file as well.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Cargo passes `--bench`; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Memory bound the default settings must keep the server within.
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// Pause between two `/healthz` probes.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_millis(20);

struct Load<'a> {
    label: &'a str,
    binary: &'a Path,
    env: &'a [(&'a str, &'a str)],
    sign_ins: usize,
    addresses: u8,
}

struct Outcome {
    idle_kib: u64,
    peak_kib: u64,
    after_kib: u64,
    answered: usize,
    too_many: usize,
    busy: usize,
    other: usize,
    storm: Duration,
    health_ms: Vec<u128>,
    health_failures: usize,
}

fn main() {
    let options = Options::parse();
    let runtime = support::runtime();
    let mut results = support::results_file(options.results.as_deref());
    let current = Path::new(env!("CARGO_BIN_EXE_commons-ledger"));
    let no_ceiling = [("COMMONS_LEDGER_LOGIN_ATTEMPTS_PER_INSTANCE", "1000000")];
    let mut loads = Vec::new();
    if let Some(baseline) = &options.baseline_binary {
        loads.push(Load {
            label: "before: a thread and 19 MiB per sign-in, unbounded",
            binary: baseline,
            env: &[],
            sign_ins: options.baseline_sign_ins,
            addresses: options.baseline_addresses,
        });
    }
    loads.push(Load {
        label: "bounded hashing, defaults",
        binary: current,
        env: &[],
        sign_ins: options.baseline_sign_ins,
        addresses: options.baseline_addresses,
    });
    loads.push(Load {
        label: "bounded hashing, defaults",
        binary: current,
        env: &[],
        sign_ins: options.sign_ins,
        addresses: options.addresses,
    });
    loads.push(Load {
        label: "bounded hashing, instance ceiling lifted",
        binary: current,
        env: &no_ceiling,
        sign_ins: options.sign_ins,
        addresses: options.addresses,
    });
    report(
        &mut results,
        "| server | sign-ins | addresses | 401 | 429 | 503 | other | storm s | idle MiB | peak MiB | after MiB | healthz p50 ms | p99 ms | max ms | healthz failed |",
    );
    report(
        &mut results,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    );
    let mut peaks = Vec::new();
    for load in &loads {
        let outcome = runtime.block_on(storm(load));
        let mut sorted = outcome.health_ms.clone();
        sorted.sort_unstable();
        let at = |per_mille: usize| {
            sorted
                .get((sorted.len().saturating_sub(1)) * per_mille / 1000)
                .copied()
                .unwrap_or(0)
        };
        let ms = |micros: u128| tenths(micros, 1000);
        report(
            &mut results,
            &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} of {} |",
                load.label,
                load.sign_ins,
                load.addresses,
                outcome.answered,
                outcome.too_many,
                outcome.busy,
                outcome.other,
                tenths(outcome.storm.as_millis(), 1000),
                outcome.idle_kib / 1024,
                outcome.peak_kib / 1024,
                outcome.after_kib / 1024,
                ms(at(500)),
                ms(at(990)),
                ms(sorted.last().copied().unwrap_or(0)),
                outcome.health_failures,
                outcome.health_ms.len() + outcome.health_failures,
            ),
        );
        peaks.push((load.label, load.sign_ins, outcome.peak_kib));
    }
    report(&mut results, "");
    for (label, sign_ins, peak) in &peaks {
        if !label.starts_with("before") {
            report(
                &mut results,
                &format!(
                    "- {label}, {sign_ins} sign-ins: peak {} MiB, {} the {} MiB bound",
                    peak / 1024,
                    if *peak < RSS_BOUND_KIB {
                        "within"
                    } else {
                        "ABOVE"
                    },
                    RSS_BOUND_KIB / 1024
                ),
            );
        }
    }
    if let [(_, _, before), (_, _, after), ..] = peaks.as_slice()
        && options.baseline_binary.is_some()
    {
        report(
            &mut results,
            &format!(
                "- at the baseline load, peak memory bounded / before = {} % (before / bounded = {} x)",
                tenths(u128::from(*after) * 100, u128::from(*before)),
                tenths(u128::from(*before), u128::from(*after))
            ),
        );
    }
}

/// Starts a server, sends the sign-ins all at once, probes `/healthz`
/// until every one is answered, and reads the server's memory.
async fn storm(load: &Load<'_>) -> Outcome {
    let store = Store::sqlite();
    store.prepare();
    let server = Server::start_binary(load.binary, &store, load.env).await;
    let idle_kib = server.rss_kib();
    let clients: Vec<reqwest::Client> = (0..load.addresses)
        .map(|i| {
            reqwest::Client::builder()
                .local_address(IpAddr::from([127, 0, 0, 10_u8.saturating_add(i)]))
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client")
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let done = done.clone();
        let url = format!("{}/healthz", server.url);
        let client = reqwest::Client::builder()
            .local_address(IpAddr::from([127, 0, 0, 250]))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        tokio::spawn(async move {
            let (mut latencies, mut failures) = (Vec::new(), 0);
            while !done.load(Ordering::SeqCst) {
                let started = Instant::now();
                match client.get(&url).send().await {
                    Ok(response) if response.status().is_success() => {
                        latencies.push(started.elapsed().as_micros());
                    }
                    _ => failures += 1,
                }
                tokio::time::sleep(HEALTH_PROBE_INTERVAL).await;
            }
            (latencies, failures)
        })
    };
    let url = format!("{}/v1/auth/token", server.url);
    let started = Instant::now();
    let requests: Vec<_> = (0..load.sign_ins)
        .map(|i| {
            let request = clients[i % clients.len()].post(&url).json(&json!({
                "email": format!("attacker{i}@example.org"),
                "password": "not anybody's password, long enough",
            }));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let (mut answered, mut too_many, mut busy, mut other) = (0, 0, 0, 0);
    for request in requests {
        match request.await.expect("task") {
            Ok(401) => answered += 1,
            Ok(429) => too_many += 1,
            Ok(503) => busy += 1,
            Ok(_) | Err(_) => other += 1,
        }
    }
    let storm = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let (health_ms, health_failures) = prober.await.expect("prober");
    let outcome = Outcome {
        idle_kib,
        peak_kib: server.peak_rss_kib(),
        after_kib: server.rss_kib(),
        answered,
        too_many,
        busy,
        other,
        storm,
        health_ms,
        health_failures,
    };
    server.stop();
    outcome
}
