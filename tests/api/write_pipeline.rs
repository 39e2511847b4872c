//! The write pipeline's guarantee, under faults injected into one request of
//! a shared transaction: every request answered 201 is in the ledger, every
//! other one is absent (its key is free for a retry), the neighbours of a
//! faulty request are answered 201, and the ledger verifies.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use commons_ledger::routes::problem::ApiError;
use commons_ledger::write_pipeline::{Counters, FAULT_HEADER, TestHooks, WritePipeline};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, json_of, spawn_app_with_hooks, transfer_body};

/// Requests sharing one transaction in each scenario.
const BATCH: usize = 8;
/// The position of the faulty request among them.
const FAULTY: usize = 3;

macro_rules! with_hooks_on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, hooks) = crate::helpers::spawn_app_with_hooks(crate::helpers::Backend::Sqlite, super::BATCH)
                    .await
                    .expect("SQLite app");
                super::$scenario(&app, &hooks).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                let (app, hooks) = crate::helpers::spawn_app_with_hooks(crate::helpers::Backend::Postgres, super::BATCH)
                    .await
                    .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
                super::$scenario(&app, &hooks).await;
            }
        }
    )*};
}

with_hooks_on_both_backends!(
    a_panicking_write_costs_its_neighbours_nothing,
    a_failing_write_costs_its_neighbours_nothing,
    a_transient_failure_is_retried_once_in_place,
    a_savepoint_left_open_costs_its_neighbours_nothing,
    a_poisoned_connection_costs_its_neighbours_nothing,
    a_swallowed_database_error_costs_its_neighbours_nothing,
    a_transaction_ended_by_a_write_is_never_committed,
    a_lone_write_keeps_the_guarantee_without_a_savepoint,
);

async fn a_panicking_write_costs_its_neighbours_nothing(app: &TestApp, hooks: &TestHooks) {
    let outcome = fault_in_a_shared_batch(app, hooks, "panic").await;
    assert_eq!(
        outcome.faulty_status, 500,
        "a panicking write is answered 500"
    );
    assert!(
        outcome.reruns >= 1,
        "its neighbours ran again in a fresh transaction"
    );
}

async fn a_failing_write_costs_its_neighbours_nothing(app: &TestApp, hooks: &TestHooks) {
    let outcome = fault_in_a_shared_batch(app, hooks, "fail").await;
    assert_eq!(outcome.faulty_status, 500);
    assert_eq!(
        outcome.reruns, 0,
        "an error only rolls back its own savepoint"
    );
}

async fn a_transient_failure_is_retried_once_in_place(app: &TestApp, hooks: &TestHooks) {
    let outcome = fault_in_a_shared_batch(app, hooks, "transient").await;
    assert_eq!(
        outcome.faulty_status, 201,
        "retried in a new savepoint, then committed"
    );
    assert!(outcome.retries >= 1);
}

async fn a_savepoint_left_open_costs_its_neighbours_nothing(app: &TestApp, hooks: &TestHooks) {
    let outcome = fault_in_a_shared_batch(app, hooks, "leak-savepoint").await;
    assert_eq!(outcome.faulty_status, 500);
    assert!(outcome.reruns >= 1);
}

async fn a_poisoned_connection_costs_its_neighbours_nothing(app: &TestApp, hooks: &TestHooks) {
    let outcome = fault_in_a_shared_batch(app, hooks, "poison").await;
    assert_eq!(outcome.faulty_status, 500);
    assert!(outcome.reruns >= 1);
}

async fn a_swallowed_database_error_costs_its_neighbours_nothing(app: &TestApp, hooks: &TestHooks) {
    // On PostgreSQL the error aborts the shared transaction, whose COMMIT
    // would silently roll back; on SQLite it does not. Either way the
    // guarantee holds, which the shared checks assert.
    fault_in_a_shared_batch(app, hooks, "swallow-error").await;
}

