//! Pooled funds through the API: grants, donations, expenses, payouts and
//! exchanges, each an ordinary ledger transaction.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    story_steps_two_and_five,
    restricted_money_and_insufficient_funds,
    a_grant_recorded_by_mistake_is_reversed,
    exchanges_keep_currencies_apart,
    payouts_never_exceed_what_is_owed,
);

async fn agent(app: &TestApp, kind: &str, name: &str) -> String {
    let created = json_of(
        app.post("/v1/agents", &json!({"kind": kind, "name": name}))
            .await,
    )
    .await;
    created["id"].as_str().expect("id").to_owned()
}

fn grant(funder: &str, reference: &str, amount: &str, restriction: Option<&str>) -> Value {
    json!({"funder": funder, "kind": if restriction.is_some() { "grant" } else { "donation" }, "reference": reference,
           "amount": amount, "currency": "EUR", "received_on": "2026-02-01", "period_start": "2026-01-01",
           "period_end": "2026-12-31", "restriction": restriction,
           "eligible_categories": if restriction.is_some() { json!(["parts", "personnel"]) } else { json!([]) }})
}

fn expense(grant: Option<&str>, amount: &str, category: &str) -> Value {
    json!({"grant": grant, "amount": amount, "currency": "EUR", "category": category, "supplier": "Capteurs & Cie",
           "date": "2026-03-15", "description": "sensor parts", "receipt_uri": "https://receipts.example/2026-0315.pdf"})
}

/// Project, treasurer, funder (as auditor) and expense categories.
async fn setup(app: &TestApp) -> (String, String, String, String) {
    let project = app.create_project("EUR").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let funder = agent(app, "organisation", "Fondation Horizon").await;
    let response = app
        .post(
            &format!("/v1/projects/{project}/members"),
            &json!({"agent": funder, "role": "auditor"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let auditor = app.token_for(&funder);
    for (name, funder_category) in [
        ("parts", "C purchases"),
        ("personnel", "A personnel"),
        ("travel", "D other"),
    ] {
        created(
            app.send_as(
                Some(&treasurer),
                Method::POST,
                &format!("/v1/projects/{project}/expense-categories"),
                Some(&json!({"name": name, "funder_category": funder_category})),
            )
            .await,
        )
        .await;
    }
    (project, treasurer, funder, auditor)
}

async fn story_steps_two_and_five(app: &TestApp) {
    let (project, treasurer, funder, auditor) = setup(app).await;
    let donor = agent(app, "person", "A neighbour").await;
    let grants = format!("/v1/projects/{project}/grants");
    let fh = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &grants,
            Some(&grant(
                &funder,
                "FH-2026-017",
                "10000.00",
                Some("air-quality sensor programme"),
            )),
        )
        .await,
    )
    .await;
    assert_eq!(
        fh["pool"], "pool:grant:FH-2026-017",
        "restricted money has a pool of its own"
    );
    assert_eq!(fh["received"], "10000.00");
    created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &grants,
            Some(&grant(&donor, "DON-2026-001", "250.00", None)),
        )
        .await,
    )
    .await;

    let paid = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &format!("/v1/projects/{project}/expenses"),
            Some(&expense(fh["id"].as_str(), "1200.00", "parts")),
        )
        .await,
    )
    .await;
    assert_eq!(paid["pool"], "pool:grant:FH-2026-017");

    let id = fh["id"].as_str().expect("id");
    let seen = json_of(
        app.send_as(Some(&auditor), Method::GET, &format!("{grants}/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(
        (
            seen["received"].as_str(),
            seen["spent"].as_str(),
            seen["distributed"].as_str(),
            seen["remaining"].as_str()
        ),
        (
            Some("10000.00"),
            Some("1200.00"),
            Some("0.00"),
            Some("8800.00")
        ),
        "the funder sees its grant straight from the ledger"
    );
    let balances = app.balances(&project).await;
    assert_eq!(balances[&format!("funder:{funder}")], "-10000.00");
    assert_eq!(balances["pool:grant:FH-2026-017"], "8800.00");
    assert_eq!(balances["pool:general"], "250.00");
    assert_eq!(balances["expense:parts"], "1200.00");
    assert_eq!(balances[&format!("funder:{donor}")], "-250.00");

    let kinds: Vec<String> = json_of(
        app.get(&format!("/v1/projects/{project}/transactions"))
            .await,
    )
    .await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["kind"].as_str().expect("kind").to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["grant", "donation", "expense"],
        "every movement is an ordinary ledger transaction"
    );
    assert_problem(
        app.send_as(
            Some(&auditor),
            Method::POST,
            &grants,
            Some(&grant(&funder, "X-1", "1.00", None)),
        )
        .await,
        403,
        "forbidden",
        "funders read, treasurers record",
    )
    .await;
    let (_, contributor) = app.member(&project, "contributor").await;
    assert_problem(
        app.send_as(
            Some(&contributor),
            Method::POST,
            &format!("/v1/projects/{project}/expenses"),
            Some(&expense(None, "1.00", "parts")),
        )
        .await,
        403,
        "forbidden",
        "contributors do not record expenses",
    )
    .await;
}

