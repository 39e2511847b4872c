//! Reservations (issue #17, item 3): an approved run reserves its amount in
//! its pool until it is executed or cancelled; `available` = balance −
//! reserved. Every refusal with its status and code, and that it wrote
//! nothing; the figures of accounts and grants.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    approved_runs_reserve_their_amount_until_executed_or_cancelled,
    no_outflow_dips_into_reserved_money,
    concurrent_approvals_never_reserve_the_same_money,
);

struct Setup {
    project: String,
    treasurer: String,
    /// A second treasurer: a run's author never approves it (four eyes).
    approver: String,
    funder: String,
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = json_of(response).await;
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn setup(app: &TestApp) -> Setup {
    let project = app.create_project("EUR").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, approver) = app.member(&project, "treasurer").await;
    let funder = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
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
        approver,
        funder,
    };
    // A rule set paying 10 % to `reserve`, the rest left in the pool.
    app.create_account(&setup.project, "reserve", "EUR", true)
        .await;
    let rules = json!({"steps": [
        {"share": {"type": "percentage", "percent": "10", "of": "total"}, "to": {"type": "account", "account": "reserve"}}
    ], "residue": {"type": "pool"}});
    created(setup.post(app, "/rule-sets", &rules).await).await;
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

    async fn get(&self, app: &TestApp, path: &str) -> Value {
        json_of(self.send(app, Method::GET, path, None).await).await
    }

    async fn grant(&self, app: &TestApp, reference: &str, amount: &str, extra: Value) -> Value {
        let mut body = json!({"funder": self.funder, "kind": "grant", "reference": reference,
            "amount": amount, "currency": "EUR", "received_on": "2026-02-01"});
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        created(self.post(app, "/grants", &body).await).await
    }

    /// A draft of `amount` from `source` (`{}`: the general pool).
    fn draft(source: Value, amount: &str) -> Value {
        let mut body = json!({"rule_set_version": 1, "amount": amount,
            "period_from": "2026-03-01", "period_to": "2026-03-31"});
        for (key, value) in source.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    }

    async fn run(&self, app: &TestApp, source: Value, amount: &str) -> String {
        let run = created(
            self.post(app, "/distributions", &Self::draft(source, amount))
                .await,
        )
        .await;
        run["id"].as_str().expect("id").to_owned()
    }

    /// An action on a run; approvals by the second treasurer, since the
    /// author's own never counts.
    async fn act(&self, app: &TestApp, run: &str, action: &str) -> reqwest::Response {
        let path = format!("/v1/projects/{}/distributions/{run}/{action}", self.project);
        let by = if action == "approvals" {
            &self.approver
        } else {
            &self.treasurer
        };
        app.send_as(Some(by), Method::POST, &path, Some(&json!({})))
            .await
    }

    async fn status(&self, app: &TestApp, run: &str) -> Value {
        self.get(app, &format!("/distributions/{run}")).await["status"].clone()
    }

    /// An account's balance, reserved and available, from GET account.
    async fn account(&self, app: &TestApp, name: &str) -> (String, String, String) {
        let account = self.get(app, &format!("/accounts/{name}")).await;
        figures(&account)
    }

    /// What a refusal must leave as it was: the balances, the number of
    /// transactions and of runs.
    async fn ledger(&self, app: &TestApp) -> (HashMap<String, String>, usize, usize) {
        let runs = self.get(app, "/distributions").await["items"]
            .as_array()
            .expect("items")
            .len();
        (
            app.balances(&self.project).await,
            app.transaction_count(&self.project).await,
            runs,
        )
    }
}

fn figures(value: &Value) -> (String, String, String) {
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    (text("balance"), text("reserved"), text("available"))
}

fn money(balance: &str, reserved: &str, available: &str) -> (String, String, String) {
    (
        balance.to_owned(),
        reserved.to_owned(),
        available.to_owned(),
    )
}

/// The refusal names the pool's balance, what is reserved and what is available.
async fn refused(response: reqwest::Response, rule: &str, named: [&str; 3]) {
    let problem = assert_problem(response, 422, "insufficient_funds", rule).await;
    let detail = problem["detail"].as_str().expect("detail");
    for figure in named {
        assert!(detail.contains(figure), "{rule}: `{figure}` in {detail}");
    }
    assert!(
        detail.contains("reserved") && detail.contains("available"),
        "{rule}: {detail}"
    );
}

