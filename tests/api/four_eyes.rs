//! Four eyes by default (#17 item 4): a distribution run's author never
//! approves it, a payout to the person who records it (and every release,
//! see restrictions.rs) waits for another owner or treasurer before
//! anything is posted, and so do expenses and payouts above a project's
//! `four_eyes_above`. Every refusal is
//! checked for its status, its stable code and that nothing was written.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    the_author_never_approves_their_run_and_n_others_are_needed,
    a_payout_to_oneself_waits_for_another_treasurer,
    a_rejection_needs_a_reason_and_posts_nothing,
    a_payout_to_someone_else_posts_at_once,
    large_expenses_and_payouts_wait_above_the_projects_threshold,
);

async fn post_as(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.send_as(Some(token), Method::POST, path, Some(&body))
        .await
}

/// What a refusal must leave as it was: the balances and the number of
/// transactions.
async fn ledger(app: &TestApp, project: &str) -> (HashMap<String, String>, usize) {
    (
        app.balances(project).await,
        app.transaction_count(project).await,
    )
}

async fn the_author_never_approves_their_run_and_n_others_are_needed(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, author) = app.member(&project, "treasurer").await;
    let (_, second) = app.member(&project, "treasurer").await;
    let (_, owner) = app.member(&project, "owner").await;
    app.create_account(&project, "reserve", "EUR", true).await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    assert_eq!(
        app.transfer(&project, "funder:a", "pool:general", "500.00", "EUR")
            .await
            .status(),
        201
    );
    let rules = json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
        "to": {"type": "account", "account": "reserve"}}], "residue": {"type": "pool"}});
    created(post_as(app, &author, &format!("{base}/rule-sets"), rules).await).await;
    let draft = json!({"rule_set_version": 1, "amount": "100.00",
        "period_from": "2026-03-01", "period_to": "2026-03-31"});

    // With the default of one approval, the author alone cannot approve.
    let run = created(
        post_as(
            app,
            &author,
            &format!("{base}/distributions"),
            draft.clone(),
        )
        .await,
    )
    .await;
    let run_path = format!("{base}/distributions/{}", run["id"].as_str().expect("id"));
    assert_problem(
        post_as(app, &author, &format!("{run_path}/approvals"), json!({})).await,
        403,
        "self_approval",
        "the author approves their own run",
    )
    .await;
    let after = json_of(app.get(&run_path).await).await;
    assert_eq!(after["status"], "draft", "nothing was written");
    assert_eq!(after["approvals"].as_array().map(Vec::len), Some(0));
    let approved =
        created(post_as(app, &second, &format!("{run_path}/approvals"), json!({})).await).await;
    assert_eq!(
        approved["status"], "approved",
        "one approval by another counts"
    );

    // Two required: two people other than the author.
    let settings = app
        .client
        .patch(app.url(&base))
        .json(&json!({"distribution_approvals_required": 2}))
        .send()
        .await
        .expect("request");
    assert_eq!(settings.status(), 200);
    let run = created(post_as(app, &author, &format!("{base}/distributions"), draft).await).await;
    let run_path = format!("{base}/distributions/{}", run["id"].as_str().expect("id"));
    assert_problem(
        post_as(app, &author, &format!("{run_path}/approvals"), json!({})).await,
        403,
        "self_approval",
        "the author approves their own run, two required",
    )
    .await;
    let once =
        created(post_as(app, &second, &format!("{run_path}/approvals"), json!({})).await).await;
    assert_eq!(once["status"], "draft", "one approval of two");
    let twice =
        created(post_as(app, &owner, &format!("{run_path}/approvals"), json!({})).await).await;
    assert_eq!(twice["status"], "approved", "two approvals by others");
}

struct Payouts {
    project: String,
    base: String,
    recorder: String,
    recorder_token: String,
    other_token: String,
}

/// A project whose treasurer is owed 50.00 EUR, and a second treasurer.
async fn payouts(app: &TestApp) -> Payouts {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (recorder, recorder_token) = app.member(&project, "treasurer").await;
    let (_, other_token) = app.member(&project, "treasurer").await;
    let owed = format!("contributor:{recorder}");
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, &owed, "EUR", true).await;
    assert_eq!(
        app.transfer(&project, "funder:a", &owed, "50.00", "EUR")
            .await
            .status(),
        201
    );
    Payouts {
        project,
        base,
        recorder,
        recorder_token,
        other_token,
    }
}

impl Payouts {
    async fn own_payout(&self, app: &TestApp, amount: &str) -> Value {
        let pending = created(
            post_as(
                app,
                &self.recorder_token,
                &format!("{}/payouts", self.base),
                json!({"agent": self.recorder, "amount": amount, "currency": "EUR",
                    "method": "bank-transfer", "reference": "own", "date": "2026-04-30"}),
            )
            .await,
        )
        .await;
        assert_eq!(pending["status"], "pending", "{pending}");
        assert_eq!(pending["transaction"], Value::Null, "nothing posted yet");
        pending
    }

