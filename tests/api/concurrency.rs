use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use rand::Rng;

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(concurrent_transfers_keep_every_invariant);

const TASKS: usize = 8;
const TRANSFERS_PER_TASK: usize = 130;

#[derive(QueryableByName)]
struct AccountCheck {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Integer)]
    non_negative: i32,
    #[diesel(sql_type = BigInt)]
    balance: i64,
    #[diesel(sql_type = BigInt)]
    from_postings: i64,
}

async fn concurrent_transfers_keep_every_invariant(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let accounts = [
        ("funder:a", "EUR", false),
        ("pool:general", "EUR", true),
        ("pool:sensors", "EUR", true),
        ("reserve", "EUR", true),
        ("funder:usd", "USD", false),
        ("pool:usd", "USD", true),
    ];
    for (name, unit, non_negative) in accounts {
        app.create_account(&project, name, unit, non_negative).await;
    }
    let eur: Vec<&str> = accounts
        .iter()
        .filter(|a| a.1 == "EUR")
        .map(|a| a.0)
        .collect();
    let usd: Vec<&str> = accounts
        .iter()
        .filter(|a| a.1 == "USD")
        .map(|a| a.0)
        .collect();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let client = app.client.clone();
        let url = app.url(&format!("/v1/projects/{project}/transactions"));
        let (eur, usd) = (eur.clone(), usd.clone());
        tasks.push(tokio::spawn(async move {
            let mut statuses = HashMap::<u16, usize>::new();
            for _ in 0..TRANSFERS_PER_TASK {
                let (from, to, unit, amount) = {
                    let mut rng = rand::rng();
                    let (names, unit) = if rng.random_range(0..5) == 0 {
                        (&usd, "USD")
                    } else {
                        (&eur, "EUR")
                    };
                    let from = names[rng.random_range(0..names.len())];
                    let mut to = names[rng.random_range(0..names.len())];
                    while to == from {
                        to = names[rng.random_range(0..names.len())];
                    }
                    (
                        from,
                        to,
                        unit,
                        format!(
                            "{}.{:02}",
                            rng.random_range(0..500),
                            rng.random_range(1..100)
                        ),
                    )
                };
                let body = crate::helpers::transfer_body(from, to, &amount, unit);
                let response = client.post(&url).json(&body).send().await.expect("request");
                let status = response.status().as_u16();
                if status != 201 {
                    let problem: serde_json::Value = response.json().await.expect("problem");
                    assert_eq!(
                        problem["code"], "insufficient_funds",
                        "only overdrafts may be refused: {problem}"
                    );
                }
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let statuses = task.await.expect("task");
        accepted += statuses.get(&201).copied().unwrap_or(0);
        let total: usize = statuses.values().sum();
        assert_eq!(total, TRANSFERS_PER_TASK);
    }
    assert!(accepted > 0, "some transfers went through");

    // Invariants, recomputed from the stored postings.
    let project_id = project.clone();
    let db = app.db.clone();
    let rows: Vec<AccountCheck> = tokio::task::spawn_blocking(move || {
        let mut conn = db.connection().expect("connection");
        diesel::sql_query(
            "SELECT a.name, a.currency, a.non_negative, a.balance, \
             CAST(COALESCE((SELECT SUM(p.amount) FROM postings p WHERE p.to_account_id = a.id), 0) \
                - COALESCE((SELECT SUM(p.amount) FROM postings p WHERE p.from_account_id = a.id), 0) AS BIGINT) AS from_postings \
             FROM accounts a WHERE a.project_id = $1",
        )
        .bind::<Text, _>(project_id)
        .load(&mut *conn)
        .expect("query")
    })
    .await
    .expect("blocking task");
    let mut sums: HashMap<String, i64> = HashMap::new();
    for row in &rows {
        assert_eq!(
            row.balance, row.from_postings,
            "{}: balance equals the sum of its postings",
            row.name
        );
        assert!(
            row.non_negative == 0 || row.balance >= 0,
            "{} is non-negative",
            row.name
        );
        *sums.entry(row.currency.clone()).or_default() += row.balance;
    }
    assert_eq!(sums.len(), 2);
    for (currency, sum) in sums {
        assert_eq!(sum, 0, "balances of {currency} sum to zero");
    }
    let page = json_of(
        app.get(&format!("/v1/projects/{project}/transactions?limit=1000"))
            .await,
    )
    .await;
    let sequences: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["sequence"].as_i64().expect("seq"))
        .collect();
    assert_eq!(
        sequences,
        (1..=i64::try_from(sequences.len()).expect("len")).collect::<Vec<_>>(),
        "sequences are gapless"
    );
    assert_eq!(sequences.len(), accepted.min(1000));
}

on_both_backends!(a_refused_write_never_fails_its_neighbours);

/// 64 writes at once, every other one refused (it would overdraw an empty
/// pool): they may share database transactions, but every good one is
/// answered 201 and kept, every bad one 422 and not kept, and the balances
/// are exactly the good ones'.
async fn a_refused_write_never_fails_its_neighbours(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "pool:empty", "EUR", true)
        .await;
    let path = format!("/v1/projects/{project}/transactions");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let client = app.client.clone();
        let url = app.url(&path);
        let body = if i % 2 == 0 {
            crate::helpers::transfer_body("funder:a", "pool:general", "1.00", "EUR")
        } else {
            crate::helpers::transfer_body("pool:empty", "pool:general", "1.00", "EUR")
        };
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("Idempotency-Key", format!("neighbour-{i}"))
                .json(&body)
                .send()
                .await
                .expect("request");
            (i, response.status().as_u16())
        }));
    }
    for task in tasks {
        let (i, status) = task.await.expect("task");
        let expected = if i % 2 == 0 { 201 } else { 422 };
        assert_eq!(status, expected, "request {i}");
    }
    assert_eq!(app.transaction_count(&project).await, 32);
    assert_eq!(app.balances(&project).await["pool:general"], "32.00");
    assert_eq!(app.balances(&project).await["pool:empty"], "0.00");
    // The refusals were stored under their keys: a retry is refused the same way.
    let retry = app
        .client
        .post(app.url(&path))
        .header("Idempotency-Key", "neighbour-1")
        .json(&crate::helpers::transfer_body(
            "pool:empty",
            "pool:general",
            "1.00",
            "EUR",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(retry.status(), 422);
    assert_eq!(retry.headers()["idempotency-replayed"], "true");
}
