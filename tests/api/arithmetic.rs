//! Extreme figures: rule sets beyond the stated limits are refused at
//! creation naming the field, and figures within the limits are either
//! computed exactly or refused with 422 `arithmetic_overflow`, never a 5xx,
//! with nothing written.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    a_fixed_share_beyond_the_limit_is_refused_naming_the_field,
    every_rule_set_amount_is_bounded_by_the_largest_amount,
    rule_set_decimals_are_plain_and_short,
    a_stored_rule_set_beyond_the_limits_answers_arithmetic_overflow,
    a_high_nominal_currency_at_the_limits_is_computed_or_refused_cleanly,
);

fn fixed_to_reserve(amount: &str) -> Value {
    json!({"steps": [
        {"share": {"type": "fixed", "amount": amount}, "to": {"type": "account", "account": "reserve"}}
    ], "residue": {"type": "pool"}})
}

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

async fn rule_set_count(app: &TestApp, project: &str) -> usize {
    let listed = json_of(app.get(&format!("/v1/projects/{project}/rule-sets")).await).await;
    listed["items"].as_array().expect("items").len()
}

async fn distribution_count(app: &TestApp, project: &str) -> usize {
    let listed = json_of(
        app.get(&format!("/v1/projects/{project}/distributions"))
            .await,
    )
    .await;
    listed["items"].as_array().expect("items").len()
}

/// The reproduction: the largest decimal there is, as a fixed share.
async fn a_fixed_share_beyond_the_limit_is_refused_naming_the_field(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let problem = assert_problem(
        app.post(
            &format!("/v1/projects/{project}/rule-sets"),
            &fixed_to_reserve("79228162514264337593543950335"),
        )
        .await,
        422,
        "invalid_rule_set",
        "a fixed share of 79228162514264337593543950335 EUR",
    )
    .await;
    assert_eq!(fields_of(&problem), ["steps[0].share.amount"], "{problem}");
    assert_eq!(rule_set_count(app, &project).await, 0, "nothing stored");
    // Two such percentages used to overflow the sum of the percentages.
    let huge = "79228162514264337593543950335";
    let two = json!({"steps": [
        {"share": {"type": "percentage", "percent": huge, "of": "total"}, "to": {"type": "account", "account": "reserve"}},
        {"share": {"type": "percentage", "percent": huge, "of": "total"}, "to": {"type": "account", "account": "reserve"}}
    ], "residue": {"type": "pool"}});
    let problem = assert_problem(
        app.post(&format!("/v1/projects/{project}/rule-sets"), &two)
            .await,
        422,
        "invalid_rule_set",
        "two percentages at the largest decimal",
    )
    .await;
    let fields = fields_of(&problem);
    assert!(
        fields.contains(&"steps[0].share.percent".to_owned())
            && fields.contains(&"steps[1].share.percent".to_owned()),
        "{fields:?}"
    );
    assert_eq!(rule_set_count(app, &project).await, 0, "nothing stored");
}

async fn every_rule_set_amount_is_bounded_by_the_largest_amount(app: &TestApp) {
    for (currency, largest, one_more) in [
        ("EUR", "10000000000000.00", "10000000000000.01"),
        ("JPY", "1000000000000000", "1000000000000001"),
        ("KWD", "1000000000000.000", "1000000000000.001"),
    ] {
        let project = app.create_project(currency).await;
        app.create_account(&project, "reserve", currency, true)
            .await;
        let base = format!("/v1/projects/{project}/rule-sets");
        let with = |amount: &str| {
            json!({"steps": [
                {"share": {"type": "fixed", "amount": amount}, "to": {"type": "account", "account": "reserve"}},
                {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
                 "to": {"type": "pro_rata", "weights": {"time": "1000"},
                        "cap": {"type": "amount", "amount": amount}, "minimum": amount}},
                {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
                 "to": {"type": "equal_split", "cap": {"type": "amount", "amount": amount}, "minimum": amount}}
            ], "residue": {"type": "pool"}})
        };
        let problem = assert_problem(
            app.post(&base, &with(one_more)).await,
            422,
            "invalid_rule_set",
            &format!("{one_more} {currency} is one minor unit above the largest amount"),
        )
        .await;
        let mut fields = fields_of(&problem);
        fields.sort();
        assert_eq!(
            fields,
            [
                "steps[0].share.amount",
                "steps[1].to.cap.amount",
                "steps[1].to.minimum",
                "steps[2].to.cap.amount",
                "steps[2].to.minimum",
            ],
            "every amount is bounded, {currency}"
        );
        let message = problem["errors"][0]["message"].as_str().expect("message");
        assert!(
            message.contains(largest),
            "the message states the limit: {message}"
        );
        assert_eq!(rule_set_count(app, &project).await, 0, "nothing stored");
        created(app.post(&base, &with(largest)).await).await;
    }
}