async fn approved_runs_reserve_their_amount_until_executed_or_cancelled(app: &TestApp) {
    let setup = setup(app).await;
    setup.grant(app, "U1", "1000.00", json!({})).await;
    let general = json!({"pool": "pool:general"});
    let first = setup.run(app, general.clone(), "600.00").await;
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("1000.00", "0.00", "1000.00"),
        "a draft reserves nothing"
    );
    created(setup.act(app, &first, "approvals").await).await;
    assert_eq!(setup.status(app, &first).await, "approved");
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("1000.00", "600.00", "400.00")
    );
    let listed = setup.get(app, "/balances").await;
    let pool = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["account"] == "pool:general")
        .expect("the pool in the balances");
    assert_eq!(figures(pool), money("1000.00", "600.00", "400.00"));
    let accounts = setup.get(app, "/accounts").await;
    let pool = accounts["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["name"] == "pool:general")
        .expect("the pool in the accounts");
    assert_eq!(figures(pool), money("1000.00", "600.00", "400.00"));
    assert_eq!(
        setup.account(app, "reserve").await,
        money("0.00", "0.00", "0.00")
    );

    // A second run cannot be sized against the whole pool: its draft...
    let before = setup.ledger(app).await;
    refused(
        setup
            .post(
                app,
                "/distributions",
                &Setup::draft(general.clone(), "600.00"),
            )
            .await,
        "a draft beyond what approved runs leave",
        ["1000.00", "600.00", "400.00"],
    )
    .await;
    assert_eq!(setup.ledger(app).await, before, "no run was recorded");

    // ... or, drafted while the money was free, its approval.
    // A draft of `all` is of what is available.
    let second = setup.run(app, general.clone(), "all").await;
    let second_view = setup.get(app, &format!("/distributions/{second}")).await;
    assert_eq!(second_view["amount"], "400.00", "{second_view}");
    let third = setup.run(app, general.clone(), "400.00").await;
    created(setup.act(app, &second, "approvals").await).await;
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("1000.00", "1000.00", "0.00")
    );
    let before = setup.ledger(app).await;
    refused(
        setup.act(app, &third, "approvals").await,
        "an approval beyond what approved runs leave",
        ["1000.00", "400.00", "0.00"],
    )
    .await;
    assert_eq!(setup.status(app, &third).await, "draft");
    let third_view = setup.get(app, &format!("/distributions/{third}")).await;
    assert_eq!(
        third_view["approvals"],
        json!([]),
        "the refused approval is not recorded"
    );
    assert_eq!(setup.ledger(app).await, before);

    // Executing a reserved run uses its own reservation.
    created(setup.act(app, &first, "execution").await).await;
    assert_eq!(setup.status(app, &first).await, "executed");
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("940.00", "400.00", "540.00"),
        "10 % of 600.00 paid, the rest stays in the pool, unreserved"
    );
    // Cancelling frees the money.
    created(setup.act(app, &second, "cancellation").await).await;
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("940.00", "0.00", "940.00")
    );
    created(setup.act(app, &third, "approvals").await).await;
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("940.00", "400.00", "540.00")
    );
    created(setup.act(app, &third, "cancellation").await).await;
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("940.00", "0.00", "940.00")
    );
}

