//! Restricted money stays restricted, and pools are pools (issue #17, items
//! 1 and 2): every refusal with its status and code, and that it wrote
//! nothing; releases; distributable grants; managed accounts never adopted
//! with other flags or currency.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    a_generic_transaction_never_takes_restricted_money_out,
    the_database_refuses_restricted_money_out_by_a_transfer,
    a_release_moves_money_to_the_general_pool_and_is_reported,
    releases_that_cannot_be_are_refused,
    a_distribution_draws_from_a_restricted_pool_only_when_distributable,
    a_distribution_draws_only_from_a_pool,
    managed_names_get_the_flags_their_operations_need,
    an_account_of_other_flags_or_currency_is_never_adopted,
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
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    Setup {
        project,
        treasurer,
        funder,
    }
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

    /// A grant of `amount` EUR; restricted with `extra` `{"restriction": ...}`.
    async fn grant(&self, app: &TestApp, reference: &str, amount: &str, extra: Value) -> Value {
        let mut body = json!({"funder": self.funder, "kind": "grant", "reference": reference,
            "amount": amount, "currency": "EUR", "received_on": "2026-02-01"});
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        created(self.post(app, "/grants", &body).await).await
    }

    /// What a refusal must leave as it was: the balances and the number of
    /// transactions.
    async fn ledger(&self, app: &TestApp) -> (HashMap<String, String>, usize) {
        (
            app.balances(&self.project).await,
            app.transaction_count(&self.project).await,
        )
    }
}

fn restricted() -> Value {
    json!({"restriction": "air-quality sensor programme"})
}

async fn a_generic_transaction_never_takes_restricted_money_out(app: &TestApp) {
    let setup = setup(app).await;
    setup.grant(app, "R1", "1000.00", restricted()).await;
    setup.grant(app, "U1", "100.00", json!({})).await;
    app.create_account(&setup.project, "reserve", "EUR", true)
        .await;
    let before = setup.ledger(app).await;
    assert_eq!(before.0["pool:grant:R1"], "1000.00");
    for kind in ["transfer", "adjustment"] {
        for to in ["pool:general", "reserve"] {
            let body = json!({"kind": kind, "effective_date": "2026-03-01", "postings": [
                {"from": "pool:general", "to": "reserve", "amount": "1.00", "currency": "EUR"},
                {"from": "pool:grant:R1", "to": to, "amount": "10.00", "currency": "EUR"}]});
            let refused = setup.post(app, "/transactions", &body).await;
            assert_problem(
                refused,
                422,
                "restricted_funds",
                "a transfer out of a restricted pool",
            )
            .await;
        }
    }
    assert_eq!(setup.ledger(app).await, before, "nothing was written");
    // Money may still come in, and general money moves freely.
    let into = json!({"effective_date": "2026-03-01", "postings": [
        {"from": "pool:general", "to": "pool:grant:R1", "amount": "10.00", "currency": "EUR"}]});
    created(setup.post(app, "/transactions", &into).await).await;
    assert_eq!(
        app.balances(&setup.project).await["pool:grant:R1"],
        "1010.00"
    );
}

