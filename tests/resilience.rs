//! Resilience against the real binary: SIGKILL under write load, on each
//! backend, and several instances on one PostgreSQL database under load
//! from many clients with one hot account. After each: every acknowledged
//! write is there exactly once, retries of unacknowledged ones do not
//! duplicate, nothing partial exists, and verification passes.
//!
//! PostgreSQL parts run when `COMMONS_LEDGER_TEST_POSTGRES_URL` is set.

#[allow(dead_code)]
#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use support::{Server, Store};

const POSTGRES_URL_VARIABLE: &str = "COMMONS_LEDGER_TEST_POSTGRES_URL";
/// A crash can leave a claimed key unfinished; let it lapse quickly.
const LEASE: (&str, &str) = ("COMMONS_LEDGER_IDEMPOTENCY_LEASE_S", "1");

/// One transfer request: its key, its body, and what became of it.
#[derive(Clone)]
struct Write {
    key: String,
    body: Value,
    amount_minor: i64,
}

/// Sets up a project with a funder and two pools, returning its id.
async fn project(server: &Server) -> String {
    let project = server
        .post(
            "/v1/projects",
            &json!({"name": "Resilience", "currency": "EUR"}),
        )
        .await["id"]
        .as_str()
        .expect("project")
        .to_owned();
    for (name, non_negative) in [
        ("funder:a", false),
        ("pool:hot", true),
        ("pool:a", true),
        ("pool:b", true),
        ("pool:c", true),
    ] {
        server
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": name, "currency": "EUR", "non_negative": non_negative}),
            )
            .await;
    }
    project
}

fn write(client: usize, n: usize, hot_share: u32, rng: &mut impl Rng) -> Write {
    let amount_minor: i64 = rng.random_range(1..10_000);
    let to = if rng.random_range(0..100) < hot_share {
        "pool:hot"
    } else {
        ["pool:a", "pool:b", "pool:c"][rng.random_range(0..3)]
    };
    Write {
        key: format!("client-{client}-write-{n}"),
        body: json!({"effective_date": "2026-03-01", "description": format!("write {n} of client {client}"),
            "postings": [{"from": "funder:a", "to": to,
            "amount": format!("{}.{:02}", amount_minor / 100, amount_minor % 100), "currency": "EUR"}]}),
        amount_minor,
    }
}