async fn no_outflow_dips_into_reserved_money(app: &TestApp) {
    let setup = setup(app).await;
    let unrestricted = setup.grant(app, "U1", "100.00", json!({})).await;
    let grant = setup
        .grant(
            app,
            "R1",
            "500.00",
            json!({"restriction": "sensors", "distributable": true, "eligible_categories": ["parts"]}),
        )
        .await;
    let grant_id = grant["id"].as_str().expect("id").to_owned();
    created(
        setup
            .post(app, "/expense-categories", &json!({"name": "parts"}))
            .await,
    )
    .await;
    let general = setup
        .run(app, json!({"pool": "pool:general"}), "70.00")
        .await;
    created(setup.act(app, &general, "approvals").await).await;
    let restricted = setup.run(app, json!({"grant": grant_id}), "300.00").await;
    created(setup.act(app, &restricted, "approvals").await).await;
    let shown = setup.get(app, &format!("/grants/{grant_id}")).await;
    assert_eq!(figures(&shown), money("500.00", "300.00", "200.00"));
    assert_eq!(
        shown["remaining"], "500.00",
        "remaining is still the balance"
    );

    let before = setup.ledger(app).await;
    // A transfer.
    refused(
        app.transfer(&setup.project, "pool:general", "reserve", "30.01", "EUR")
            .await,
        "a transfer into reserved money",
        ["100.00", "70.00", "30.00"],
    )
    .await;
    // An expense, from the general pool and from the grant.
    let expense = |amount: &str, grant: Option<&str>| {
        let mut body = json!({"amount": amount, "currency": "EUR", "category": "parts",
            "supplier": "Capteurs & Cie", "date": "2026-04-01"});
        if let Some(grant) = grant {
            body["grant"] = json!(grant);
        }
        body
    };
    refused(
        setup.post(app, "/expenses", &expense("30.01", None)).await,
        "an expense into reserved money",
        ["100.00", "70.00", "30.00"],
    )
    .await;
    refused(
        setup
            .post(app, "/expenses", &expense("200.01", Some(&grant_id)))
            .await,
        "an expense of a grant into reserved money",
        ["500.00", "300.00", "200.00"],
    )
    .await;
    // A release.
    let release =
        |amount: &str| json!({"amount": amount, "date": "2026-06-30", "reason": "consent"});
    refused(
        setup
            .post(
                app,
                &format!("/grants/{grant_id}/releases"),
                &release("200.01"),
            )
            .await,
        "a release of reserved money",
        ["500.00", "300.00", "200.00"],
    )
    .await;
    // An exchange selling from the pool.
    let exchange = json!({"sell": {"amount": "30.01", "currency": "EUR"},
        "buy": {"amount": "35.00", "currency": "USD"},
        "date": "2026-04-02", "source": "bank statement 2026-04"});
    refused(
        setup.post(app, "/exchanges", &exchange).await,
        "an exchange selling reserved money",
        ["100.00", "70.00", "30.00"],
    )
    .await;
    // A reversal taking a grant's money back out of the pool.
    let transaction = unrestricted["transaction"].as_str().expect("transaction");
    refused(
        setup
            .post(
                app,
                &format!("/transactions/{transaction}/reversal"),
                &json!({}),
            )
            .await,
        "a reversal of reserved money",
        ["100.00", "70.00", "30.00"],
    )
    .await;
    assert_eq!(setup.ledger(app).await, before, "nothing was written");

    // What is free still moves (a release once a second person approves it).
    let asked = created(
        setup
            .post(
                app,
                &format!("/grants/{grant_id}/releases"),
                &release("150.00"),
            )
            .await,
    )
    .await;
    let approval = format!(
        "/v1/projects/{}/grants/{grant_id}/releases/{}/approvals",
        setup.project,
        asked["id"].as_str().expect("release id")
    );
    created(
        app.send_as(
            Some(&setup.approver),
            Method::POST,
            &approval,
            Some(&json!({})),
        )
        .await,
    )
    .await;
    created(
        setup
            .post(app, "/expenses", &expense("50.00", Some(&grant_id)))
            .await,
    )
    .await;
    let shown = setup.get(app, &format!("/grants/{grant_id}")).await;
    assert_eq!(figures(&shown), money("300.00", "300.00", "0.00"));
    // Dated after the release (June 30): the pool holds that money only
    // from then on.
    let mut transfer = crate::helpers::transfer_body("pool:general", "reserve", "180.00", "EUR");
    transfer["effective_date"] = json!("2026-07-01");
    created(
        app.send_as(
            Some(&setup.treasurer),
            Method::POST,
            &format!("/v1/projects/{}/transactions", setup.project),
            Some(&transfer),
        )
        .await,
    )
    .await;
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("70.00", "70.00", "0.00"),
        "100 + 150 released - 180"
    );
    // The reserved runs still execute, each from its own reservation.
    created(setup.act(app, &restricted, "execution").await).await;
    created(setup.act(app, &general, "execution").await).await;
    let shown = setup.get(app, &format!("/grants/{grant_id}")).await;
    assert_eq!(figures(&shown), money("270.00", "0.00", "270.00"));
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("63.00", "0.00", "63.00")
    );
}

/// Two approvals at once of runs each sized against most of the pool: one
/// is approved, the other refused, whatever the interleaving.
async fn concurrent_approvals_never_reserve_the_same_money(app: &TestApp) {
    let setup = setup(app).await;
    setup.grant(app, "U1", "1000.00", json!({})).await;
    let general = json!({"pool": "pool:general"});
    let first = setup.run(app, general.clone(), "600.00").await;
    let second = setup.run(app, general, "600.00").await;
    let (a, b) = tokio::join!(
        setup.act(app, &first, "approvals"),
        setup.act(app, &second, "approvals")
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [201, 422],
        "exactly one approval reserves the money"
    );
    let approved = [
        setup.status(app, &first).await,
        setup.status(app, &second).await,
    ];
    assert_eq!(
        approved
            .iter()
            .filter(|status| **status == "approved")
            .count(),
        1,
        "{approved:?}"
    );
    assert_eq!(
        setup.account(app, "pool:general").await,
        money("1000.00", "600.00", "400.00")
    );
}
