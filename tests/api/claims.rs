//! Expense claims (#17 item 5): a member claims back money they spent for
//! the project, an owner or treasurer other than the claimant approves it
//! (one `expense` transaction from the pool to what the project owes the
//! claimant, and an expense record) or rejects it for a reason, and paying
//! it is an ordinary payout. Every refusal is checked for its status, its
//! stable code and that nothing was written.

use std::collections::HashMap;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use reqwest::Method;
use serde_json::{Value, json};

use commons_ledger::db::DbConnection;

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    an_approved_claim_is_an_expense_owed_to_the_claimant_then_paid,
    nobody_decides_their_own_claim_and_a_decision_is_final,
    contributors_decide_nothing_and_read_only_their_own_claims,
    approvals_refused_by_the_pool_write_nothing,
    a_submission_is_checked_and_replayed_once,
    the_database_keeps_a_claims_four_eyes,
    a_claim_in_another_currency_than_the_claimants_account_is_refused,
);

/// A project with a general pool holding 500.00 EUR, the categories
/// `parts` and `travel`, and its members.
struct Setup {
    project: String,
    base: String,
    claimant: String,
    claimant_token: String,
    treasurer: String,
    treasurer_token: String,
    second_token: String,
    auditor_token: String,
}

async fn setup(app: &TestApp) -> Setup {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    assert_eq!(
        app.transfer(&project, "funder:a", "pool:general", "500.00", "EUR")
            .await
            .status(),
        201
    );
    for (name, funder_category) in [("parts", "C purchases"), ("travel", "C travel")] {
        let response = app
            .post(
                &format!("{base}/expense-categories"),
                &json!({"name": name, "funder_category": funder_category}),
            )
            .await;
        assert_eq!(response.status(), 201, "category {name}");
    }
    let (claimant, claimant_token) = app.member(&project, "contributor").await;
    let (treasurer, treasurer_token) = app.member(&project, "treasurer").await;
    let (_, second_token) = app.member(&project, "treasurer").await;
    let (_, auditor_token) = app.member(&project, "auditor").await;
    Setup {
        project,
        base,
        claimant,
        claimant_token,
        treasurer,
        treasurer_token,
        second_token,
        auditor_token,
    }
}

fn claim(amount: &str, category: &str) -> Value {
    json!({"amount": amount, "currency": "EUR", "category": category, "date": "2026-03-14",
           "description": "soldering tips and flux", "receipt_reference": "receipt 2026-031"})
}

async fn post_as(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.send_as(Some(token), Method::POST, path, Some(body))
        .await
}

async fn get_as(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    app.send_as(token, Method::GET, path, None).await
}

impl Setup {
    /// Submits `body` as `token` and returns the pending claim.
    async fn submit(&self, app: &TestApp, token: &str, body: &Value) -> Value {
        let submitted =
            created(post_as(app, token, &format!("{}/claims", self.base), body).await).await;
        assert_eq!(submitted["status"], "pending", "{submitted}");
        assert_eq!(submitted["transaction"], Value::Null, "nothing posted yet");
        submitted
    }

    fn path(&self, claim: &Value, what: &str) -> String {
        let id = claim["id"].as_str().expect("claim id");
        if what.is_empty() {
            format!("{}/claims/{id}", self.base)
        } else {
            format!("{}/claims/{id}/{what}", self.base)
        }
    }

    /// What a refusal must leave as it was: the balances (every account,
    /// so a new one too), the number of transactions, the expenses and the
    /// claims as the administrator reads them.
    async fn state(&self, app: &TestApp) -> (HashMap<String, String>, usize, Value, Value) {
        let expenses = json_of(app.get(&format!("{}/expenses", self.base)).await).await;
        let claims = json_of(app.get(&format!("{}/claims", self.base)).await).await;
        (
            app.balances(&self.project).await,
            app.transaction_count(&self.project).await,
            expenses["items"].clone(),
            claims["items"].clone(),
        )
    }
}

