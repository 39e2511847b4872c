use serde_json::{Value, json};

use crate::helpers::{TEST_BODY_LIMIT_BYTES, TestApp, assert_problem, json_of, transfer_body};
use crate::on_both_backends;

on_both_backends!(
    transactions_post_atomically_and_read_back,
    transactions_are_filtered_and_paged,
    invalid_transactions_leave_no_trace,
    reversal_happens_once,
    scales_follow_the_unit,
    oversized_bodies_are_refused,
);

async fn funded_project(app: &TestApp) -> String {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:fondation-horizon", "EUR", false)
        .await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    app.create_account(&project, "pool:usd", "USD", true).await;
    app.create_account(&project, "funder:usd", "USD", false)
        .await;
    let response = app
        .transfer(
            &project,
            "funder:fondation-horizon",
            "pool:general",
            "10000.00",
            "EUR",
        )
        .await;
    assert_eq!(response.status(), 201);
    project
}

async fn transactions_post_atomically_and_read_back(app: &TestApp) {
    let project = funded_project(app).await;
    let body = json!({
        "effective_date": "2026-03-02",
        "description": "reserve and a dollar grant",
        "metadata": {"board_decision": "2026-02"},
        "postings": [
            {"from": "pool:general", "to": "reserve", "amount": "1000.00", "currency": "EUR"},
            {"from": "funder:usd", "to": "pool:usd", "amount": "50.5", "currency": "USD"}
        ]
    });
    let response = app
        .post(&format!("/v1/projects/{project}/transactions"), &body)
        .await;
    assert_eq!(response.status(), 201);
    let created = json_of(response).await;
    assert_eq!(created["kind"], "transfer", "kind defaults to transfer");
    assert_eq!(created["sequence"], 2);
    assert_eq!(
        created["postings"][1]["amount"], "50.50",
        "amounts come back at the unit's scale"
    );
    assert_eq!(created["metadata"]["board_decision"], "2026-02");
    assert_eq!(created["hash"].as_str().expect("hash").len(), 64);
    assert!(created["reversed_by"].is_null());

    let id = created["id"].as_str().expect("id");
    let read = json_of(
        app.get(&format!("/v1/projects/{project}/transactions/{id}"))
            .await,
    )
    .await;
    assert_eq!(read, created, "what is read back is what was posted");

    let balances = app.balances(&project).await;
    assert_eq!(balances["funder:fondation-horizon"], "-10000.00");
    assert_eq!(balances["pool:general"], "9000.00");
    assert_eq!(balances["reserve"], "1000.00");
    assert_eq!(balances["pool:usd"], "50.50");
    assert_eq!(balances["funder:usd"], "-50.50");
    assert_problem(
        app.get(&format!(
            "/v1/projects/{project}/transactions/01900000-0000-7000-8000-000000000000"
        ))
        .await,
        404,
        "transaction_not_found",
        "unknown transaction",
    )
    .await;
}

async fn transactions_are_filtered_and_paged(app: &TestApp) {
    let project = funded_project(app).await;
    for (day, amount) in [
        ("2026-03-05", "1.00"),
        ("2026-03-10", "2.00"),
        ("2026-03-15", "3.00"),
    ] {
        let mut body = transfer_body("pool:general", "reserve", amount, "EUR");
        body["effective_date"] = json!(day);
        assert_eq!(
            app.post(&format!("/v1/projects/{project}/transactions"), &body)
                .await
                .status(),
            201
        );
    }
    let ids = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["sequence"].as_i64().expect("sequence"))
            .collect()
    };
    let base = format!("/v1/projects/{project}/transactions");
    let by_date = json_of(
        app.get(&format!("{base}?from=2026-03-06&to=2026-03-15"))
            .await,
    )
    .await;
    assert_eq!(
        ids(&by_date),
        [3, 4],
        "from and to are inclusive effective dates"
    );
    let by_account = json_of(app.get(&format!("{base}?account=reserve")).await).await;
    assert_eq!(
        ids(&by_account),
        [2, 3, 4],
        "transactions touching the account"
    );
    let by_kind = json_of(app.get(&format!("{base}?kind=reversal")).await).await;
    assert_eq!(ids(&by_kind), Vec::<i64>::new());
    let unknown_account = json_of(app.get(&format!("{base}?account=nowhere")).await).await;
    assert_eq!(ids(&unknown_account), Vec::<i64>::new());

    let mut seen = Vec::new();
    let mut path = format!("{base}?limit=3");
    loop {
        let page = json_of(app.get(&path).await).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [1, 2, 3, 4], "pages cover the ledger once, in order");
    assert_problem(
        app.get(&format!("{base}?from=2026-13-01")).await,
        400,
        "invalid_query",
        "bad date filter",
    )
    .await;
    assert_problem(
        app.get(&format!("{base}?kind=gift")).await,
        400,
        "invalid_query",
        "unknown kind filter",
    )
    .await;
}

