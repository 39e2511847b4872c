//! PRODUCT.md steps 6 and 7 through the API: a dry run with every line
//! explained, two approvers who are not its author, one atomic execution,
//! every cent placed, then the payouts.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    story_steps_six_and_seven,
    invalid_rule_sets_name_their_fields
);

fn rule_set_v1() -> Value {
    json!({"steps": [
        {"share": {"type": "percentage", "percent": "10", "of": "total"}, "to": {"type": "account", "account": "reserve"}},
        {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
         "to": {"type": "pro_rata", "weights": {"time": "1", "equipment": "1", "data": "1"}, "cap": {"type": "percentage", "percent": "40"}}}
    ], "residue": {"type": "pool"}})
}

async fn story_steps_six_and_seven(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, author) = app.member(&project, "treasurer").await;
    let (_, second) = app.member(&project, "treasurer").await;
    let mut contributors = Vec::new();
    for _ in 0..3 {
        contributors.push(app.member(&project, "contributor").await);
    }
    for (kind, per, rate) in [
        ("time", "hour", "25.00"),
        ("equipment", "hour", "3.00"),
        ("data", "dataset", "500.00"),
    ] {
        created(app.post(&format!("{base}/rates"), &json!({"kind": kind, "effective_from": "2026-01-01", "rate": rate, "currency": "EUR",
            "per": per, "method": "replacement_cost", "source": "story"})).await).await;
    }
    let work = [
        json!({"kind": "time", "date": "2026-03-02", "quantity": "12.5", "unit": "hour"}),
        json!({"kind": "equipment", "date": "2026-03-05", "quantity": "40", "unit": "hour", "equipment": "3d-printer-1"}),
        json!({"kind": "data", "date": "2026-03-10", "quantity": "1", "unit": "dataset", "dataset": {"title": "readings", "licence": "CC-BY-4.0"}}),
    ];
    for ((_, token), body) in contributors.iter().zip(&work) {
        let contribution = created(
            app.send_as(
                Some(token),
                Method::POST,
                &format!("{base}/contributions"),
                Some(body),
            )
            .await,
        )
        .await;
        let id = contribution["id"].as_str().expect("id");
        created(
            app.send_as(
                Some(&author),
                Method::POST,
                &format!("{base}/contributions/{id}/reviews"),
                Some(&json!({"decision": "approve"})),
            )
            .await,
        )
        .await;
    }
    let funder = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await,
    )
    .await;
    let grant = created(app.send_as(Some(&author), Method::POST, &format!("{base}/grants"), Some(&json!({"funder": funder["id"], "kind": "grant",
        "reference": "FH-2026-017", "amount": "10000.00", "currency": "EUR", "received_on": "2026-02-01", "restriction": "air-quality sensors",
        "distributable": true}))).await).await;
    created(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{base}/expense-categories"),
            Some(&json!({"name": "parts", "funder_category": "C purchases"})),
        )
        .await,
    )
    .await;
    created(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{base}/expenses"),
            Some(
                &json!({"grant": grant["id"], "amount": "1200.00", "currency": "EUR",
        "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15"}),
            ),
        )
        .await,
    )
    .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let version = created(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{base}/rule-sets"),
            Some(&rule_set_v1()),
        )
        .await,
    )
    .await;
    assert_eq!(version["version"], 1);

    let too_much = json!({"rule_set_version": 1, "grant": grant["id"], "amount": "8800.01", "period_from": "2026-03-01", "period_to": "2026-03-31"});
    assert_problem(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{base}/distributions"),
            Some(&too_much),
        )
        .await,
        422,
        "insufficient_funds",
        "no promises without funds",
    )
    .await;

    let request = json!({"rule_set_version": 1, "grant": grant["id"], "amount": "4500.00", "period_from": "2026-03-01", "period_to": "2026-03-31"});
    let draft = created(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{base}/distributions"),
            Some(&request),
        )
        .await,
    )
    .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(
        draft["transfers"][0],
        json!({"step": 0, "account": "reserve", "amount": "450.00"})
    );
    let amounts: Vec<(&str, &str)> = draft["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["agent"].as_str().expect("agent"),
                l["amount"].as_str().expect("amount"),
            )
        })
        .collect();
    let of = |i: usize| contributors[i].0.as_str();
    for (agent, amount) in [(of(0), "1357.24"), (of(1), "521.18"), (of(2), "1620.00")] {
        assert!(
            amounts.contains(&(agent, amount)),
            "{agent} gets {amount}: {amounts:?}"
        );
    }
    assert_eq!(draft["residue"], "551.58");
    let time_line = draft["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["agent"] == of(0))
        .expect("time line");
    let why = time_line["explanation"].as_str().expect("explanation");
    assert!(
        why.contains("312.50 approved value") && why.contains("4050.00") && why.contains("1357.24"),
        "{why}"
    );
    let capped = draft["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["agent"] == of(2))
        .expect("data line");
    assert_eq!(capped["capped_by"], "551.58");
    let dry = app.balances(&project).await;
    assert_eq!(
        dry["pool:grant:FH-2026-017"], "8800.00",
        "a draft posts nothing"
    );

    let id = draft["id"].as_str().expect("id");
    let run = format!("{base}/distributions/{id}");
    assert_problem(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{run}/approvals"),
            Some(&json!({})),
        )
        .await,
        403,
        "self_approval",
        "not the author",
    )
    .await;
    assert_problem(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{run}/execution"),
            Some(&json!({})),
        )
        .await,
        409,
        "distribution_state",
        "not approved yet",
    )
    .await;
    // Four eyes by default: the second treasurer's approval is the one that counts.
    let approved = created(
        app.send_as(
            Some(&second),
            Method::POST,
            &format!("{run}/approvals"),
            Some(&json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(approved["status"], "approved", "one approval by another");

    let executed = created(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{run}/execution"),
            Some(&json!({"effective_date": "2026-03-31"})),
        )
        .await,
    )
    .await;
    assert_eq!(executed["status"], "executed");
    let transaction_id = executed["transaction"].as_str().expect("transaction");
    let transaction = json_of(
        app.get(&format!("{base}/transactions/{transaction_id}"))
            .await,
    )
    .await;
    assert_eq!(transaction["kind"], "distribution");
    assert_eq!(
        transaction["postings"].as_array().expect("postings").len(),
        4,
        "one atomic transaction: reserve and three contributors"
    );
    let balances = app.balances(&project).await;
    assert_eq!(balances["reserve"], "450.00");
    assert_eq!(balances[&format!("contributor:{}", of(0))], "1357.24");
    assert_eq!(balances[&format!("contributor:{}", of(1))], "521.18");
    assert_eq!(balances[&format!("contributor:{}", of(2))], "1620.00");
    assert_eq!(
        balances["pool:grant:FH-2026-017"], "4851.58",
        "the residue stays in the pool"
    );
    let paid: i64 = ["450.00", "1357.24", "521.18", "1620.00", "551.58"]
        .iter()
        .map(|v| v.replace('.', "").parse::<i64>().expect("cents"))
        .sum();
    assert_eq!(paid, 450_000, "every cent is placed");
    let grant_id = grant["id"].as_str().expect("id");
    let figures = json_of(app.get(&format!("{base}/grants/{grant_id}")).await).await;
    assert_eq!(
        (
            figures["spent"].as_str(),
            figures["distributed"].as_str(),
            figures["remaining"].as_str()
        ),
        (Some("1200.00"), Some("3948.42"), Some("4851.58"))
    );
    assert_problem(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{run}/execution"),
            Some(&json!({})),
        )
        .await,
        409,
        "distribution_state",
        "executed once",
    )
    .await;
    assert_problem(
        app.send_as(
            Some(&author),
            Method::POST,
            &format!("{run}/cancellation"),
            Some(&json!({})),
        )
        .await,
        409,
        "distribution_state",
        "an executed run is reversed, not cancelled",
    )
    .await;

    // Step 7: the contributor's value account, then the payout.
    let (contributor, token) = &contributors[0];
    let mine = json_of(
        app.send_as(Some(token), Method::GET, "/v1/me/value-account", None)
            .await,
    )
    .await;
    assert_eq!(mine["projects"][0]["totals"][0]["approved"], "312.50");
    assert_eq!(
        mine["projects"][0]["money"][0]["distributions_earned"],
        "1357.24"
    );
    assert_eq!(mine["projects"][0]["money"][0]["balance_owed"], "1357.24");
    created(app.send_as(Some(&author), Method::POST, &format!("{base}/payouts"), Some(&json!({"agent": contributor, "amount": "1357.24",
        "currency": "EUR", "method": "bank-transfer", "reference": "SEPA-1", "date": "2026-04-30"}))).await).await;
    let after = json_of(
        app.send_as(Some(token), Method::GET, "/v1/me/value-account", None)
            .await,
    )
    .await;
    assert_eq!(
        after["projects"][0]["money"][0]["payouts_received"],
        "1357.24"
    );
    assert_eq!(after["projects"][0]["money"][0]["balance_owed"], "0.00");
}

async fn invalid_rule_sets_name_their_fields(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let bad = json!({"steps": [
        {"share": {"type": "percentage", "percent": "110", "of": "total"}, "to": {"type": "account", "account": "nowhere"}}
    ], "residue": {"type": "pool"}});
    let problem = assert_problem(
        app.post(&format!("/v1/projects/{project}/rule-sets"), &bad)
            .await,
        422,
        "invalid_rule_set",
        "bad rule set",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert!(
        fields.contains(&"steps[0].share.percent") && fields.contains(&"steps[0].to.account"),
        "{fields:?}"
    );
    let empty = json!({"steps": [], "residue": {"type": "pool"}});
    assert_problem(
        app.post(&format!("/v1/projects/{project}/rule-sets"), &empty)
            .await,
        422,
        "invalid_rule_set",
        "an empty waterfall",
    )
    .await;
    let listed = json_of(app.get(&format!("/v1/projects/{project}/rule-sets")).await).await;
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        0,
        "nothing stored"
    );
}