async fn an_approved_claim_is_an_expense_owed_to_the_claimant_then_paid(app: &TestApp) {
    let s = setup(app).await;
    let before = s.state(app).await;
    let submitted = s
        .submit(app, &s.claimant_token, &claim("42.80", "parts"))
        .await;
    assert_eq!(submitted["claimant"], s.claimant.as_str());
    assert_eq!(submitted["amount"], "42.80");
    assert_eq!(submitted["category"], "parts");
    assert_eq!(submitted["receipt_reference"], "receipt 2026-031");
    let after_submission = s.state(app).await;
    assert_eq!(
        (&after_submission.0, after_submission.1, &after_submission.2),
        (&before.0, before.1, &before.2),
        "a claim posts nothing and records no expense"
    );
    let value_account = format!("{}/members/{}/value-account", s.base, s.claimant);
    let account = json_of(get_as(app, Some(&s.claimant_token), &value_account).await).await;
    assert_eq!(
        account["claims"],
        json!([{"currency": "EUR", "pending_count": 1, "pending": "42.80", "approved_count": 0,
                "approved": "0.00", "rejected_count": 0, "rejected": "0.00"}]),
        "the claimant sees their pending claim"
    );

    let approved = created(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&submitted, "approvals"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], s.treasurer.as_str());
    assert_eq!(approved["grant"], Value::Null, "the general pool paid");
    let transaction_id = approved["transaction"].as_str().expect("transaction");
    let (balances, count, expenses, _) = s.state(app).await;
    assert_eq!(count, before.1 + 1, "one transaction, posted on approval");
    assert_eq!(balances["pool:general"], "457.20");
    let owed = format!("contributor:{}", s.claimant);
    assert_eq!(balances[&owed], "42.80", "the project owes the claimant");
    let transaction = json_of(
        app.get(&format!("{}/transactions/{transaction_id}", s.base))
            .await,
    )
    .await;
    assert_eq!(transaction["kind"], "expense");
    assert_eq!(
        transaction["postings"],
        json!([{"from": "pool:general", "to": owed, "amount": "42.80", "currency": "EUR"}])
    );
    assert_eq!(transaction["metadata"]["claim"], submitted["id"]);
    assert_eq!(transaction["metadata"]["category"], "parts");
    let expenses = expenses.as_array().expect("expenses");
    assert_eq!(expenses.len(), 1, "one expense recorded");
    let expense = &expenses[0];
    assert_eq!(expense["id"], approved["expense"]);
    assert_eq!(expense["transaction"], transaction_id);
    assert_eq!(expense["category"], "parts");
    assert_eq!(expense["amount"], "42.80");
    assert_eq!(expense["pool"], "pool:general");
    assert_eq!(
        expense["supplier"], "contributor of the project",
        "the claimant is the supplier"
    );
    assert_eq!(expense["receipt_uri"], "receipt 2026-031");

    let account = json_of(get_as(app, Some(&s.claimant_token), &value_account).await).await;
    assert_eq!(account["claims"][0]["approved_count"], 1);
    assert_eq!(account["claims"][0]["approved"], "42.80");
    assert_eq!(account["claims"][0]["pending_count"], 0);
    let money = &account["money"][0];
    assert_eq!(money["balance_owed"], "42.80", "owed includes the claim");
    assert_eq!(
        money["distributions_earned"], "0.00",
        "a reimbursement is not earnings"
    );

    // Paying it is an ordinary payout, by a treasurer to the claimant.
    let payout = created(
        post_as(
            app,
            &s.second_token,
            &format!("{}/payouts", s.base),
            &json!({"agent": s.claimant, "amount": "42.80", "currency": "EUR",
                    "method": "bank-transfer", "reference": "claim 2026-031", "date": "2026-03-20"}),
        )
        .await,
    )
    .await;
    assert_eq!(payout["status"], "posted");
    let account = json_of(get_as(app, Some(&s.claimant_token), &value_account).await).await;
    let money = &account["money"][0];
    assert_eq!(money["balance_owed"], "0.00");
    assert_eq!(money["payouts_received"], "42.80");
    assert_eq!(money["distributions_earned"], "0.00");
    let mine = json_of(get_as(app, Some(&s.claimant_token), "/v1/me/value-account").await).await;
    assert_eq!(
        mine["projects"][0]["claims"][0]["approved"], "42.80",
        "the claim is in the claimant's own value account across projects"
    );
    let read = json_of(get_as(app, Some(&s.claimant_token), &s.path(&submitted, "")).await).await;
    assert_eq!(read, approved, "the claim reads back as approved");
}