async fn invalid_transactions_leave_no_trace(app: &TestApp) {
    let project = funded_project(app).await;
    let before = app.balances(&project).await;
    let path = format!("/v1/projects/{project}/transactions");
    let posting = |from: &str, to: &str, amount: &str, currency: &str| json!({"effective_date": "2026-03-01", "postings": [{"from": from, "to": to, "amount": amount, "currency": currency}]});
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            posting("pool:general", "reserve", "1.001", "EUR"),
            422,
            "amount_precision",
            "more decimals than EUR has",
        ),
        (
            posting("pool:general", "reserve", "0.00", "EUR"),
            422,
            "amount_not_positive",
            "zero amount",
        ),
        (
            posting("pool:general", "reserve", "-5.00", "EUR"),
            422,
            "amount_not_positive",
            "negative amount",
        ),
        (
            posting("pool:general", "reserve", "99999999999999999999.00", "EUR"),
            422,
            "amount_too_large",
            "overflowing amount",
        ),
        (
            posting("pool:general", "reserve", "1e3", "EUR"),
            422,
            "amount_malformed",
            "exponent notation",
        ),
        (
            posting("pool:general", "nowhere", "1.00", "EUR"),
            422,
            "unknown_account",
            "unknown account",
        ),
        (
            posting("pool:general", "pool:usd", "1.00", "EUR"),
            422,
            "currency_mismatch",
            "posting unit differs from the account's",
        ),
        (
            posting("pool:general", "reserve", "1.00", "USD"),
            422,
            "currency_mismatch",
            "both accounts hold EUR",
        ),
        (
            posting("pool:general", "reserve", "1.00", "ZZZ"),
            422,
            "unknown_currency",
            "unknown unit",
        ),
        (
            posting("pool:general", "pool:general", "1.00", "EUR"),
            422,
            "same_account",
            "a posting moves between two accounts",
        ),
        (
            posting("pool:general", "reserve", "10000.01", "EUR"),
            422,
            "insufficient_funds",
            "non-negative pool cannot be overdrawn",
        ),
        (
            posting("pool general", "reserve", "1.00", "EUR"),
            422,
            "invalid_account_name",
            "malformed account name",
        ),
        (
            json!({"effective_date": "2026-03-01", "postings": []}),
            422,
            "no_postings",
            "at least one posting",
        ),
        (
            json!({"effective_date": "2026-02-30", "postings": [{"from": "pool:general", "to": "reserve", "amount": "1.00", "currency": "EUR"}]}),
            422,
            "invalid_date",
            "impossible date",
        ),
        (
            json!({"kind": "grant", "effective_date": "2026-03-01", "postings": [{"from": "pool:general", "to": "reserve", "amount": "1.00", "currency": "EUR"}]}),
            422,
            "kind_reserved",
            "grants have their own endpoint",
        ),
        (
            json!({"kind": "gift", "effective_date": "2026-03-01", "postings": []}),
            422,
            "invalid_body",
            "unknown kind",
        ),
        (
            json!({"effective_date": "2026-03-01", "postings": [{"from": "pool:general", "to": "reserve", "amount": 1, "currency": "EUR"}]}),
            422,
            "invalid_body",
            "amounts are strings, never numbers",
        ),
        // The second posting fails after the first succeeded: nothing of the transaction stays.
        (
            json!({"effective_date": "2026-03-01", "postings": [
                {"from": "pool:general", "to": "reserve", "amount": "5.00", "currency": "EUR"},
                {"from": "reserve", "to": "pool:general", "amount": "6.00", "currency": "EUR"}
            ]}),
            422,
            "insufficient_funds",
            "a later posting failing undoes the earlier ones",
        ),
    ];
    for (body, status, code, rule) in cases {
        assert_problem(app.post(&path, &body).await, status, code, rule).await;
    }
    let problem = assert_problem(
        app.post(&path, &posting("pool:general", "reserve", "1.001", "EUR"))
            .await,
        422,
        "amount_precision",
        "field list",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "postings[0].amount",
        "the offending field is named"
    );
    let response = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/json")
        .body("{\"postings\": [")
        .send()
        .await
        .expect("request");
    assert_problem(response, 400, "malformed_json", "malformed JSON").await;

    assert_eq!(
        app.balances(&project).await,
        before,
        "no refused request changed a balance"
    );
    assert_eq!(
        app.transaction_count(&project).await,
        1,
        "only the funding transaction exists"
    );
}

