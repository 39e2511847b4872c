//! `POST .../transactions/batch`: all or none, or each on its own; the
//! request's and each item's idempotency keys; its size; two at once; one
//! audit event per request; the ledger verifies after every batch.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_of, transfer_body};
use crate::on_both_backends;

/// With the service's default body limit (256 KiB), which a batch of 1,000
/// short transfers fits in (the tests' own limit is 64 KiB).
mod a_batch_carries_one_to_a_thousand_transactions {
    use crate::helpers::{Backend, TEST_JWT_SECRET, spawn_app_with};

    async fn run(backend: Backend) {
        let keys = commons_ledger::auth::TokenKeys::new(
            TEST_JWT_SECRET,
            "commons-ledger",
            "commons-ledger",
            3_600,
        )
        .expect("keys");
        let Some(app) = spawn_app_with(backend, keys, |settings| {
            settings.body_limit_bytes = 262_144;
        })
        .await
        else {
            panic!("set COMMONS_LEDGER_TEST_POSTGRES_URL");
        };
        super::a_batch_carries_one_to_a_thousand_transactions(&app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
    )]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

on_both_backends!(
    an_atomic_batch_refused_midway_writes_nothing,
    a_non_atomic_batch_answers_each_item,
    batches_replay_under_their_keys_and_items_under_theirs,
    two_batches_at_once_both_post_everything
);

/// A project with `funder:a` (may go negative) and two non-negative pools.
async fn ledger(app: &TestApp) -> String {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    project
}

fn batch_path(project: &str) -> String {
    format!("/v1/projects/{project}/transactions/batch")
}

async fn event_count(app: &TestApp, project: &str) -> u64 {
    let report = verification(app, project).await;
    report["events_checked"].as_u64().expect("events")
}

async fn verification(app: &TestApp, project: &str) -> Value {
    let report = json_of(
        app.get(&format!("/v1/projects/{project}/ledger/verification"))
            .await,
    )
    .await;
    assert_eq!(report["ok"], true, "{report}");
    report
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn an_atomic_batch_refused_midway_writes_nothing(app: &TestApp) {
    let project = ledger(app).await;
    let before = (
        app.transaction_count(&project).await,
        event_count(app, &project).await,
    );
    let mut first = transfer_body("funder:a", "pool:general", "10.00", "EUR");
    first["idempotency_key"] = json!("item-first");
    let body = json!({"atomic": true, "transactions": [
        first,
        transfer_body("pool:general", "reserve", "4.00", "EUR"),
        transfer_body("pool:general", "reserve", "7.00", "EUR"),
        transfer_body("funder:a", "pool:general", "1.00", "EUR"),
    ]});
    let problem = assert_problem(
        app.post(&batch_path(&project), &body).await,
        422,
        "batch_item_refused",
        "the third transaction takes more than the pool holds",
    )
    .await;
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("transaction 2 ") && detail.contains("insufficient_funds"),
        "{detail}"
    );
    assert_eq!(
        (
            app.transaction_count(&project).await,
            event_count(app, &project).await
        ),
        before,
        "nothing written, no event"
    );
    let balances = app.balances(&project).await;
    assert_eq!(balances["pool:general"], "0.00");
    // A refused item's own fields are named within the batch.
    let body = json!({"atomic": true, "transactions": [
        transfer_body("funder:a", "pool:general", "1.001", "EUR"),
    ]});
    let problem = assert_problem(
        app.post(&batch_path(&project), &body).await,
        422,
        "batch_item_refused",
        "a bad amount",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "transactions[0].postings[0].amount",
        "{problem}"
    );
    // The first item's key was not used: it posts now as a single write.
    let single = app
        .post_with_key(
            &format!("/v1/projects/{project}/transactions"),
            "item-first",
            &transfer_body("funder:a", "pool:general", "10.00", "EUR"),
        )
        .await;
    assert_eq!(single.status(), 201);
    assert!(single.headers().get("Idempotency-Replayed").is_none());
    // The same batch, all of it possible now, posts all of it in order.
    let body = json!({"atomic": true, "transactions": [
        transfer_body("pool:general", "reserve", "4.00", "EUR"),
        transfer_body("pool:general", "reserve", "6.00", "EUR"),
    ]});
    let answer = ok(app.post(&batch_path(&project), &body).await).await;
    assert_eq!(
        (&answer["posted"], &answer["refused"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(
        answer["results"][1]["transaction"]["postings"][0]["amount"],
        "6.00"
    );
    assert_eq!(app.balances(&project).await["reserve"], "10.00");
    verification(app, &project).await;
}

async fn a_non_atomic_batch_answers_each_item(app: &TestApp) {
    let project = ledger(app).await;
    let events = event_count(app, &project).await;
    let body = json!({"atomic": false, "transactions": [
        transfer_body("funder:a", "pool:general", "10.00", "EUR"),
        transfer_body("funder:a", "pool:general", "1.001", "EUR"),
        transfer_body("pool:general", "reserve", "25.00", "EUR"),
        {"effective_date": "2026-03-01", "postings": [], "surprise": 1},
        transfer_body("pool:general", "reserve", "3.00", "EUR"),
        transfer_body("funder:a", "nowhere", "3.00", "EUR"),
    ]});
    let answer = ok(app.post(&batch_path(&project), &body).await).await;
    let results = answer["results"].as_array().expect("results");
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses, [201, 422, 422, 422, 201, 422], "{answer}");
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["problem"]["code"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        codes,
        [
            "-",
            "amount_precision",
            "insufficient_funds",
            "invalid_body",
            "-",
            "unknown_account"
        ]
    );
    assert_eq!(
        (&answer["posted"], &answer["refused"]),
        (&json!(2), &json!(4))
    );
    let balances = app.balances(&project).await;
    assert_eq!(
        (
            balances["pool:general"].as_str(),
            balances["reserve"].as_str()
        ),
        ("7.00", "3.00")
    );
    assert_eq!(app.transaction_count(&project).await, 2);
    assert_eq!(
        event_count(app, &project).await,
        events + 1,
        "one event for the request"
    );
}

async fn batches_replay_under_their_keys_and_items_under_theirs(app: &TestApp) {
    let project = ledger(app).await;
    let single = json_of(
        app.post_with_key(
            &format!("/v1/projects/{project}/transactions"),
            "bank-line-1",
            &transfer_body("funder:a", "pool:general", "10.00", "EUR"),
        )
        .await,
    )
    .await;
    let mut again = transfer_body("funder:a", "pool:general", "10.00", "EUR");
    again["idempotency_key"] = json!("bank-line-1");
    let mut other = transfer_body("funder:a", "pool:general", "99.00", "EUR");
    other["idempotency_key"] = json!("bank-line-1");
    let mut fresh = transfer_body("funder:a", "pool:general", "2.00", "EUR");
    fresh["idempotency_key"] = json!("bank-line-2");
    let body = json!({"atomic": false, "transactions": [again, other, fresh.clone(), fresh]});
    let response = app
        .post_with_key(&batch_path(&project), "batch-1", &body)
        .await;
    let answer = ok(response).await;
    let results = &answer["results"];
    assert_eq!(results[0]["transaction"], single, "the earlier transaction");
    assert_eq!(results[0]["replayed"], true);
    assert_eq!(results[1]["problem"]["code"], "idempotency_key_reused");
    assert_eq!(results[2]["replayed"], false);
    assert_eq!(
        results[3]["transaction"], results[2]["transaction"],
        "a key twice in one batch posts once"
    );
    assert_eq!(results[3]["replayed"], true);
    assert_eq!(answer["posted"], 1);
    assert_eq!(app.transaction_count(&project).await, 2);
    // The whole request again: the same answer, nothing posted again.
    let replay = app
        .post_with_key(&batch_path(&project), "batch-1", &body)
        .await;
    assert_eq!(
        replay
            .headers()
            .get("Idempotency-Replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(ok(replay).await, answer);
    assert_eq!(app.transaction_count(&project).await, 2);
    // The key with another body is refused, as for any POST.
    assert_problem(
        app.post_with_key(
            &batch_path(&project),
            "batch-1",
            &json!({"atomic": true, "transactions": [transfer_body("funder:a", "pool:general", "1.00", "EUR")]}),
        )
        .await,
        422,
        "idempotency_key_reused",
        "same key, another batch",
    )
    .await;
    // An item key used by a batch answers a single POST with its transaction.
    let single_again = app
        .post_with_key(
            &format!("/v1/projects/{project}/transactions"),
            "bank-line-2",
            &transfer_body("funder:a", "pool:general", "2.00", "EUR"),
        )
        .await;
    assert_eq!(single_again.status(), 201);
    assert_eq!(json_of(single_again).await, results[2]["transaction"]);
    assert_eq!(app.transaction_count(&project).await, 2);
    verification(app, &project).await;
}

async fn a_batch_carries_one_to_a_thousand_transactions(app: &TestApp) {
    let project = ledger(app).await;
    let short = json!({"effective_date": "2026-03-01",
        "postings": [{"from": "funder:a", "to": "pool:general", "amount": "0.01", "currency": "EUR"}]});
    let items = |count: usize| -> Vec<Value> { vec![short.clone(); count] };
    for count in [0, 1_001] {
        let problem = assert_problem(
            app.post(
                &batch_path(&project),
                &json!({"atomic": true, "transactions": items(count)}),
            )
            .await,
            422,
            "batch_size",
            "outside 1 to 1,000",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "transactions");
    }
    assert_eq!(app.transaction_count(&project).await, 0);
    let answer = ok(app
        .post(
            &batch_path(&project),
            &json!({"atomic": true, "transactions": items(1_000)}),
        )
        .await)
    .await;
    assert_eq!(answer["posted"], 1_000);
    assert_eq!(app.balances(&project).await["pool:general"], "10.00");
    let report = verification(app, &project).await;
    assert_eq!(report["transactions_checked"], 1_000);
}

async fn two_batches_at_once_both_post_everything(app: &TestApp) {
    let project = ledger(app).await;
    let events = event_count(app, &project).await;
    let batch = |tag: &str| {
        let transactions: Vec<Value> = (0..50)
            .map(|i| {
                let mut item = transfer_body("funder:a", "pool:general", "1.00", "EUR");
                item["idempotency_key"] = json!(format!("{tag}-{i}"));
                item
            })
            .collect();
        json!({"atomic": true, "transactions": transactions})
    };
    let (a, b) = (batch("a"), batch("b"));
    let path = batch_path(&project);
    let (first, second) = tokio::join!(app.post(&path, &a), app.post(&path, &b));
    for answer in [ok(first).await, ok(second).await] {
        assert_eq!(answer["posted"], 50, "{answer}");
    }
    assert_eq!(app.transaction_count(&project).await, 100);
    assert_eq!(app.balances(&project).await["pool:general"], "100.00");
    assert_eq!(event_count(app, &project).await, events + 2);
    verification(app, &project).await;
}