async fn nobody_decides_their_own_claim_and_a_decision_is_final(app: &TestApp) {
    let s = setup(app).await;
    let own = s
        .submit(app, &s.treasurer_token, &claim("30.00", "travel"))
        .await;
    let before = s.state(app).await;
    for (what, body) in [
        ("approvals", json!({})),
        ("rejections", json!({"reason": "mine"})),
    ] {
        assert_problem(
            post_as(app, &s.treasurer_token, &s.path(&own, what), &body).await,
            403,
            "self_approval",
            "the claimant decides their own claim",
        )
        .await;
    }
    assert_eq!(s.state(app).await, before, "nothing was written");

    for reason in ["", "   "] {
        assert_problem(
            post_as(
                app,
                &s.second_token,
                &s.path(&own, "rejections"),
                &json!({"reason": reason}),
            )
            .await,
            422,
            "required",
            "a rejection says why",
        )
        .await;
    }
    assert_problem(
        post_as(
            app,
            &s.second_token,
            &s.path(&own, "rejections"),
            &json!({"reason": "x".repeat(1_001)}),
        )
        .await,
        422,
        "too_long",
        "a reason of 1,001 characters",
    )
    .await;
    assert_eq!(s.state(app).await, before, "nothing was written");
    let rejected = created(
        post_as(
            app,
            &s.second_token,
            &s.path(&own, "rejections"),
            &json!({"reason": "the train was booked by the project"}),
        )
        .await,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        rejected["rejection_reason"],
        "the train was booked by the project"
    );
    assert_eq!(rejected["transaction"], Value::Null);
    assert_eq!(rejected["expense"], Value::Null);
    let after = s.state(app).await;
    assert_eq!(
        (&after.0, after.1, &after.2),
        (&before.0, before.1, &before.2),
        "a rejection posts nothing"
    );
    for (what, body) in [
        ("approvals", json!({})),
        ("rejections", json!({"reason": "again"})),
    ] {
        assert_problem(
            post_as(app, &s.second_token, &s.path(&own, what), &body).await,
            409,
            "already_decided",
            "a rejected claim is decided",
        )
        .await;
    }
    assert_eq!(s.state(app).await, after, "nothing was written");

    // Above the project's four-eyes threshold, an approved claim is posted
    // at once all the same: the claimant and the approver are two people.
    let settings = app
        .client
        .patch(app.url(&s.base))
        .json(&json!({"four_eyes_above": "5.00"}))
        .send()
        .await
        .expect("request");
    assert_eq!(settings.status(), 200);
    let other = s
        .submit(app, &s.claimant_token, &claim("12.00", "parts"))
        .await;
    let decided = created(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&other, "approvals"),
            &json!({}),
        )
        .await,
    )
    .await;
    let approved = s.state(app).await;
    let expense = approved
        .2
        .as_array()
        .and_then(|e| e.first())
        .expect("an expense");
    assert_eq!(expense["id"], decided["expense"]);
    assert_eq!(expense["status"], "posted", "{expense}");
    assert_eq!(expense["transaction"], decided["transaction"]);
    for (what, body) in [
        ("approvals", json!({})),
        ("rejections", json!({"reason": "changed my mind"})),
    ] {
        assert_problem(
            post_as(app, &s.second_token, &s.path(&other, what), &body).await,
            409,
            "already_decided",
            "an approved claim is decided",
        )
        .await;
    }
    assert_eq!(s.state(app).await, approved, "nothing more was posted");

    let missing = json!({"id": uuid::Uuid::now_v7().to_string()});
    for what in ["approvals", ""] {
        let response = if what.is_empty() {
            get_as(app, Some(&s.second_token), &s.path(&missing, what)).await
        } else {
            post_as(app, &s.second_token, &s.path(&missing, what), &json!({})).await
        };
        assert_problem(response, 404, "claim_not_found", "an unknown claim").await;
    }
}

