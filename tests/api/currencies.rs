//! Funds in any currency (issue #17, item 6): a USD grant to a EUR project
//! is received into a USD pool, exchanged at a recorded rate and source
//! (a restricted grant's money staying restricted), spent in either
//! currency and reported; a distribution from a pool of another currency
//! than the contributions' valuations is refused, writing nothing.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    a_usd_grant_to_a_eur_project_is_received_exchanged_spent_and_reported,
    a_distribution_from_a_pool_of_another_currency_is_refused,
);

struct Setup {
    project: String,
    treasurer: String,
    funder: String,
}

async fn setup(app: &TestApp) -> Setup {
    let project = app.create_project("EUR").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let funder = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Sloan Foundation"}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let setup = Setup {
        project,
        treasurer,
        funder,
    };
    created(
        setup
            .post(app, "/expense-categories", &json!({"name": "parts"}))
            .await,
    )
    .await;
    setup
}

impl Setup {
    async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let path = format!("/v1/projects/{}{path}", self.project);
        app.send_as(Some(&self.treasurer), method, &path, body)
            .await
    }

    async fn post(&self, app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
        self.send(app, Method::POST, path, Some(body)).await
    }

    async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.send(app, Method::GET, path, None).await
    }

    async fn grant(
        &self,
        app: &TestApp,
        reference: &str,
        amount: &str,
        currency: &str,
        extra: Value,
    ) -> Value {
        let mut body = json!({"funder": self.funder, "kind": "grant", "reference": reference,
            "amount": amount, "currency": currency, "received_on": "2026-02-01"});
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        created(self.post(app, "/grants", &body).await).await
    }

    async fn ledger(&self, app: &TestApp) -> (HashMap<String, String>, usize) {
        (
            app.balances(&self.project).await,
            app.transaction_count(&self.project).await,
        )
    }
}

async fn a_usd_grant_to_a_eur_project_is_received_exchanged_spent_and_reported(app: &TestApp) {
    let setup = setup(app).await;
    // The same funder gives in the project's currency and in USD: one
    // account per currency, never a currency mismatch.
    setup.grant(app, "EU-1", "500.00", "EUR", json!({})).await;
    let grant = setup
        .grant(
            app,
            "US-1",
            "10000.00",
            "USD",
            json!({"restriction": "sensor hardware", "eligible_categories": ["parts"]}),
        )
        .await;
    let grant_id = grant["id"].as_str().expect("id");
    assert_eq!(grant["pool"], "pool:grant:US-1");
    let balances = app.balances(&setup.project).await;
    let funder = &setup.funder;
    assert_eq!(balances[&format!("funder:{funder}")], "-500.00");
    assert_eq!(balances[&format!("funder:{funder}:usd")], "-10000.00");
    assert_eq!(balances["pool:grant:US-1"], "10000.00");

    // Exchanged: the grant's money stays its own, and restricted.
    let exchange = created(
        setup
            .post(
                app,
                "/exchanges",
                &json!({"grant": grant_id,
                "sell": {"amount": "4000.00", "currency": "USD"},
                "buy": {"amount": "3680.00", "currency": "EUR"},
                "date": "2026-02-10", "source": "bank statement 2026-02, ECB 0.92"}),
            )
            .await,
    )
    .await;
    assert_eq!(exchange["metadata"]["rate"], "0.92");
    let balances = app.balances(&setup.project).await;
    assert_eq!(balances["pool:grant:US-1"], "6000.00");
    assert_eq!(balances["pool:grant:US-1:eur"], "3680.00");
    assert!(!balances.contains_key("pool:general:usd"));

    // Spent in either currency, each from the grant's pool of that currency.
    for (amount, currency, pool) in [
        ("1000.00", "EUR", "pool:grant:US-1:eur"),
        ("500.00", "USD", "pool:grant:US-1"),
    ] {
        let expense = created(
            setup
                .post(
                    app,
                    "/expenses",
                    &json!({"grant": grant_id, "amount": amount,
                    "currency": currency, "category": "parts", "supplier": "Capteurs & Cie",
                    "date": "2026-02-20"}),
                )
                .await,
        )
        .await;
        assert_eq!(expense["pool"], pool);
    }
    let balances = app.balances(&setup.project).await;
    assert_eq!(balances["expense:parts"], "1000.00");
    assert_eq!(balances["expense:parts:usd"], "500.00");
    assert_eq!(balances["pool:grant:US-1:eur"], "2680.00");

    // The exchanged money is still restricted: no transfer takes it out,
    // and no exchange takes it to the general pool.
    let before = setup.ledger(app).await;
    let out = json!({"kind": "transfer", "effective_date": "2026-03-01", "postings": [
        {"from": "pool:grant:US-1:eur", "to": "pool:general", "amount": "1.00", "currency": "EUR"}]});
    assert_problem(
        setup.post(app, "/transactions", &out).await,
        422,
        "restricted_funds",
        "a transfer out",
    )
    .await;
    let ineligible = json!({"grant": grant_id, "amount": "1.00", "currency": "EUR",
        "category": "travel", "supplier": "SNCF", "date": "2026-02-20"});
    created(
        setup
            .post(app, "/expense-categories", &json!({"name": "travel"}))
            .await,
    )
    .await;
    assert_problem(
        setup.post(app, "/expenses", &ineligible).await,
        422,
        "restricted_purpose",
        "ineligible",
    )
    .await;
    let too_much = json!({"grant": grant_id, "sell": {"amount": "2680.01", "currency": "EUR"},
        "buy": {"amount": "3000.00", "currency": "USD"}, "date": "2026-02-11", "source": "bank"});
    assert_problem(
        setup.post(app, "/exchanges", &too_much).await,
        422,
        "insufficient_funds",
        "more than the grant holds in EUR",
    )
    .await;
    assert_eq!(setup.ledger(app).await, before, "refusals wrote nothing");

    // The grant shows its own currency's figures and its other pools.
    let shown = json_of(setup.get(app, &format!("/grants/{grant_id}")).await).await;
    assert_eq!(shown["currency"], "USD");
    assert_eq!(shown["received"], "10000.00");
    assert_eq!(shown["exchanged"], "4000.00");
    assert_eq!(shown["spent"], "500.00");
    assert_eq!(shown["balance"], "5500.00");
    assert_eq!(
        shown["other_pools"],
        json!([{"pool": "pool:grant:US-1:eur", "currency": "EUR",
        "balance": "2680.00", "reserved": "0.00", "available": "2680.00"}])
    );

    // The report: the grant's currency, the exchange with its rate and
    // source, and the grant's EUR pool with its own lines and totals.
    let response = setup
        .get(app, &format!("/reports/grants/{grant_id}.csv"))
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("csv");
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    let find = |section: &str, currency: &str| -> Vec<&Vec<String>> {
        rows.iter()
            .filter(|r| r[0] == section && r[11] == currency)
            .collect()
    };
    let exchanged = find("exchanged", "USD");
    assert_eq!(exchanged.len(), 1, "{text}");
    assert_eq!(exchanged[0][9], "4000.00");
    assert!(
        exchanged[0][4].contains("at 0.92 (bank statement 2026-02, ECB 0.92)"),
        "{text}"
    );
    assert_eq!(find("exchanged", "EUR")[0][9], "-3680.00", "{text}");
    assert_eq!(find("total_exchanged", "USD")[0][9], "4000.00");
    assert_eq!(find("remaining", "USD")[0][9], "5500.00");
    assert_eq!(find("total_spent", "EUR")[0][9], "1000.00");
    assert_eq!(find("remaining", "EUR")[0][9], "2680.00", "{text}");
}