async fn reversal_happens_once(app: &TestApp) {
    let project = funded_project(app).await;
    let response = app
        .transfer(&project, "pool:general", "reserve", "400.00", "EUR")
        .await;
    let original = json_of(response).await;
    let id = original["id"].as_str().expect("id");
    let path = format!("/v1/projects/{project}/transactions/{id}/reversal");

    let response = app
        .client
        .post(app.url(&path))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "the body is optional");
    let reversal = json_of(response).await;
    assert_eq!(reversal["kind"], "reversal");
    assert_eq!(reversal["reverses"], id);
    assert_eq!(reversal["postings"][0]["from"], "reserve");
    assert_eq!(reversal["postings"][0]["to"], "pool:general");
    assert_eq!(
        reversal["previous_hash"], original["hash"],
        "the chain links them"
    );

    let reread = json_of(
        app.get(&format!("/v1/projects/{project}/transactions/{id}"))
            .await,
    )
    .await;
    assert_eq!(reread["reversed_by"], reversal["id"]);
    assert_problem(
        app.post(&path, &json!({})).await,
        409,
        "already_reversed",
        "a transaction is reversed once",
    )
    .await;
    let reversal_id = reversal["id"].as_str().expect("id");
    assert_problem(
        app.post(
            &format!("/v1/projects/{project}/transactions/{reversal_id}/reversal"),
            &json!({}),
        )
        .await,
        422,
        "reversal_not_reversible",
        "a reversal is not reversed",
    )
    .await;
    let balances = app.balances(&project).await;
    assert_eq!(balances["reserve"], "0.00");
    assert_eq!(balances["pool:general"], "10000.00");

    // Money that has moved on cannot be pulled back from a non-negative pool.
    let funding_page = json_of(
        app.get(&format!("/v1/projects/{project}/transactions?limit=1"))
            .await,
    )
    .await;
    let funding = funding_page["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        app.transfer(&project, "pool:general", "reserve", "5000.00", "EUR")
            .await
            .status(),
        201
    );
    let response = app
        .post(
            &format!("/v1/projects/{project}/transactions/{funding}/reversal"),
            &json!({"effective_date": "2026-04-01", "description": "recorded twice"}),
        )
        .await;
    assert_problem(
        response,
        422,
        "insufficient_funds",
        "reversal respects non-negative pools",
    )
    .await;
    assert_eq!(
        app.transaction_count(&project).await,
        4,
        "the refused reversal left nothing"
    );
}

async fn scales_follow_the_unit(app: &TestApp) {
    let project = app.create_project("JPY").await;
    for (name, unit) in [
        ("a:jpy", "JPY"),
        ("b:jpy", "JPY"),
        ("a:kwd", "KWD"),
        ("b:kwd", "KWD"),
    ] {
        app.create_account(&project, name, unit, false).await;
    }
    assert_eq!(
        app.transfer(&project, "a:jpy", "b:jpy", "1500", "JPY")
            .await
            .status(),
        201
    );
    assert_problem(
        app.transfer(&project, "a:jpy", "b:jpy", "1.5", "JPY").await,
        422,
        "amount_precision",
        "yen have no decimals",
    )
    .await;
    assert_eq!(
        app.transfer(&project, "a:kwd", "b:kwd", "1.125", "KWD")
            .await
            .status(),
        201
    );
    assert_problem(
        app.transfer(&project, "a:kwd", "b:kwd", "1.1255", "KWD")
            .await,
        422,
        "amount_precision",
        "dinars have three",
    )
    .await;
    let balances = app.balances(&project).await;
    assert_eq!(balances["b:jpy"], "1500");
    assert_eq!(balances["b:kwd"], "1.125");
}

async fn oversized_bodies_are_refused(app: &TestApp) {
    let project = funded_project(app).await;
    let body = json!({
        "effective_date": "2026-03-01",
        "description": "x".repeat(TEST_BODY_LIMIT_BYTES),
        "postings": [{"from": "pool:general", "to": "reserve", "amount": "1.00", "currency": "EUR"}]
    });
    let response = app
        .post(&format!("/v1/projects/{project}/transactions"), &body)
        .await;
    assert_problem(response, 413, "body_too_large", "body limit").await;
    assert_eq!(app.transaction_count(&project).await, 1);
}