async fn contributors_decide_nothing_and_read_only_their_own_claims(app: &TestApp) {
    let s = setup(app).await;
    let (_, colleague) = app.member(&s.project, "contributor").await;
    let theirs = s.submit(app, &colleague, &claim("5.00", "parts")).await;
    let mine = s
        .submit(app, &s.claimant_token, &claim("7.00", "parts"))
        .await;
    let before = s.state(app).await;
    for (what, body) in [
        ("approvals", json!({})),
        ("rejections", json!({"reason": "no"})),
    ] {
        assert_problem(
            post_as(app, &s.claimant_token, &s.path(&theirs, what), &body).await,
            403,
            "forbidden",
            "a contributor decides a claim",
        )
        .await;
        assert_problem(
            post_as(app, &s.auditor_token, &s.path(&theirs, what), &body).await,
            403,
            "forbidden",
            "an auditor decides a claim",
        )
        .await;
    }
    assert_problem(
        post_as(
            app,
            &s.auditor_token,
            &format!("{}/claims", s.base),
            &claim("1.00", "parts"),
        )
        .await,
        403,
        "forbidden",
        "an auditor claims nothing",
    )
    .await;
    assert_eq!(s.state(app).await, before, "nothing was written");

    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let list = format!("{}/claims", s.base);
    let own = json_of(get_as(app, Some(&s.claimant_token), &list).await).await;
    assert_eq!(
        ids(&own),
        [mine["id"].as_str().expect("id")],
        "a contributor lists their own claims only"
    );
    let both = [
        theirs["id"].as_str().expect("id"),
        mine["id"].as_str().expect("id"),
    ];
    for token in [&s.auditor_token, &s.treasurer_token] {
        let all = json_of(get_as(app, Some(token), &list).await).await;
        assert_eq!(ids(&all), both, "auditors and treasurers list everyone's");
    }
    let first =
        json_of(get_as(app, Some(&s.auditor_token), &format!("{list}?limit=1")).await).await;
    assert_eq!(ids(&first), [both[0]]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = json_of(
        get_as(
            app,
            Some(&s.auditor_token),
            &format!("{list}?limit=1&cursor={cursor}"),
        )
        .await,
    )
    .await;
    assert_eq!(ids(&second), [both[1]], "pages follow one another");

    assert_problem(
        get_as(app, Some(&s.claimant_token), &s.path(&theirs, "")).await,
        403,
        "forbidden",
        "a contributor reads another's claim",
    )
    .await;
    let read = get_as(app, Some(&s.claimant_token), &s.path(&mine, "")).await;
    assert_eq!(read.status(), 200, "their own");
    let read = get_as(app, Some(&s.auditor_token), &s.path(&theirs, "")).await;
    assert_eq!(read.status(), 200, "an auditor reads anyone's");

    // Strangers and the unauthenticated: the project is private.
    let other = app.create_project("EUR").await;
    let (_, stranger) = app.member(&other, "contributor").await;
    for token in [None, Some(stranger.as_str())] {
        for path in [list.clone(), s.path(&mine, "")] {
            assert_problem(
                get_as(app, token, &path).await,
                404,
                "project_not_found",
                "outsiders do not learn the project exists",
            )
            .await;
        }
    }
    assert_problem(
        post_as(app, &stranger, &list, &claim("1.00", "parts")).await,
        404,
        "project_not_found",
        "a stranger claims",
    )
    .await;
    assert_problem(
        app.send_as(None, Method::POST, &list, Some(&claim("1.00", "parts")))
            .await,
        401,
        "authentication_required",
        "an anonymous claim",
    )
    .await;
    assert_eq!(s.state(app).await, before, "nothing was written");

    // A public project's ledger is public; its members' claims are not.
    let response = app
        .client
        .patch(app.url(&s.base))
        .json(&json!({"public": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_problem(
        get_as(app, None, &list).await,
        401,
        "authentication_required",
        "claims of a public project, anonymously",
    )
    .await;
    assert_problem(
        get_as(app, Some(&stranger), &list).await,
        403,
        "forbidden",
        "claims of a public project, by an outsider",
    )
    .await;
}

async fn approvals_refused_by_the_pool_write_nothing(app: &TestApp) {
    let s = setup(app).await;
    let funder = crate::helpers::insert_agent(&app.db, "Fondation Horizon", false);
    let grant = created(
        app.post(
            &format!("{}/grants", s.base),
            &json!({"funder": funder, "kind": "grant", "reference": "FH-2026-017",
                    "amount": "100.00", "currency": "EUR", "received_on": "2026-02-01",
                    "restriction": "travel to sensor sites", "eligible_categories": ["travel"]}),
        )
        .await,
    )
    .await;
    let grant_id = grant["id"].as_str().expect("grant id");
    let parts = s
        .submit(app, &s.claimant_token, &claim("10.00", "parts"))
        .await;
    let large = s
        .submit(app, &s.claimant_token, &claim("500.01", "travel"))
        .await;
    let before = s.state(app).await;

    let refused = assert_problem(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&parts, "approvals"),
            &json!({"grant": grant_id}),
        )
        .await,
        422,
        "restricted_purpose",
        "the grant does not pay for parts",
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("travel")),
        "{refused}"
    );
    assert_problem(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&parts, "approvals"),
            &json!({"grant": uuid::Uuid::now_v7().to_string()}),
        )
        .await,
        404,
        "grant_not_found",
        "an unknown grant",
    )
    .await;
    let refused = assert_problem(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&large, "approvals"),
            &json!({}),
        )
        .await,
        422,
        "insufficient_funds",
        "the general pool holds 500.00",
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("pool:general")),
        "{refused}"
    );
    assert_problem(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&large, "approvals"),
            &json!({"grant": grant_id}),
        )
        .await,
        422,
        "insufficient_funds",
        "the grant's pool holds 100.00",
    )
    .await;
    assert_eq!(
        s.state(app).await,
        before,
        "no transaction, expense, account or decision was written"
    );
    let still = json_of(get_as(app, Some(&s.claimant_token), &s.path(&parts, "")).await).await;
    assert_eq!(
        still["status"], "pending",
        "a refused approval decides nothing"
    );

    // What an approved distribution run reserves in the pool is not there
    // to pay a claim: 450.00 of the 500.00 reserved, 50.00 available.
    app.create_account(&s.project, "reserve", "EUR", true).await;
    let rules = json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
        "to": {"type": "account", "account": "reserve"}}], "residue": {"type": "pool"}});
    created(
        post_as(
            app,
            &s.treasurer_token,
            &format!("{}/rule-sets", s.base),
            &rules,
        )
        .await,
    )
    .await;
    let run = created(
        post_as(
            app,
            &s.treasurer_token,
            &format!("{}/distributions", s.base),
            &json!({"rule_set_version": 1, "amount": "450.00",
                    "period_from": "2026-03-01", "period_to": "2026-03-31"}),
        )
        .await,
    )
    .await;
    let run_path = format!(
        "{}/distributions/{}",
        s.base,
        run["id"].as_str().expect("run")
    );
    let approved_run = created(
        post_as(
            app,
            &s.second_token,
            &format!("{run_path}/approvals"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(approved_run["status"], "approved");
    let reserved = s
        .submit(app, &s.claimant_token, &claim("50.01", "parts"))
        .await;
    let before = s.state(app).await;
    let refused = assert_problem(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&reserved, "approvals"),
            &json!({}),
        )
        .await,
        422,
        "insufficient_funds",
        "450.00 of the pool's 500.00 is reserved",
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("reserved")),
        "{refused}"
    );
    assert_eq!(s.state(app).await, before, "nothing was written");

    // The grant pays an eligible claim, and counts it as spent.
    let travel = s
        .submit(app, &s.claimant_token, &claim("60.00", "travel"))
        .await;
    let approved = created(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&travel, "approvals"),
            &json!({"grant": grant_id}),
        )
        .await,
    )
    .await;
    assert_eq!(approved["grant"], grant_id);
    let balances = app.balances(&s.project).await;
    assert_eq!(balances["pool:grant:FH-2026-017"], "40.00");
    assert_eq!(balances[&format!("contributor:{}", s.claimant)], "60.00");
    let figures = json_of(app.get(&format!("{}/grants/{grant_id}", s.base)).await).await;
    assert_eq!(
        figures["spent"], "60.00",
        "the grant counts the claim as spent"
    );
    assert_eq!(figures["remaining"], "40.00");
    let report = app
        .get(&format!("{}/reports/grants/{grant_id}.csv", s.base))
        .await;
    assert_eq!(report.status(), 200);
    let csv = report.text().await.expect("report");
    assert!(
        csv.lines().any(|line| line.starts_with("spent,")
            && line.contains("travel")
            && line.contains("contributor of the project")),
        "the grant report lists the claim under its category:\n{csv}"
    );
}