/// Sends a write; `Some(transaction id)` when acknowledged with a 2xx,
/// `None` when no answer came (the server died). Any other answer fails.
async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    project: &str,
    w: &Write,
) -> Option<String> {
    let response = client
        .post(format!("{url}/v1/projects/{project}/transactions"))
        .bearer_auth(token)
        .header("Idempotency-Key", &w.key)
        .json(&w.body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    let status = response.status();
    let body: Value = response.json().await.ok()?;
    assert!(status.is_success(), "{} answered {status}: {body}", w.key);
    Some(body["id"].as_str().expect("transaction id").to_owned())
}

/// After a restart: the same request again until it is acknowledged. A key
/// whose first attempt died between its claim and its commit is in flight
/// until its lease (1 s here) lapses; the retry then runs it.
async fn retry(server: &Server, project: &str, w: &Write) -> (String, bool) {
    for _ in 0..50 {
        let response = server
            .client
            .post(format!("{}/v1/projects/{project}/transactions", server.url))
            .bearer_auth(&server.token)
            .header("Idempotency-Key", &w.key)
            .json(&w.body)
            .send()
            .await
            .expect("the restarted server answers");
        let status = response.status();
        let replayed = response.headers().contains_key("idempotency-replayed");
        let body: Value = response.json().await.expect("JSON");
        if status.is_success() {
            return (body["id"].as_str().expect("id").to_owned(), replayed);
        }
        assert_eq!(
            body["code"], "idempotency_request_in_flight",
            "{}: {status} {body}",
            w.key
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} stayed in flight past its lease", w.key);
}

/// Every transaction of the project, by id, with its amount in minor units.
async fn ledger(server: &Server, project: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/projects/{project}/transactions?limit=1000");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = server.get(&path).await;
        for item in page["items"].as_array().expect("items") {
            let amount: i64 = item["postings"][0]["amount"]
                .as_str()
                .expect("amount")
                .replace('.', "")
                .parse()
                .expect("minor");
            let previous = out.insert(item["id"].as_str().expect("id").to_owned(), amount);
            assert!(previous.is_none(), "a transaction listed twice");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
}

async fn assert_verified(server: &Server, project: &str, store: &Store) {
    let report = server.verification(project).await;
    assert_eq!(report["ok"], true, "{report}");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_commons-ledger"))
        .arg("verify")
        .env("COMMONS_LEDGER_DATABASE_URL", &store.url)
        .env("COMMONS_LEDGER_LOG", "error")
        .output()
        .expect("verify");
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stdout)
    );
}

/// Kills the server at random moments under write load, 20 times, and
/// checks the books after every restart and at the end.
async fn crash_and_recover(store: Store) {
    const CYCLES: usize = 20;
    const CLIENTS: usize = 8;
    let seed: u64 = rand::rng().random();
    eprintln!("{}: crash test seed {seed}", store.backend());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    store.prepare();
    let server = Server::start(&store, &[LEASE]).await;
    let project = project(&server).await;
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let mut amounts: BTreeMap<String, i64> = BTreeMap::new();
    let mut server = server;
    let mut next_write = [0_usize; CLIENTS];
    // Unacknowledged writes retried: found committed before the kill, or run anew.
    let (mut committed_before, mut run_anew) = (0, 0);
    for cycle in 0..CYCLES {
        let unanswered = Arc::new(Mutex::new(Vec::<Write>::new()));
        let answered = Arc::new(Mutex::new(Vec::<(Write, String)>::new()));
        let mut tasks = Vec::new();
        for (client, next) in next_write.iter_mut().enumerate() {
            let (url, token, project) = (server.url.clone(), server.token.clone(), project.clone());
            let http = server.client.clone();
            let writes: Vec<Write> = (0..200)
                .map(|i| write(client, *next + i, 50, &mut rng))
                .collect();
            *next += 200;
            let (unanswered, answered) = (unanswered.clone(), answered.clone());
            tasks.push(tokio::spawn(async move {
                let mut writes = writes.into_iter();
                for w in writes.by_ref() {
                    match send(&http, &url, &token, &project, &w).await {
                        Some(id) => answered.lock().await.push((w, id)),
                        None => {
                            // The server is gone: this write and the rest are unanswered.
                            unanswered.lock().await.push(w);
                            break;
                        }
                    }
                }
                // Those never sent are simply not part of the history.
                drop(writes);
            }));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..400))).await;
        server.crash();
        for task in tasks {
            task.await.expect("client");
        }
        server = Server::start(&store, &[LEASE]).await;
        for (w, id) in answered.lock().await.drain(..) {
            amounts.insert(w.key.clone(), w.amount_minor);
            acknowledged.insert(w.key, id);
        }
        // Unacknowledged writes are retried with the same key: each ends
        // with exactly one transaction, whether or not the first attempt
        // had committed before the kill.
        for w in unanswered.lock().await.drain(..) {
            let (id, replayed) = retry(&server, &project, &w).await;
            if replayed {
                committed_before += 1;
            } else {
                run_anew += 1;
            }
            amounts.insert(w.key.clone(), w.amount_minor);
            acknowledged.insert(w.key, id);
        }
        let books = ledger(&server, &project).await;
        let ids: HashSet<&String> = acknowledged.values().collect();
        assert_eq!(
            ids.len(),
            acknowledged.len(),
            "cycle {cycle}: two keys answered with one transaction"
        );
        assert_eq!(
            books.len(),
            acknowledged.len(),
            "cycle {cycle}: one transaction per acknowledged key, none lost, none extra"
        );
        for (key, id) in &acknowledged {
            assert_eq!(
                books.get(id),
                Some(&amounts[key]),
                "cycle {cycle}: {key}'s transaction {id} is in the ledger with its amount"
            );
        }
        assert_verified(&server, &project, &store).await;
    }
    eprintln!(
        "{}: {CYCLES} crashes, {} acknowledged writes, all present once, verification clean; \
         of the writes cut off by a kill, {committed_before} had committed (their retry replayed \
         the answer) and {run_anew} had not (their retry ran them once)",
        store.backend(),
        acknowledged.len()
    );
    assert!(
        committed_before + run_anew >= CYCLES,
        "every kill cut off some writes in flight"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_survives_sigkill_under_load() {
    crash_and_recover(Store::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
)]
async fn postgres_survives_sigkill_under_load() {
    let url = std::env::var(POSTGRES_URL_VARIABLE).expect("COMMONS_LEDGER_TEST_POSTGRES_URL");
    crash_and_recover(Store::postgres(&url)).await;
}

/// Three `serve` processes on one PostgreSQL database, 48 clients spread
/// over them, most writes on one hot pool: no client sees a 5xx, every
/// acknowledged write is in the ledger once, the balances are the sums of
/// the acknowledged amounts, and verification passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
)]
async fn three_instances_share_one_postgres_database() {
    const INSTANCES: usize = 3;
    const CLIENTS: usize = 48;
    const WRITES_PER_CLIENT: usize = 40;
    let url = std::env::var(POSTGRES_URL_VARIABLE).expect("COMMONS_LEDGER_TEST_POSTGRES_URL");
    let store = Store::postgres(&url);
    store.prepare();
    // Started together: they race to migrate, and the advisory lock orders them.
    let mut servers = Vec::new();
    for _ in 0..INSTANCES {
        servers.push(Server::start(&store, &[("COMMONS_LEDGER_POOL_SIZE", "8")]).await);
    }
    let project = project(&servers[0]).await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    let mut rng = rand::rng();
    for client in 0..CLIENTS {
        let server = &servers[client % INSTANCES];
        let (url, token, project) = (server.url.clone(), server.token.clone(), project.clone());
        let http = server.client.clone();
        // 80 % of the writes go to the hot pool.
        let writes: Vec<Write> = (0..WRITES_PER_CLIENT)
            .map(|n| write(client, n, 80, &mut rng))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for w in writes {
                let id = send(&http, &url, &token, &project, &w)
                    .await
                    .unwrap_or_else(|| panic!("{} got no answer", w.key));
                done.push((w, id));
            }
            done
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("client"));
    }
    let elapsed = started.elapsed();
    let books = ledger(&servers[1], &project).await;
    assert_eq!(
        books.len(),
        CLIENTS * WRITES_PER_CLIENT,
        "every write, once"
    );
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for (w, id) in &acknowledged {
        assert_eq!(books.get(id), Some(&w.amount_minor), "{}", w.key);
        let to = w.body["postings"][0]["to"].as_str().expect("to").to_owned();
        *expected.entry(to).or_default() += w.amount_minor;
    }
    let balances: Value = servers[2]
        .client
        .get(format!("{}/v1/projects/{project}/balances", servers[2].url))
        .bearer_auth(&servers[2].token)
        .send()
        .await
        .expect("balances")
        .json()
        .await
        .expect("page");
    for item in balances["items"].as_array().expect("items") {
        let account = item["account"].as_str().expect("account");
        let minor: i64 = item["balance"]
            .as_str()
            .expect("balance")
            .replace('.', "")
            .parse()
            .expect("minor");
        let want = if account == "funder:a" {
            -expected.values().sum::<i64>()
        } else {
            expected.get(account).copied().unwrap_or(0)
        };
        assert_eq!(minor, want, "{account}");
    }
    assert_verified(&servers[0], &project, &store).await;
    eprintln!(
        "{INSTANCES} instances, {CLIENTS} clients, {} writes (80 % to one pool) in {} ms, no 5xx",
        CLIENTS * WRITES_PER_CLIENT,
        elapsed.as_millis()
    );
    for server in servers {
        server.stop();
    }
}