/// The same rule in the database itself: a transfer out of a restricted
/// pool written behind the service's checks is refused by a trigger.
async fn the_database_refuses_restricted_money_out_by_a_transfer(app: &TestApp) {
    use commons_ledger::domain::{
        AccountName, Amount, NewPosting, NewTransaction, TransactionKind, Unit,
    };
    let setup = setup(app).await;
    setup.grant(app, "R1", "1000.00", restricted()).await;
    setup.grant(app, "U1", "100.00", json!({})).await;
    let before = setup.ledger(app).await;
    let eur = Unit::lookup("EUR").expect("EUR");
    // A transfer, and an exchange whose leg out of the restricted pool does
    // not go to an exchange account: the database refuses both.
    for (kind, to) in [
        (TransactionKind::Transfer, "pool:general"),
        (TransactionKind::Exchange, "pool:general"),
    ] {
        let transfer = NewTransaction {
            kind,
            effective_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
            description: "behind the service's back".to_owned(),
            metadata: "{}".to_owned(),
            postings: vec![NewPosting {
                from: AccountName::parse("pool:grant:R1").expect("name"),
                to: AccountName::parse(to).expect("name"),
                amount: Amount::parse("10.00", &eur).expect("amount"),
                unit: "EUR".to_owned(),
            }],
        };
        let project = setup.project.clone();
        let (db, admin) = (app.db.clone(), app.admin_id.clone());
        let written = tokio::task::spawn_blocking(move || {
            use diesel::Connection;
            let mut pooled = db.connection().expect("connection");
            let conn: &mut commons_ledger::db::DbConnection = &mut pooled;
            // One database transaction, as the service's writes are: the
            // trigger's refusal undoes the transaction row with its postings.
            conn.transaction(|conn| {
                commons_ledger::db::transactions::post(conn, (&project, &admin), &transfer, None)
                    .map(drop)
            })
        })
        .await
        .expect("task");
        assert!(
            matches!(
                written,
                Err(commons_ledger::db::transactions::PostError::Database(_))
            ),
            "the trigger refuses a {kind:?}: {written:?}"
        );
        assert_eq!(setup.ledger(app).await, before, "nothing was written");
    }
}