async fn a_submission_is_checked_and_replayed_once(app: &TestApp) {
    let s = setup(app).await;
    let path = format!("{}/claims", s.base);
    let before = s.state(app).await;
    let cases = [
        (
            claim("10.00", "snacks"),
            "unknown_category",
            "a category the project does not have",
        ),
        (
            claim("10.001", "parts"),
            "amount_precision",
            "three decimals in EUR",
        ),
        (
            claim("0.00", "parts"),
            "amount_not_positive",
            "nothing to claim",
        ),
        (
            json!({"amount": "1.00", "currency": "HOUR", "category": "parts", "date": "2026-03-14",
                "description": "d"}),
            "unknown_currency",
            "hours are no money",
        ),
        (
            json!({"amount": "1.00", "currency": "EUR", "category": "parts", "date": "2026-02-30",
                "description": "d"}),
            "invalid_date",
            "no such day",
        ),
        (
            json!({"amount": "1.00", "currency": "EUR", "category": "parts", "date": "2026-03-14",
                "description": "  "}),
            "too_long",
            "a claim says what was bought",
        ),
        (
            json!({"amount": "1.00", "currency": "EUR", "category": "parts", "date": "2026-03-14",
                "description": "d", "receipt_reference": ""}),
            "too_long",
            "an empty receipt reference",
        ),
        (
            json!({"amount": "1.00", "currency": "EUR", "category": "parts", "date": "2026-03-14",
                "description": "x".repeat(1_001)}),
            "too_long",
            "a description of 1,001 characters",
        ),
        (
            json!({"amount": "1.00", "currency": "EUR", "category": "parts", "date": "2026-03-14",
                "description": "d", "claimant": s.treasurer}),
            "invalid_body",
            "a claim is the caller's own",
        ),
    ];
    for (body, code, rule) in cases {
        assert_problem(
            post_as(app, &s.claimant_token, &path, &body).await,
            422,
            code,
            rule,
        )
        .await;
    }
    assert_eq!(s.state(app).await, before, "no refused claim was stored");

    let body = claim("19.90", "parts");
    let send = |key: &'static str, body: Value| {
        let request = app
            .anonymous
            .post(app.url(&path))
            .bearer_auth(&s.claimant_token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { request.send().await.expect("request") }
    };
    let first = send("claim-2026-031", body.clone()).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("Idempotency-Replayed").is_none());
    let first = json_of(first).await;
    let again = send("claim-2026-031", body.clone()).await;
    assert_eq!(again.status(), 201, "a replay answers the same");
    assert_eq!(
        again
            .headers()
            .get("Idempotency-Replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(json_of(again).await, first, "the same claim");
    assert_problem(
        send("claim-2026-031", claim("19.91", "parts")).await,
        422,
        "idempotency_key_reused",
        "the same key with another claim",
    )
    .await;
    let listed = json_of(get_as(app, Some(&s.claimant_token), &path).await).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "one claim stored: {listed}"
    );
}