async fn a_transaction_ended_by_a_write_is_never_committed(app: &TestApp, hooks: &TestHooks) {
    // The jobs before the faulty one lost their work with the transaction
    // it rolled back; committing the one it began instead would acknowledge
    // them with nothing stored. The mark the batch set when it began is
    // gone: nothing is committed, and each job runs again alone.
    let outcome = fault_in_a_shared_batch(app, hooks, "end-transaction").await;
    assert_ne!(outcome.faulty_status, 201);
    assert!(outcome.reruns >= 1, "the jobs ran again, each alone");
}

/// A write alone in its transaction runs without a savepoint: whatever
/// fault it meets, it is answered 201 only if its transfer committed, and
/// otherwise leaves nothing (not its work, not its key), as in a shared one.
async fn a_lone_write_keeps_the_guarantee_without_a_savepoint(app: &TestApp, _: &TestHooks) {
    let project = funded_project(app).await;
    let url = app.url(&format!("/v1/projects/{project}/transactions"));
    let body = transfer_body("pool:general", "reserve", "0.01", "EUR");
    let faults = [
        "panic",
        "fail",
        "transient",
        "leak-savepoint",
        "poison",
        "swallow-error",
        "end-transaction",
    ];
    let mut acknowledged = 0;
    for fault in faults {
        let before = metrics(app).await;
        let response = app
            .client
            .post(&url)
            .header("Idempotency-Key", format!("lone-{fault}"))
            .header(FAULT_HEADER, fault)
            .json(&body)
            .send()
            .await
            .expect("response");
        let status = response.status().as_u16();
        let after = metrics(app).await;
        match fault {
            "transient" => {
                assert_eq!(status, 201, "retried in a new transaction, then committed");
                assert_eq!(after.retries - before.retries, 1, "retried once");
            }
            // On SQLite the swallowed error leaves the transaction usable.
            "swallow-error" if app.db.backend() == commons_ledger::db::Backend::Sqlite => {
                assert_eq!(status, 201)
            }
            _ => assert_ne!(status, 201, "{fault}: the write was not acknowledged"),
        }
        if status == 201 {
            acknowledged += 1;
            assert_eq!(after.batches - before.batches, 1, "{fault}: one commit");
        } else {
            assert_eq!(after.batches, before.batches, "{fault}: nothing committed");
            // Its key kept nothing: a retry without the fault runs anew.
            let retry = app
                .post_with_key(
                    &format!("/v1/projects/{project}/transactions"),
                    &format!("lone-{fault}"),
                    &body,
                )
                .await;
            assert_eq!(retry.status(), 201, "{fault}: the refused key kept nothing");
            assert!(retry.headers().get("Idempotency-Replayed").is_none());
            acknowledged += 1;
        }
        assert_eq!(
            app.balances(&project).await["reserve"],
            format!("0.{acknowledged:02}"),
            "{fault}: the reserve holds exactly the acknowledged transfers"
        );
        assert_eq!(app.transaction_count(&project).await, 1 + acknowledged);
    }
    let verification = json_of(
        app.get(&format!("/v1/projects/{project}/ledger/verification"))
            .await,
    )
    .await;
    assert_eq!(verification["ok"], Value::Bool(true), "{verification}");
}

struct FaultOutcome {
    faulty_status: u16,
    retries: u64,
    reruns: u64,
}