async fn a_release_moves_money_to_the_general_pool_and_is_reported(app: &TestApp) {
    let setup = setup(app).await;
    let grant = setup.grant(app, "R1", "1000.00", restricted()).await;
    assert_eq!(
        grant["distributable"], false,
        "restricted: not distributable by default"
    );
    let id = grant["id"].as_str().expect("id");
    let asked = created(
        setup
            .post(
                app,
                &format!("/grants/{id}/releases"),
                &json!({"amount": "300.00", "date": "2026-06-30",
                        "reason": "letter of Fondation Horizon, 2026-06-12"}),
            )
            .await,
    )
    .await;
    // Four eyes: a release waits for another owner or treasurer, and
    // posts nothing until then.
    assert_eq!(asked["status"], "pending");
    assert_eq!(asked["transaction"], Value::Null);
    assert_eq!(
        app.balances(&setup.project).await["pool:grant:R1"],
        "1000.00"
    );
    let decide = |action: &str| {
        format!(
            "/v1/projects/{}/grants/{id}/releases/{}/{action}",
            setup.project,
            asked["id"].as_str().expect("release id")
        )
    };
    assert_problem(
        setup
            .post(
                app,
                &format!(
                    "/grants/{id}/releases/{}/approvals",
                    asked["id"].as_str().expect("id")
                ),
                &json!({}),
            )
            .await,
        403,
        "self_approval",
        "its recorder never approves a release",
    )
    .await;
    let (_, approver) = app.member(&setup.project, "treasurer").await;
    let release = created(
        app.send_as(
            Some(&approver),
            Method::POST,
            &decide("approvals"),
            Some(&json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(release["status"], "posted");
    assert_problem(
        app.send_as(
            Some(&approver),
            Method::POST,
            &decide("rejections"),
            Some(&json!({"reason": "late"})),
        )
        .await,
        409,
        "already_decided",
        "a decision is final",
    )
    .await;
    assert_eq!(release["amount"], "300.00");
    assert_eq!(
        release["currency"], "EUR",
        "the grant's currency by default"
    );
    assert_eq!(release["grant"], id);
    let balances = app.balances(&setup.project).await;
    assert_eq!(balances["pool:grant:R1"], "700.00");
    assert_eq!(balances["pool:general"], "300.00");
    let transaction = json_of(
        setup
            .send(
                app,
                Method::GET,
                &format!(
                    "/transactions/{}",
                    release["transaction"].as_str().expect("tx")
                ),
                None,
            )
            .await,
    )
    .await;
    assert_eq!(transaction["kind"], "release");
    assert_eq!(transaction["postings"][0]["from"], "pool:grant:R1");
    assert_eq!(transaction["postings"][0]["to"], "pool:general");

    let seen = json_of(
        setup
            .send(app, Method::GET, &format!("/grants/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(
        (&seen["received"], &seen["released"], &seen["remaining"]),
        (&json!("1000.00"), &json!("300.00"), &json!("700.00"))
    );
    let listed = json_of(
        setup
            .send(app, Method::GET, &format!("/grants/{id}/releases"), None)
            .await,
    )
    .await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    assert_eq!(
        listed["items"][0]["reason"],
        "letter of Fondation Horizon, 2026-06-12"
    );

    let report = setup
        .send(app, Method::GET, &format!("/reports/grants/{id}.csv"), None)
        .await;
    assert_eq!(report.status(), 200);
    let text = report.text().await.expect("csv");
    let line = |section: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{section},")))
            .unwrap_or_else(|| panic!("a {section} line in {text}"))
            .to_owned()
    };
    assert!(line("released").contains("300.00"), "{text}");
    assert!(
        line("released").contains("letter of Fondation Horizon"),
        "{text}"
    );
    assert!(line("total_released").contains("300.00"), "{text}");
    assert!(line("remaining").contains("700.00"), "{text}");
    // Released money is general money: an expense without a grant spends it.
    created(
        setup
            .post(app, "/expense-categories", &json!({"name": "travel"}))
            .await,
    )
    .await;
    created(
        setup
            .post(
                app,
                "/expenses",
                &json!({"amount": "50.00", "currency": "EUR", "category": "travel",
                "supplier": "SNCF", "date": "2026-07-01"}),
            )
            .await,
    )
    .await;
    assert_eq!(app.balances(&setup.project).await["pool:general"], "250.00");
}

async fn releases_that_cannot_be_are_refused(app: &TestApp) {
    let setup = setup(app).await;
    let grant = setup.grant(app, "R1", "1000.00", restricted()).await;
    let open = setup.grant(app, "U1", "100.00", json!({})).await;
    let (_, contributor) = app.member(&setup.project, "contributor").await;
    let before = setup.ledger(app).await;
    let body = |amount: &str| json!({"amount": amount, "date": "2026-06-30", "reason": "consent"});
    let path = |grant: &Value| format!("/grants/{}/releases", grant["id"].as_str().expect("id"));
    assert_problem(
        setup.post(app, &path(&open), &body("10.00")).await,
        422,
        "not_restricted",
        "an unrestricted grant's money is already general",
    )
    .await;
    assert_problem(
        setup.post(app, &path(&grant), &body("1000.01")).await,
        422,
        "insufficient_funds",
        "more than the pool holds",
    )
    .await;
    assert_problem(
        setup
            .post(app, &path(&grant), &json!({"amount": "10.00", "currency": "USD", "date": "2026-06-30", "reason": "consent"}))
            .await,
        422,
        "currency_mismatch",
        "the pool holds the grant's currency only",
    )
    .await;
    assert_problem(
        setup
            .post(
                app,
                &path(&grant),
                &json!({"amount": "10.00", "date": "2026-06-30", "reason": " "}),
            )
            .await,
        422,
        "too_long",
        "a release says why",
    )
    .await;
    assert_problem(
        setup
            .post(
                app,
                "/grants/01900000-0000-7000-8000-000000000000/releases",
                &body("10.00"),
            )
            .await,
        404,
        "grant_not_found",
        "unknown grant",
    )
    .await;
    assert_problem(
        app.send_as(
            Some(&contributor),
            Method::POST,
            &format!("/v1/projects/{}{}", setup.project, path(&grant)),
            Some(&body("10.00")),
        )
        .await,
        403,
        "forbidden",
        "only owners and treasurers release",
    )
    .await;
    assert_eq!(setup.ledger(app).await, before, "nothing was written");
    let listed = json_of(setup.send(app, Method::GET, &path(&grant), None).await).await;
    assert_eq!(listed["items"], json!([]));
}

/// A rule set paying 10 % to `reserve`, the rest left in the pool.
async fn rule_set(app: &TestApp, setup: &Setup) {
    app.create_account(&setup.project, "reserve", "EUR", true)
        .await;
    let rules = json!({"steps": [
        {"share": {"type": "percentage", "percent": "10", "of": "total"}, "to": {"type": "account", "account": "reserve"}}
    ], "residue": {"type": "pool"}});
    created(setup.post(app, "/rule-sets", &rules).await).await;
}

fn draft(source: Value) -> Value {
    let mut body = json!({"rule_set_version": 1, "amount": "100.00",
        "period_from": "2026-03-01", "period_to": "2026-03-31"});
    for (key, value) in source.as_object().expect("object") {
        body[key] = value.clone();
    }
    body
}

async fn runs(app: &TestApp, setup: &Setup) -> usize {
    let page = json_of(setup.send(app, Method::GET, "/distributions", None).await).await;
    page["items"].as_array().expect("items").len()
}

async fn a_distribution_draws_from_a_restricted_pool_only_when_distributable(app: &TestApp) {
    let setup = setup(app).await;
    rule_set(app, &setup).await;
    let kept = setup.grant(app, "R1", "1000.00", restricted()).await;
    let mut consented = restricted();
    consented["distributable"] = json!(true);
    let paying = setup.grant(app, "R2", "1000.00", consented).await;
    assert_eq!(paying["distributable"], true);
    let before = setup.ledger(app).await;
    for source in [
        json!({"grant": kept["id"]}),
        json!({"pool": "pool:grant:R1"}),
    ] {
        assert_problem(
            setup.post(app, "/distributions", &draft(source)).await,
            422,
            "restricted_funds",
            "the grant does not say its money may pay contributors",
        )
        .await;
    }
    assert_eq!(runs(app, &setup).await, 0, "no run was recorded");
    assert_eq!(setup.ledger(app).await, before);

    let run = created(
        setup
            .post(
                app,
                "/distributions",
                &draft(json!({"grant": paying["id"]})),
            )
            .await,
    )
    .await;
    let id = run["id"].as_str().expect("id");
    // Four eyes: another person than the author (the administrator) approves.
    created(
        app.post(
            &format!(
                "/v1/projects/{}/distributions/{id}/approvals",
                setup.project
            ),
            &json!({}),
        )
        .await,
    )
    .await;
    let executed = setup
        .post(app, &format!("/distributions/{id}/execution"), &json!({}))
        .await;
    assert!(
        executed.status().is_success(),
        "{}",
        json_of(executed).await
    );
    let balances = app.balances(&setup.project).await;
    assert_eq!(
        balances["pool:grant:R2"], "990.00",
        "10 % of 100.00 to the reserve"
    );
    assert_eq!(balances["reserve"], "10.00");
    assert_eq!(balances["pool:grant:R1"], "1000.00");

    // A donation is always distributable; it cannot be asked otherwise.
    let donation = json!({"funder": setup.funder, "kind": "donation", "reference": "D1",
        "amount": "5.00", "currency": "EUR", "received_on": "2026-02-01", "distributable": false});
    assert_problem(
        setup.post(app, "/grants", &donation).await,
        422,
        "invalid_scope",
        "unrestricted money lies in the general pool",
    )
    .await;
}

async fn a_distribution_draws_only_from_a_pool(app: &TestApp) {
    let setup = setup(app).await;
    rule_set(app, &setup).await;
    setup.grant(app, "U1", "1000.00", json!({})).await;
    created(
        setup
            .post(app, "/expense-categories", &json!({"name": "parts"}))
            .await,
    )
    .await;
    created(
        setup
            .post(
                app,
                "/expenses",
                &json!({"amount": "200.00", "currency": "EUR", "category": "parts",
                "supplier": "Capteurs & Cie", "date": "2026-03-15"}),
            )
            .await,
    )
    .await;
    let before = setup.ledger(app).await;
    for pool in [
        "expense:parts",
        "reserve",
        &format!("funder:{}", setup.funder),
    ] {
        assert_problem(
            setup
                .post(app, "/distributions", &draft(json!({"pool": pool})))
                .await,
            422,
            "not_a_pool",
            "money already spent is not redistributed",
        )
        .await;
    }
    assert_eq!(runs(app, &setup).await, 0);
    assert_eq!(setup.ledger(app).await, before);
    created(
        setup
            .post(
                app,
                "/distributions",
                &draft(json!({"pool": "pool:general"})),
            )
            .await,
    )
    .await;
}

async fn managed_names_get_the_flags_their_operations_need(app: &TestApp) {
    let setup = setup(app).await;
    let path = "/accounts";
    let made = created(
        setup
            .post(
                app,
                path,
                &json!({"name": "pool:general", "currency": "EUR"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        made["non_negative"], true,
        "a pool is non-negative whoever opens it"
    );
    let made = created(
        setup
            .post(
                app,
                path,
                &json!({"name": "contributor:someone", "currency": "EUR"}),
            )
            .await,
    )
    .await;
    assert_eq!(made["non_negative"], true);
    let made = created(
        setup
            .post(app, path, &json!({"name": "reserve", "currency": "EUR"}))
            .await,
    )
    .await;
    assert_eq!(made["non_negative"], false, "other names keep the default");
    let before = setup.ledger(app).await;
    for (body, rule) in [
        (
            json!({"name": "pool:sensors", "currency": "EUR", "non_negative": false}),
            "an overdraftable pool",
        ),
        (
            json!({"name": "contributor:x", "currency": "EUR", "non_negative": false}),
            "an overdraftable contributor",
        ),
        (
            json!({"name": "exchange:usd", "currency": "USD", "non_negative": true}),
            "an exchange account goes negative",
        ),
        (
            json!({"name": "pool:general:usd", "currency": "EUR", "non_negative": true}),
            "its name holds USD",
        ),
        (
            json!({"name": "exchange:usd", "currency": "EUR"}),
            "its name holds USD",
        ),
    ] {
        assert_problem(
            setup.post(app, path, &body).await,
            422,
            "managed_account",
            rule,
        )
        .await;
    }
    assert_eq!(setup.ledger(app).await, before, "no account was opened");
}

async fn an_account_of_other_flags_or_currency_is_never_adopted(app: &TestApp) {
    let setup = setup(app).await;
    // Accounts opened before the rule (by an older release, or by hand in
    // the database): an overdraftable general pool, a USD pool in EUR.
    let project = setup.project.clone();
    app.db
        .write(
            move |conn| -> Result<(), commons_ledger::db::StorageError> {
                use commons_ledger::db::accounts::insert;
                use commons_ledger::domain::AccountName;
                let name = |text: &str| AccountName::parse(text).expect("name");
                commons_ledger::db::projects::ensure_unit(
                    conn,
                    &commons_ledger::domain::Unit::lookup("USD").expect("USD"),
                )?;
                insert(conn, &project, &name("pool:general"), "EUR", false)?;
                insert(conn, &project, &name("pool:general:usd"), "EUR", true)?;
                Ok(())
            },
        )
        .expect("accounts");
    let before = setup.ledger(app).await;
    let donation = |currency: &str| {
        json!({"funder": setup.funder, "kind": "donation", "reference": format!("D-{currency}"),
        "amount": "5.00", "currency": currency, "received_on": "2026-02-01"})
    };
    for (currency, rule) in [
        ("EUR", "an overdraftable pool"),
        ("USD", "a pool of another currency"),
    ] {
        let refused = setup.post(app, "/grants", &donation(currency)).await;
        let problem = json_of(refused).await;
        assert_eq!(
            (problem["status"].as_u64(), problem["code"].as_str()),
            (Some(409), Some("account_conflict")),
            "{rule}: {problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("pool:general"),
            "{problem}"
        );
    }
    assert_eq!(setup.ledger(app).await, before, "nothing was written");
    let grants = json_of(setup.send(app, Method::GET, "/grants", None).await).await;
    assert_eq!(grants["items"], json!([]));
}