    fn path(&self, payout: &Value, what: &str) -> String {
        format!(
            "{}/payouts/{}/{what}",
            self.base,
            payout["id"].as_str().expect("id")
        )
    }
}

async fn a_payout_to_oneself_waits_for_another_treasurer(app: &TestApp) {
    let setup = payouts(app).await;
    let before = ledger(app, &setup.project).await;
    let pending = setup.own_payout(app, "20.00").await;
    assert_eq!(
        ledger(app, &setup.project).await,
        before,
        "not in the ledger"
    );
    let listed = json_of(app.get(&format!("{}/payouts", setup.base)).await).await;
    assert_eq!(listed["items"][0]["status"], "pending");

    assert_problem(
        post_as(
            app,
            &setup.recorder_token,
            &setup.path(&pending, "approvals"),
            json!({}),
        )
        .await,
        403,
        "self_approval",
        "the recorder approves their own payout",
    )
    .await;
    assert_problem(
        post_as(
            app,
            &setup.recorder_token,
            &setup.path(&pending, "rejections"),
            json!({"reason": "mine"}),
        )
        .await,
        403,
        "self_approval",
        "the recorder rejects their own payout",
    )
    .await;
    assert_eq!(
        ledger(app, &setup.project).await,
        before,
        "nothing was written"
    );

    let posted = created(
        post_as(
            app,
            &setup.other_token,
            &setup.path(&pending, "approvals"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(posted["status"], "posted");
    assert!(posted["transaction"].is_string(), "{posted}");
    let (balances, count) = ledger(app, &setup.project).await;
    assert_eq!(count, before.1 + 1, "one transaction, posted on approval");
    assert_eq!(
        balances[&format!("contributor:{}", setup.recorder)],
        "30.00"
    );

    assert_problem(
        post_as(
            app,
            &setup.other_token,
            &setup.path(&pending, "approvals"),
            json!({}),
        )
        .await,
        409,
        "already_decided",
        "a decision is final",
    )
    .await;
    assert_eq!(
        ledger(app, &setup.project).await.1,
        count,
        "nothing more was posted"
    );
}

async fn a_rejection_needs_a_reason_and_posts_nothing(app: &TestApp) {
    let setup = payouts(app).await;
    let before = ledger(app, &setup.project).await;
    let pending = setup.own_payout(app, "20.00").await;
    for reason in ["", "   "] {
        assert_problem(
            post_as(
                app,
                &setup.other_token,
                &setup.path(&pending, "rejections"),
                json!({"reason": reason}),
            )
            .await,
            422,
            "required",
            "a rejection says why",
        )
        .await;
    }
    let rejected = created(
        post_as(
            app,
            &setup.other_token,
            &setup.path(&pending, "rejections"),
            json!({"reason": "not agreed"}),
        )
        .await,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejection_reason"], "not agreed");
    assert_eq!(rejected["transaction"], Value::Null);
    assert_eq!(
        ledger(app, &setup.project).await,
        before,
        "nothing was posted"
    );
    assert_problem(
        post_as(
            app,
            &setup.other_token,
            &setup.path(&pending, "approvals"),
            json!({}),
        )
        .await,
        409,
        "already_decided",
        "a rejected payout is not approved later",
    )
    .await;
    assert_eq!(
        ledger(app, &setup.project).await,
        before,
        "nothing was posted"
    );
    let missing = format!("{}/payouts/{}/approvals", setup.base, uuid::Uuid::now_v7());
    assert_problem(
        post_as(app, &setup.other_token, &missing, json!({})).await,
        404,
        "payout_not_found",
        "an unknown payout",
    )
    .await;
}

async fn a_payout_to_someone_else_posts_at_once(app: &TestApp) {
    let setup = payouts(app).await;
    let before = ledger(app, &setup.project).await;
    let posted = created(
        post_as(
            app,
            &setup.other_token,
            &format!("{}/payouts", setup.base),
            json!({"agent": setup.recorder, "amount": "20.00", "currency": "EUR",
                "method": "bank-transfer", "reference": "theirs", "date": "2026-04-30"}),
        )
        .await,
    )
    .await;
    assert_eq!(posted["status"], "posted");
    assert!(posted["transaction"].is_string());
    assert_eq!(ledger(app, &setup.project).await.1, before.1 + 1);
}

async fn large_expenses_and_payouts_wait_above_the_projects_threshold(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, owner) = app.member(&project, "owner").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (contributor, _) = app.member(&project, "contributor").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let owed = format!("contributor:{contributor}");
    app.create_account(&project, &owed, "EUR", true).await;
    for (to, amount) in [("pool:general", "1000.00"), (owed.as_str(), "500.00")] {
        assert_eq!(
            app.transfer(&project, "funder:a", to, amount, "EUR")
                .await
                .status(),
            201
        );
    }
    created(
        post_as(
            app,
            &owner,
            &format!("{base}/expense-categories"),
            json!({"name": "parts"}),
        )
        .await,
    )
    .await;
    let patch = |body: Value| {
        let path = base.clone();
        let owner = owner.clone();
        async move {
            app.send_as(Some(&owner), Method::PATCH, &path, Some(&body))
                .await
        }
    };
    for (bad, code) in [
        ("abc", "amount_malformed"),
        ("-1.00", "amount_not_positive"),
        ("1.001", "amount_precision"),
    ] {
        let refused =
            assert_problem(patch(json!({"four_eyes_above": bad})).await, 422, code, bad).await;
        assert_eq!(
            refused["errors"][0]["field"], "four_eyes_above",
            "{refused}"
        );
    }
    let set = json_of(patch(json!({"four_eyes_above": "100.00"})).await).await;
    assert_eq!(set["four_eyes_above"], "100.00", "{set}");
    let expense = |amount: &str| {
        json!({"amount": amount, "currency": "EUR", "category": "parts",
        "supplier": "Capteurs & Cie", "date": "2026-03-15"})
    };

    // At the threshold: posted at once. Above it: pending, nothing posted.
    let at = created(
        post_as(
            app,
            &treasurer,
            &format!("{base}/expenses"),
            expense("100.00"),
        )
        .await,
    )
    .await;
    assert_eq!(at["status"], "posted");
    let before = ledger(app, &project).await;
    let above = created(
        post_as(
            app,
            &treasurer,
            &format!("{base}/expenses"),
            expense("100.01"),
        )
        .await,
    )
    .await;
    assert_eq!(above["status"], "pending");
    assert_eq!(above["transaction"], Value::Null);
    let payout = json!({"agent": contributor, "amount": "250.00", "currency": "EUR",
        "method": "bank-transfer", "reference": "SEPA-9", "date": "2026-04-30"});
    let large_payout =
        created(post_as(app, &treasurer, &format!("{base}/payouts"), payout).await).await;
    assert_eq!(
        large_payout["status"], "pending",
        "above the threshold, even to someone else"
    );
    assert_eq!(
        ledger(app, &project).await,
        before,
        "pending money posts nothing"
    );

    // Its recorder decides neither; another owner or treasurer does.
    let expense_path = format!("{base}/expenses/{}", above["id"].as_str().expect("id"));
    assert_problem(
        post_as(
            app,
            &treasurer,
            &format!("{expense_path}/approvals"),
            json!({}),
        )
        .await,
        403,
        "self_approval",
        "the recorder approves their own expense",
    )
    .await;
    assert_problem(
        post_as(
            app,
            &owner,
            &format!("{base}/expenses/01900000-0000-7000-8000-000000000000/approvals"),
            json!({}),
        )
        .await,
        404,
        "expense_not_found",
        "an unknown expense",
    )
    .await;
    let approved =
        created(post_as(app, &owner, &format!("{expense_path}/approvals"), json!({})).await).await;
    assert_eq!(approved["status"], "posted");
    assert!(approved["transaction"].is_string());
    assert_eq!(app.balances(&project).await["expense:parts"], "200.01");
    let payout_path = format!(
        "{base}/payouts/{}",
        large_payout["id"].as_str().expect("id")
    );
    let rejected = created(
        post_as(
            app,
            &owner,
            &format!("{payout_path}/rejections"),
            json!({"reason": "split it"}),
        )
        .await,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        app.balances(&project).await[&owed],
        "500.00",
        "a rejected payout posts nothing"
    );

    // Cleared, the threshold no longer holds anything back.
    // In another currency the amount cannot be compared: while a threshold
    // is set, it waits however small.
    let in_usd = json!({"amount": "1.00", "currency": "USD", "category": "parts",
        "supplier": "Capteurs & Cie", "date": "2026-03-15"});
    let usd = created(post_as(app, &treasurer, &format!("{base}/expenses"), in_usd).await).await;
    assert_eq!(usd["status"], "pending", "{usd}");
    let usd_path = format!("{base}/expenses/{}", usd["id"].as_str().expect("id"));
    let rejected = created(
        post_as(
            app,
            &owner,
            &format!("{usd_path}/rejections"),
            json!({"reason": "pay in EUR"}),
        )
        .await,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");

    let cleared = json_of(patch(json!({"four_eyes_above": null})).await).await;
    assert_eq!(cleared["four_eyes_above"], Value::Null);
    let large = created(
        post_as(
            app,
            &treasurer,
            &format!("{base}/expenses"),
            expense("500.00"),
        )
        .await,
    )
    .await;
    assert_eq!(large["status"], "posted");
}