async fn restricted_money_and_insufficient_funds(app: &TestApp) {
    let (project, treasurer, funder, _) = setup(app).await;
    let grants = format!("/v1/projects/{project}/grants");
    let fh = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &grants,
            Some(&grant(&funder, "FH-2026-017", "10000.00", Some("sensors"))),
        )
        .await,
    )
    .await;
    created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &grants,
            Some(&grant(&funder, "DON-1", "250.00", None)),
        )
        .await,
    )
    .await;
    assert_problem(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &grants,
            Some(&grant(&funder, "FH-2026-017", "5.00", None)),
        )
        .await,
        409,
        "duplicate_reference",
        "one grant per reference",
    )
    .await;
    let before = app.balances(&project).await;
    let expenses = format!("/v1/projects/{project}/expenses");
    let cases = [
        (
            expense(fh["id"].as_str(), "100.00", "travel"),
            422,
            "restricted_purpose",
            "restricted money pays only for its purpose",
        ),
        (
            expense(None, "300.00", "parts"),
            422,
            "insufficient_funds",
            "the general pool cannot spend the restricted money",
        ),
        (
            expense(fh["id"].as_str(), "10000.01", "parts"),
            422,
            "insufficient_funds",
            "no pool pays more than it holds",
        ),
        (
            expense(None, "1.00", "catering"),
            422,
            "unknown_category",
            "categories are the project's list",
        ),
        (
            expense(None, "1.001", "parts"),
            422,
            "amount_precision",
            "cents only",
        ),
    ];
    for (body, status, code, rule) in cases {
        assert_problem(
            app.send_as(Some(&treasurer), Method::POST, &expenses, Some(&body))
                .await,
            status,
            code,
            rule,
        )
        .await;
    }
    assert_eq!(
        app.balances(&project).await,
        before,
        "refused expenses leave nothing behind"
    );
    let listed = json_of(app.get(&expenses).await).await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 0);
    created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &expenses,
            Some(&expense(None, "250.00", "travel")),
        )
        .await,
    )
    .await;
    assert_eq!(
        app.balances(&project).await["pool:general"],
        "0.00",
        "exactly everything is allowed"
    );
}