/// Sends `BATCH` transfers of 0.01 that share one transaction, the
/// `FAULTY`-th carrying `fault`, and checks the guarantee.
async fn fault_in_a_shared_batch(app: &TestApp, hooks: &TestHooks, fault: &str) -> FaultOutcome {
    let project = funded_project(app).await;
    let before = metrics(app).await;

    hooks.gather.store(BATCH, Ordering::SeqCst);
    let url = app.url(&format!("/v1/projects/{project}/transactions"));
    let body = transfer_body("pool:general", "reserve", "0.01", "EUR");
    let requests = (0..BATCH).map(|i| {
        let mut request = app
            .client
            .post(&url)
            .header("Idempotency-Key", format!("{fault}-{i}"))
            .json(&body);
        if i == FAULTY {
            request = request.header(FAULT_HEADER, fault);
        }
        request.send()
    });
    let responses = join_all(requests).await;
    hooks.gather.store(0, Ordering::SeqCst);

    let mut statuses = Vec::new();
    let mut committed = BTreeMap::new();
    for (i, response) in responses.into_iter().enumerate() {
        let response = response.expect("response");
        let status = response.status().as_u16();
        let body = json_of(response).await;
        statuses.push(status);
        if status == 201 {
            committed.insert(i, body);
        } else {
            assert_eq!(
                body["status"].as_u64(),
                Some(u64::from(status)),
                "{fault}: a refusal is a problem: {body}"
            );
        }
    }
    for (i, status) in statuses.iter().enumerate() {
        if i != FAULTY {
            assert_eq!(*status, 201, "{fault}: neighbour {i} answered {statuses:?}");
        }
    }
    let after = metrics(app).await;
    // A transaction found ended at commit runs every job again alone: the
    // neighbours then commit one by one.
    let commits = if fault == "end-transaction" {
        BATCH as u64 - 1
    } else {
        1
    };
    assert_eq!(
        after.batches - before.batches,
        commits,
        "{fault}: the {BATCH} requests committed in {commits} transaction(s)"
    );

    // Every 201 is in the ledger, and nothing else is.
    for body in committed.values() {
        let id = body["id"].as_str().expect("id");
        let stored = app
            .get(&format!("/v1/projects/{project}/transactions/{id}"))
            .await;
        assert_eq!(stored.status(), 200, "{fault}: acknowledged {id} is stored");
    }
    let reserve = app.balances(&project).await["reserve"].clone();
    assert_eq!(
        reserve,
        format!("0.{:02}", committed.len()),
        "{fault}: the reserve holds exactly the acknowledged transfers"
    );
    assert_eq!(app.transaction_count(&project).await, 1 + committed.len());

    // A neighbour's key replays its answer; the faulty one's key, if it was
    // refused, kept nothing and runs anew.
    let replay = app
        .post_with_key(
            &format!("/v1/projects/{project}/transactions"),
            &format!("{fault}-0"),
            &body,
        )
        .await;
    assert_eq!(replay.status(), 201);
    assert_eq!(
        replay
            .headers()
            .get("Idempotency-Replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    if statuses[FAULTY] != 201 {
        let retry = app
            .post_with_key(
                &format!("/v1/projects/{project}/transactions"),
                &format!("{fault}-{FAULTY}"),
                &body,
            )
            .await;
        assert_eq!(retry.status(), 201, "{fault}: the refused key kept nothing");
        assert!(retry.headers().get("Idempotency-Replayed").is_none());
    }

    let verification = json_of(
        app.get(&format!("/v1/projects/{project}/ledger/verification"))
            .await,
    )
    .await;
    assert_eq!(verification["ok"], Value::Bool(true), "{verification}");
    FaultOutcome {
        faulty_status: statuses[FAULTY],
        retries: after.retries - before.retries,
        reruns: after.reruns - before.reruns,
    }
}

/// A project whose `pool:general` holds 10.00 EUR for transfers of 0.01 to
/// its `reserve`.
async fn funded_project(app: &TestApp) -> String {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let funded = app
        .transfer(&project, "funder:a", "pool:general", "10.00", "EUR")
        .await;
    assert_eq!(funded.status(), 201);
    project
}

/// Awaits every future, in order (without another dependency).
async fn join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("task"));
    }
    outputs
}

struct PipelineMetrics {
    batches: u64,
    retries: u64,
    reruns: u64,
}