async fn rule_set_decimals_are_plain_and_short(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let base = format!("/v1/projects/{project}/rule-sets");
    let percent = |text: &str| {
        json!({"steps": [
            {"share": {"type": "percentage", "percent": text, "of": "total"}, "to": {"type": "account", "account": "reserve"}}
        ], "residue": {"type": "pool"}})
    };
    for (text, rule) in [
        (
            "1.00000000000000000000000000001",
            "more decimals than a decimal holds are refused, not rounded to 1",
        ),
        (".5", "a leading point"),
        ("5.", "a trailing point"),
        ("", "an empty string"),
        (
            "00000000000000000000000000000000000000001",
            "more than 40 characters",
        ),
    ] {
        let problem = assert_problem(
            app.post(&base, &percent(text)).await,
            422,
            "invalid_rule_set",
            rule,
        )
        .await;
        assert_eq!(fields_of(&problem), ["steps[0].share.percent"], "{rule}");
    }
    assert_eq!(rule_set_count(app, &project).await, 0, "nothing stored");
    created(app.post(&base, &percent("12.5")).await).await;
}

/// A rule set stored before the limits existed still drafts without a panic.
async fn a_stored_rule_set_beyond_the_limits_answers_arithmetic_overflow(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let donation = json!({"funder": app.admin_id, "kind": "donation", "reference": "DON-1",
        "amount": "100.00", "currency": "EUR", "received_on": "2026-02-01"});
    created(
        app.post(&format!("/v1/projects/{project}/grants"), &donation)
            .await,
    )
    .await;
    let row = commons_ledger::db::distributions::RuleSetRow {
        project_id: project.clone(),
        version: 1,
        definition: fixed_to_reserve("79228162514264337593543950335").to_string(),
        created_by: app.admin_id.clone(),
        created_at: commons_ledger::db::now(),
    };
    app.db
        .write(|conn| -> Result<(), commons_ledger::db::StorageError> {
            commons_ledger::db::distributions::insert_rule_set(conn, &row)?;
            Ok(())
        })
        .expect("a rule set as an earlier release stored it");
    let transactions = app.transaction_count(&project).await;
    let draft = json!({"rule_set_version": 1, "amount": "100.00",
        "period_from": "2026-03-01", "period_to": "2026-03-31"});
    assert_problem(
        app.post_with_key(
            &format!("/v1/projects/{project}/distributions"),
            "stored-overflow",
            &draft,
        )
        .await,
        422,
        "arithmetic_overflow",
        "a fixed share beyond 64-bit minor units",
    )
    .await;
    assert_problem(
        app.post_with_key(
            &format!("/v1/projects/{project}/distributions"),
            "stored-overflow",
            &draft,
        )
        .await,
        422,
        "arithmetic_overflow",
        "the retry answers the same",
    )
    .await;
    assert_eq!(distribution_count(app, &project).await, 0, "no draft");
    assert_eq!(app.transaction_count(&project).await, transactions);
}