async fn a_grant_recorded_by_mistake_is_reversed(app: &TestApp) {
    let (project, treasurer, funder, _) = setup(app).await;
    let grants = format!("/v1/projects/{project}/grants");
    let mistake = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &grants,
            Some(&grant(&funder, "FH-TYPO", "1000.00", Some("sensors"))),
        )
        .await,
    )
    .await;
    let transaction = mistake["transaction"].as_str().expect("transaction");
    let reversal = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &format!("/v1/projects/{project}/transactions/{transaction}/reversal"),
            Some(&json!({"description": "recorded under the wrong reference"})),
        )
        .await,
    )
    .await;
    let id = mistake["id"].as_str().expect("id");
    let after = json_of(app.get(&format!("{grants}/{id}")).await).await;
    assert_eq!(after["reversed_by"], reversal["id"]);
    assert_eq!(
        (after["received"].as_str(), after["remaining"].as_str()),
        (Some("0.00"), Some("0.00")),
        "reversed, not deleted"
    );
    assert_eq!(
        app.balances(&project).await[&format!("funder:{funder}")],
        "0.00"
    );
    let listed = json_of(app.get(&grants).await).await;
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        1,
        "the grant stays on record"
    );
}

async fn exchanges_keep_currencies_apart(app: &TestApp) {
    let (project, treasurer, funder, _) = setup(app).await;
    let mut usd = grant(&funder, "US-1", "100.00", None);
    usd["currency"] = json!("USD");
    let usd_grant = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &format!("/v1/projects/{project}/grants"),
            Some(&usd),
        )
        .await,
    )
    .await;
    assert_eq!(usd_grant["pool"], "pool:general:usd", "a pool per currency");
    let exchange = json!({"sell": {"amount": "100.00", "currency": "USD"}, "buy": {"amount": "92.13", "currency": "EUR"},
                          "date": "2026-04-02", "source": "bank statement 2026-04"});
    let transaction = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &format!("/v1/projects/{project}/exchanges"),
            Some(&exchange),
        )
        .await,
    )
    .await;
    assert_eq!(transaction["kind"], "exchange");
    assert_eq!(
        transaction["postings"].as_array().expect("postings").len(),
        2,
        "two legs"
    );
    assert_eq!(transaction["metadata"]["rate"], "0.9213");
    assert_eq!(
        transaction["metadata"]["rate_source"],
        "bank statement 2026-04"
    );
    let balances = app.balances(&project).await;
    assert_eq!(balances["pool:general:usd"], "0.00");
    assert_eq!(balances["pool:general"], "92.13");
    assert_eq!(balances["exchange:usd"], "100.00");
    assert_eq!(balances["exchange:eur"], "-92.13");
    let again = app
        .send_as(
            Some(&treasurer),
            Method::POST,
            &format!("/v1/projects/{project}/exchanges"),
            Some(&exchange),
        )
        .await;
    assert_problem(again, 422, "insufficient_funds", "nothing left to sell").await;
}

async fn payouts_never_exceed_what_is_owed(app: &TestApp) {
    let (project, treasurer, _, _) = setup(app).await;
    let (contributor, _) = app.member(&project, "contributor").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, &format!("contributor:{contributor}"), "EUR", true)
        .await;
    assert_eq!(
        app.transfer(
            &project,
            "funder:a",
            &format!("contributor:{contributor}"),
            "312.50",
            "EUR"
        )
        .await
        .status(),
        201
    );
    let payouts = format!("/v1/projects/{project}/payouts");
    let payout = |amount: &str| {
        json!({"agent": contributor, "amount": amount, "currency": "EUR", "method": "bank-transfer",
                                       "reference": "SEPA-2026-0042", "date": "2026-04-30"})
    };
    assert_problem(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &payouts,
            Some(&payout("312.51")),
        )
        .await,
        422,
        "insufficient_funds",
        "never more than owed",
    )
    .await;
    let paid = created(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &payouts,
            Some(&payout("312.50")),
        )
        .await,
    )
    .await;
    assert_eq!(paid["amount"], "312.50");
    let balances = app.balances(&project).await;
    assert_eq!(balances[&format!("contributor:{contributor}")], "0.00");
    assert_eq!(balances["payout:bank-transfer"], "312.50");
    assert_eq!(
        json_of(app.get(&payouts).await).await["items"]
            .as_array()
            .expect("items")
            .len(),
        1
    );
}