/// Runs `sql` in a transaction that is always rolled back, and panics if
/// the database accepted it.
fn refused(conn: &mut DbConnection, sql: &str, rule: &str) {
    let mut outcome = None;
    let _ = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        outcome = Some(conn.batch_execute(sql));
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(
        matches!(outcome, Some(Err(_))),
        "{rule}: the database accepted it ({outcome:?})"
    );
}

async fn the_database_keeps_a_claims_four_eyes(app: &TestApp) {
    let s = setup(app).await;
    let pending = s
        .submit(app, &s.claimant_token, &claim("10.00", "parts"))
        .await;
    let approved = s
        .submit(app, &s.claimant_token, &claim("11.00", "parts"))
        .await;
    created(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&approved, "approvals"),
            &json!({}),
        )
        .await,
    )
    .await;
    let (pending, approved) = (
        pending["id"].as_str().expect("id").to_owned(),
        approved["id"].as_str().expect("id").to_owned(),
    );
    let pending_path = format!("{}/claims/{pending}", s.base);
    let (claimant, treasurer, project) =
        (s.claimant.clone(), s.treasurer.clone(), s.project.clone());
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let now = "'2026-03-15 10:00:00'";
        refused(
            conn,
            &format!("UPDATE claims SET status = 'rejected', decided_by = '{claimant}', decided_at = {now}, rejection_reason = 'mine' WHERE id = '{pending}'"),
            "the claimant decides their own claim",
        );
        refused(
            conn,
            &format!("UPDATE claims SET status = 'rejected', decided_by = '{treasurer}', decided_at = {now} WHERE id = '{pending}'"),
            "a rejection without a reason",
        );
        refused(
            conn,
            &format!("UPDATE claims SET status = 'approved', decided_by = '{treasurer}', decided_at = {now} WHERE id = '{pending}'"),
            "an approval that posted nothing",
        );
        refused(
            conn,
            &format!("UPDATE claims SET amount = 1 WHERE id = '{pending}'"),
            "a pending claim's amount edited",
        );
        refused(
            conn,
            &format!("UPDATE claims SET status = 'rejected', rejection_reason = 'late', transaction_id = NULL, expense_id = NULL WHERE id = '{approved}'"),
            "a decided claim decided again",
        );
        refused(
            conn,
            &format!("UPDATE claims SET receipt_reference = 'another' WHERE id = '{approved}'"),
            "a decided claim edited",
        );
        refused(
            conn,
            &format!("DELETE FROM claims WHERE id = '{approved}'"),
            "a claim deleted",
        );
        refused(
            conn,
            &format!("INSERT INTO claims (id, project_id, claimant_id, amount, currency, category, date, description, status, created_at) VALUES ('{}', '{project}', '{claimant}', 100, 'EUR', 'snacks', '2026-03-14', 'd', 'pending', {now})", uuid::Uuid::now_v7()),
            "a claim of a category the project does not have",
        );
        refused(
            conn,
            &format!("INSERT INTO claims (id, project_id, claimant_id, amount, currency, category, date, description, status, created_at) VALUES ('{}', '{project}', '{claimant}', 0, 'EUR', 'parts', '2026-03-14', 'd', 'pending', {now})", uuid::Uuid::now_v7()),
            "a claim of nothing",
        );
        refused(
            conn,
            &format!("INSERT INTO claims (id, project_id, claimant_id, amount, currency, category, date, description, status, created_at) VALUES ('{}', '{project}', '{claimant}', 100, 'EUR', 'parts', '2026-03-14', '', 'pending', {now})", uuid::Uuid::now_v7()),
            "a claim without a description",
        );
    })
    .await
    .expect("raw SQL checks");
    let read = json_of(get_as(app, Some(&s.claimant_token), &pending_path).await).await;
    assert_eq!(read["status"], "pending", "the claim is as it was");
}