/// Ten trillion rupiah (the largest amount in a currency of two decimals),
/// time valued at a billion rupiah an hour, ten thousand hours at a time
/// (the largest value a contribution may have), and the heaviest weights.
async fn a_high_nominal_currency_at_the_limits_is_computed_or_refused_cleanly(app: &TestApp) {
    let project = app.create_project("IDR").await;
    let base = format!("/v1/projects/{project}");
    app.create_account(&project, "reserve", "IDR", true).await;
    created(
        app.post(
            &format!("{base}/grants"),
            &json!({"funder": app.admin_id, "kind": "donation", "reference": "DON-IDR",
                "amount": "10000000000000.00", "currency": "IDR", "received_on": "2026-02-01"}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{base}/rates"),
            &json!({"kind": "time", "effective_from": "2026-01-01", "rate": "1000000000.00",
                "currency": "IDR", "per": "hour", "method": "replacement_cost", "source": "test"}),
        )
        .await,
    )
    .await;
    let largest = "10000000000000.00";
    let rules = json!({"steps": [
        {"share": {"type": "percentage", "percent": "0.0001", "of": "total"}, "to": {"type": "account", "account": "reserve"}},
        {"share": {"type": "fixed", "amount": largest},
         "to": {"type": "pro_rata", "weights": {"time": "1000", "equipment": "1000", "data": "1000"},
                "cap": {"type": "amount", "amount": largest}, "minimum": "0.01"}},
        {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
         "to": {"type": "equal_split", "cap": {"type": "percentage", "percent": "100"}, "minimum": largest}}
    ], "residue": {"type": "account", "account": "reserve"}});
    created(app.post(&format!("{base}/rule-sets"), &rules).await).await;
    // Three contributors with one contribution each, then one with eighteen:
    // 18 x 10^15 minor units x weight 1000 (10^7 in basis points) x 10^15 is
    // past what 128-bit arithmetic holds.
    let mut contributors = Vec::new();
    for count in [1, 1, 1, 18] {
        let (agent, token) = app.member(&project, "contributor").await;
        for day in 0..count {
            let contribution = created(
                app.send_as(
                    Some(&token),
                    Method::POST,
                    &format!("{base}/contributions"),
                    Some(
                        &json!({"kind": "time", "date": format!("2026-03-{:02}", day + 1),
                        "quantity": "10000", "unit": "hour"}),
                    ),
                )
                .await,
            )
            .await;
            assert_eq!(
                contribution["valuation"]["value"], largest,
                "the largest value a contribution may have"
            );
            let id = contribution["id"].as_str().expect("id");
            created(
                app.post(
                    &format!("{base}/contributions/{id}/reviews"),
                    &json!({"decision": "approve"}),
                )
                .await,
            )
            .await;
        }
        contributors.push(agent);
    }
    let transactions = app.transaction_count(&project).await;
    // March 1st to 1st: every contributor's first contribution only.
    let computed = created(
        app.post(
            &format!("{base}/distributions"),
            &json!({"rule_set_version": 1, "amount": "all",
                "period_from": "2026-03-01", "period_to": "2026-03-01"}),
        )
        .await,
    )
    .await;
    let minor = |text: &str| -> i128 {
        let (whole, fraction) = text.split_once('.').expect("two decimals");
        format!("{whole}{fraction}").parse().expect("minor units")
    };
    let lines = computed["lines"].as_array().expect("lines");
    let transfers = computed["transfers"].as_array().expect("transfers");
    let placed: i128 = lines
        .iter()
        .map(|l| minor(l["amount"].as_str().expect("amount")))
        .chain(
            transfers
                .iter()
                .map(|t| minor(t["amount"].as_str().expect("amount"))),
        )
        .sum();
    assert_eq!(
        placed + minor(computed["residue"].as_str().expect("residue")),
        minor(largest),
        "every minor unit of the ten trillion is placed: {computed}"
    );
    assert_eq!(
        transfers[0]["amount"], "10000000.00",
        "0.0001 % of the total"
    );
    let pro_rata: Vec<&Value> = lines.iter().filter(|l| l["step"] == 1).collect();
    assert_eq!(pro_rata.len(), 4, "{lines:?}");
    for line in &pro_rata {
        assert_eq!(line["share_percent"], "25", "{line}");
        assert_eq!(line["amount"], "2499997500000.00", "{line}");
        let why = line["explanation"].as_str().expect("explanation");
        assert!(
            why.contains("= 2499997500000.00 exactly"),
            "the exact share of a 10^37 numerator is explained: {why}"
        );
    }
    assert_eq!(distribution_count(app, &project).await, 1);
    let read = json_of(
        app.get(&format!(
            "{base}/distributions/{}",
            computed["id"].as_str().expect("id")
        ))
        .await,
    )
    .await;
    assert_eq!(read["lines"], computed["lines"], "the draft reads back");

    // The whole month: the fourth contributor's eighteen contributions.
    let whole_month = json!({"rule_set_version": 1, "amount": "all",
        "period_from": "2026-03-01", "period_to": "2026-03-31"});
    assert_problem(
        app.post(&format!("{base}/distributions"), &whole_month)
            .await,
        422,
        "arithmetic_overflow",
        "a weighted share past 128-bit arithmetic",
    )
    .await;
    assert_eq!(
        distribution_count(app, &project).await,
        1,
        "the refused draft is not stored"
    );
    assert_eq!(
        app.transaction_count(&project).await,
        transactions,
        "nothing posted"
    );
    let value_account = json_of(
        app.get(&format!("{base}/members/{}/value-account", contributors[3]))
            .await,
    )
    .await;
    assert_eq!(
        value_account["totals"][0]["approved"], "180000000000000.00",
        "eighteen times the largest value, summed exactly"
    );
}

/// Every decimal string of a request states, in the spec, the shape and
/// the length the service enforces.
#[test]
fn the_spec_states_the_decimal_limits_the_code_enforces() {
    use commons_ledger::domain::money::{AMOUNT_TEXT_LENGTH_MAX, DECIMAL_TEXT_PATTERN};
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    let mut stated = Vec::new();
    let mut pending = vec![("".to_owned(), &spec)];
    while let Some((path, value)) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(pattern) = map.get("pattern").and_then(Value::as_str)
                    && pattern.contains("[0-9]+(\\.[0-9]+)?")
                {
                    assert_eq!(
                        map.get("maxLength"),
                        Some(&json!(AMOUNT_TEXT_LENGTH_MAX)),
                        "{path}"
                    );
                    assert!(
                        pattern == DECIMAL_TEXT_PATTERN || pattern == "^([0-9]+(\\.[0-9]+)?|all)$",
                        "{path}: {pattern}"
                    );
                    stated.push(path.clone());
                }
                for (key, child) in map {
                    pending.push((format!("{path}/{key}"), child));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    pending.push((format!("{path}/{index}"), child));
                }
            }
            _ => {}
        }
    }
    for field in [
        "Posting/properties/amount",
        "CreateContributionRequest/properties/quantity",
        "CreateDistributionRequest/properties/amount",
        "CreateExpenseRequest/properties/amount",
        "CreateGrantRequest/properties/amount",
        "CreatePayoutRequest/properties/amount",
        "CreateRateRequest/properties/rate",
        "Money/properties/amount",
        "KindWeights/properties/time",
    ] {
        assert!(
            stated.iter().any(|path| path.ends_with(field)),
            "{field} states its limits: {stated:#?}"
        );
    }
    assert!(
        stated
            .iter()
            .filter(|path| path.contains("/ShareDto/"))
            .count()
            == 2
            && stated
                .iter()
                .filter(|path| path.contains("/CapDto/"))
                .count()
                == 2
            && stated
                .iter()
                .filter(|path| path.contains("/RecipientsDto/"))
                .count()
                == 2,
        "every decimal of a rule set: {stated:#?}"
    );
}