/// A database the previous release made and populated, upgraded by this
/// release: its migrations apply, the old books still verify and read the
/// same, and new writes land on them.
async fn upgrade(store: Store) {
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_commons-ledger"))
        .arg("migrate")
        .env("COMMONS_LEDGER_DATABASE_URL", &store.url)
        .env("COMMONS_LEDGER_LOG", "error")
        .output()
        .expect("migrate");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let db = commons_ledger::db::Database::connect(
        &commons_ledger::db::DatabaseUrl::parse(&store.url).expect("url"),
        1,
    )
    .expect("connect");
    commons_ledger::admin::create_admin(
        &db,
        support::ADMIN_EMAIL,
        "Instance Admin",
        support::ADMIN_PASSWORD,
    )
    .expect("administrator");
    drop(db);
    let server = Server::start(&store, &[]).await;
    let projects = server.get("/v1/projects").await;
    let project = projects["items"][0]["id"]
        .as_str()
        .expect("project")
        .to_owned();
    assert_eq!(projects["items"][0]["name"], "OpenAir Lyon");
    assert_verified(&server, &project, &store).await;
    let grants = server.get(&format!("/v1/projects/{project}/grants")).await;
    assert_eq!(grants["items"][0]["reference"], "FH-2026-017");
    assert_eq!(grants["items"][0]["remaining"], "10000.00");
    // What the previous release stored as JSON still loads: its rule set,
    // and its run's inputs and plan (inputs of version 1, with contribution
    // ids), which this release can still execute.
    let get = |path: String| {
        let request = server.client.get(format!("{}{path}", server.url));
        request.bearer_auth(&server.token).send()
    };
    let rule_set: Value = get(format!("/v1/projects/{project}/rule-sets/1"))
        .await
        .expect("rule set")
        .json()
        .await
        .expect("rule set JSON");
    assert_eq!(rule_set["steps"][1]["to"]["type"], "pro_rata", "{rule_set}");
    let runs: Value = get(format!("/v1/projects/{project}/distributions"))
        .await
        .expect("runs")
        .json()
        .await
        .expect("page");
    let run = &runs["items"][0];
    assert_eq!(run["status"], "approved", "{runs}");
    assert_eq!(run["amount"], "100.00");
    let explanation = run["lines"][0]["explanation"].as_str().expect("a line");
    assert!(explanation.contains("approved value"), "{explanation}");
    let run_id = run["id"].as_str().expect("run id");
    let executed = server
        .post(
            &format!("/v1/projects/{project}/distributions/{run_id}/execution"),
            &json!({}),
        )
        .await;
    assert_eq!(executed["status"], "executed", "{executed}");
    let before = ledger(&server, &project).await.len();
    server
        .post(
            &format!("/v1/projects/{project}/transactions"),
            &json!({"effective_date": "2026-04-01", "description": "after the upgrade",
                    "postings": [{"from": "pool:general", "to": "reserve", "amount": "1.00", "currency": "EUR"}]}),
        )
        .await;
    assert_eq!(ledger(&server, &project).await.len(), before + 1);
    assert_verified(&server, &project, &store).await;
    server.stop();
}

fn previous_release(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/previous-release")
        .join(file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_release_sqlite_database_upgrades() {
    upgrade(Store::sqlite_copy(&previous_release("ledger.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
)]
async fn the_previous_release_postgres_database_upgrades() {
    let url = std::env::var(POSTGRES_URL_VARIABLE).expect("COMMONS_LEDGER_TEST_POSTGRES_URL");
    upgrade(Store::postgres_restored(
        &url,
        &previous_release("postgres.sql"),
    ))
    .await;
}