/// The limits the spec states are the ones enforced.
#[test]
fn claim_limits_are_stated() {
    use commons_ledger::routes::claims::{
        CLAIM_REJECTION_REASON_LENGTH_MAX, CLAIM_TEXT_LENGTH_MAX,
    };
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    let schemas = &spec["components"]["schemas"];
    let stated = |schema: &str, property: &str| {
        schemas[schema]["properties"][property]["maxLength"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
    };
    assert_eq!(
        stated("CreateClaimRequest", "description"),
        Some(CLAIM_TEXT_LENGTH_MAX)
    );
    assert_eq!(
        stated("CreateClaimRequest", "receipt_reference"),
        Some(CLAIM_TEXT_LENGTH_MAX)
    );
    assert_eq!(
        stated("CreateClaimRequest", "category"),
        Some(commons_ledger::routes::funds::SEGMENT_LENGTH_MAX)
    );
    assert_eq!(
        stated("RejectClaimRequest", "reason"),
        Some(CLAIM_REJECTION_REASON_LENGTH_MAX)
    );
}

async fn a_claim_in_another_currency_than_the_claimants_account_is_refused(app: &TestApp) {
    let s = setup(app).await;
    let euros = s
        .submit(app, &s.claimant_token, &claim("10.00", "parts"))
        .await;
    created(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&euros, "approvals"),
            &json!({}),
        )
        .await,
    )
    .await;
    created(
        post_as(
            app,
            &s.treasurer_token,
            &format!("{}/exchanges", s.base),
            &json!({"sell": {"amount": "100.00", "currency": "EUR"},
                    "buy": {"amount": "110.00", "currency": "USD"},
                    "date": "2026-03-01", "source": "bank statement"}),
        )
        .await,
    )
    .await;
    let mut dollars = claim("20.00", "parts");
    dollars["currency"] = json!("USD");
    let dollars = s.submit(app, &s.claimant_token, &dollars).await;
    assert_eq!(dollars["currency"], "USD", "a claim may be in any currency");
    let before = s.state(app).await;
    assert_problem(
        post_as(
            app,
            &s.treasurer_token,
            &s.path(&dollars, "approvals"),
            &json!({}),
        )
        .await,
        422,
        "currency_mismatch",
        "the claimant's account holds euros",
    )
    .await;
    assert_eq!(s.state(app).await, before, "nothing was written");
}