async fn metrics(app: &TestApp) -> PipelineMetrics {
    let text = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let value = |series: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
    };
    PipelineMetrics {
        batches: value("commons_ledger_group_commits_total"),
        retries: value("commons_ledger_write_retries_total"),
        reruns: value("commons_ledger_write_batch_reruns_total"),
    }
}

/// Two committers, each given a batch holding writes of two projects in
/// opposite orders, where each write takes its project's row lock and then
/// waits (briefly) for the other batch to hold a lock too: a batch run in
/// arrival order would deadlock; run in project order, it never does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
)]
async fn batches_take_project_locks_in_one_order() {
    let (app, _) = spawn_app_with_hooks(Backend::Postgres, 2)
        .await
        .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
    let mut projects = [
        app.create_project("EUR").await,
        app.create_project("EUR").await,
    ];
    projects.sort();
    let [low, high] = projects;
    let hooks = Arc::new(TestHooks::default());
    hooks.gather.store(2, Ordering::SeqCst);
    let counters = Counters::default();
    let pipeline: WritePipeline<(), ApiError> =
        WritePipeline::start(app.db.clone(), 2, 2, counters.clone(), Some(hooks))
            .expect("pipeline");
    let rendezvous = Arc::new((Mutex::new(0_usize), Condvar::new()));
    let job = |project: &str| {
        let (project, rendezvous) = (project.to_owned(), rendezvous.clone());
        move |conn: &mut commons_ledger::db::DbConnection| -> Result<(), ApiError> {
            commons_ledger::db::projects::lock(conn, &project)?;
            let (arrived, wake) = &*rendezvous;
            let mut arrived = arrived
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *arrived += 1;
            wake.notify_all();
            // Both batches holding a lock is what a deadlock needs; when the
            // order prevents it, the other batch is queued on our lock and
            // never arrives, so the wait ends at its bound.
            let _ = wake
                .wait_timeout_while(arrived, Duration::from_secs(2), |arrived| *arrived < 2)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(())
        }
    };
    // Batch one gets (high, low), batch two (low, high): opposite orders.
    let (a, b, c, d) = tokio::join!(
        pipeline.submit(Some(high.clone()), job(&high)),
        pipeline.submit(Some(low.clone()), job(&low)),
        pipeline.submit(Some(low.clone()), job(&low)),
        pipeline.submit(Some(high.clone()), job(&high)),
    );
    for outcome in [a, b, c, d] {
        assert!(
            outcome.is_ok(),
            "{:?}",
            outcome.err().map(|e| e.to_string())
        );
    }
    assert_eq!(counters.batches.get(), 2, "two shared transactions");
    assert_eq!(
        counters.retries.get(),
        0,
        "no write was retried: no deadlock, no lock timeout"
    );
}

/// A long write (a draft, an import) submitted alone never shares its
/// transaction: of three writes queued together, the two shared ones commit
/// in one transaction and the long one in its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_submitted_alone_has_a_transaction_of_its_own() {
    let (app, _) = spawn_app_with_hooks(Backend::Sqlite, BATCH)
        .await
        .expect("SQLite app");
    let hooks = Arc::new(TestHooks::default());
    hooks.gather.store(3, Ordering::SeqCst);
    let counters = Counters::default();
    let pipeline: WritePipeline<(), ApiError> =
        WritePipeline::start(app.db.clone(), 1, BATCH, counters.clone(), Some(hooks))
            .expect("pipeline");
    let job = || |_: &mut commons_ledger::db::DbConnection| -> Result<(), ApiError> { Ok(()) };
    let (first, long, second) = tokio::join!(
        pipeline.submit(None, job()),
        pipeline.submit_alone(None, job()),
        pipeline.submit(None, job()),
    );
    assert!(first.is_ok() && long.is_ok() && second.is_ok());
    assert_eq!(counters.requests.get(), 3);
    assert_eq!(
        counters.batches.get(),
        2,
        "the two shared writes in one transaction, the long one in its own"
    );
}