async fn a_distribution_from_a_pool_of_another_currency_is_refused(app: &TestApp) {
    let setup = setup(app).await;
    let base = format!("/v1/projects/{}", setup.project);
    let (_, contributor) = app.member(&setup.project, "contributor").await;
    created(
        setup
            .post(
                app,
                "/rates",
                &json!({"kind": "time", "effective_from": "2026-01-01",
        "rate": "25.00", "currency": "EUR", "per": "hour", "method": "replacement_cost",
        "source": "test"}),
            )
            .await,
    )
    .await;
    let contribution = created(
        app.send_as(
            Some(&contributor),
            Method::POST,
            &format!("{base}/contributions"),
            Some(&json!({"kind": "time", "date": "2026-03-02", "quantity": "10", "unit": "hour"})),
        )
        .await,
    )
    .await;
    let id = contribution["id"].as_str().expect("id");
    created(
        setup
            .post(
                app,
                &format!("/contributions/{id}/reviews"),
                &json!({"decision": "approve"}),
            )
            .await,
    )
    .await;
    setup.grant(app, "US-2", "1000.00", "USD", json!({})).await;
    created(
        setup
            .post(
                app,
                "/rule-sets",
                &json!({"steps": [
        {"share": {"type": "percentage", "percent": "100", "of": "total"},
         "to": {"type": "pro_rata", "weights": {"time": "1"}}}
    ], "residue": {"type": "pool"}}),
            )
            .await,
    )
    .await;
    let before = setup.ledger(app).await;
    let draft = json!({"rule_set_version": 1, "amount": "100.00", "pool": "pool:general:usd",
        "period_from": "2026-03-01", "period_to": "2026-03-31"});
    let refused = setup.post(app, "/distributions", &draft).await;
    let body = assert_problem(refused, 422, "exchange_first", "a USD pool over EUR values").await;
    assert!(
        body["detail"].as_str().expect("detail").contains("EUR"),
        "{body}"
    );
    assert_eq!(setup.ledger(app).await, before);
    let runs = json_of(setup.get(app, "/distributions").await).await;
    assert_eq!(runs["items"], json!([]), "no run was kept");
}
