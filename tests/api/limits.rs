//! Limits on what a request may carry: every text field has a stated
//! maximum (422 `too_long` above it), dates are years 1900 to 2200, and an
//! `Idempotency-Key` is visible ASCII without blanks.

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_of, transfer_body};
use crate::on_both_backends;

on_both_backends!(
    idempotency_keys_follow_their_pattern,
    dates_outside_1900_to_2200_are_refused_on_every_write,
    text_longer_than_its_maximum_is_refused,
    eligible_categories_are_bounded_and_kept_once,
);

/// A project with what every write below needs: accounts with money, a
/// rate, an expense category and a rule set.
async fn furnished_project(app: &TestApp) -> String {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    assert_eq!(
        app.transfer(&project, "funder:a", "pool:general", "100.00", "EUR")
            .await
            .status(),
        201
    );
    let rate = json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
                      "per": "hour", "method": "replacement_cost", "source": "test"});
    let setup = [
        (format!("/v1/projects/{project}/rates"), rate),
        (
            format!("/v1/projects/{project}/expense-categories"),
            json!({"name": "parts", "funder_category": "C purchases"}),
        ),
        (
            format!("/v1/projects/{project}/rule-sets"),
            json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
                              "to": {"type": "pro_rata", "weights": {"time": "1"}}}],
                   "residue": {"type": "pool"}}),
        ),
    ];
    for (path, body) in setup {
        let response = app.post(&path, &body).await;
        assert_eq!(response.status(), 201, "{path}");
    }
    project
}

async fn idempotency_keys_follow_their_pattern(app: &TestApp) {
    let project = furnished_project(app).await;
    let path = format!("/v1/projects/{project}/transactions");
    let body = transfer_body("funder:a", "pool:general", "1.00", "EUR");
    let before = app.transaction_count(&project).await;
    let long = "k".repeat(256);
    // Blanks around a header value are not part of it (HTTP trims them);
    // blanks inside are, and are refused.
    let refused: [(&[u8], &str); 4] = [
        (b"two words", "a space"),
        (b"tab\tinside", "a tab"),
        (long.as_bytes(), "256 characters"),
        (b"caf\xc3\xa9", "not ASCII"),
    ];
    for (key, rule) in refused {
        let Ok(value) = HeaderValue::from_bytes(key) else {
            panic!("{rule}: a header value HTTP can carry");
        };
        let response = app
            .client
            .post(app.url(&path))
            .header("Idempotency-Key", value)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_problem(response, 400, "invalid_idempotency_key", rule).await;
    }
    assert_eq!(
        app.transaction_count(&project).await,
        before,
        "a refused key records nothing"
    );
    for key in ["!", "~", "a-Z_0.9:/=+", &"k".repeat(255)] {
        assert_eq!(
            app.post_with_key(&path, key, &body).await.status(),
            201,
            "{key:?} matches ^[!-~]+$"
        );
    }
}

async fn dates_outside_1900_to_2200_are_refused_on_every_write(app: &TestApp) {
    let project = furnished_project(app).await;
    let p = &project;
    let transaction = json_of(
        app.transfer(p, "funder:a", "pool:general", "1.00", "EUR")
            .await,
    )
    .await;
    let reversal = format!(
        "/v1/projects/{p}/transactions/{}/reversal",
        transaction["id"].as_str().expect("id")
    );
    let admin = app.admin_id.clone();
    // (path, body with DATE where the date goes, the field named).
    let writes: Vec<(String, Value, &str)> = vec![
        (
            format!("/v1/projects/{p}/transactions"),
            transfer_body("funder:a", "pool:general", "1.00", "EUR"),
            "effective_date",
        ),
        (
            reversal,
            json!({"effective_date": "DATE"}),
            "effective_date",
        ),
        (
            format!("/v1/projects/{p}/rates"),
            json!({"kind": "time", "effective_from": "DATE", "rate": "20.00", "currency": "EUR",
                   "per": "hour", "method": "replacement_cost", "source": "test"}),
            "effective_from",
        ),
        (
            format!("/v1/projects/{p}/contributions"),
            json!({"kind": "time", "date": "DATE", "quantity": "1", "unit": "hour"}),
            "date",
        ),
        (
            format!("/v1/projects/{p}/grants"),
            json!({"funder": admin, "kind": "donation", "reference": "D-1", "amount": "1.00",
                   "currency": "EUR", "received_on": "DATE"}),
            "received_on",
        ),
        (
            format!("/v1/projects/{p}/grants"),
            json!({"funder": admin, "kind": "grant", "reference": "G-1", "amount": "1.00",
                   "currency": "EUR", "received_on": "2026-02-01", "period_start": "DATE"}),
            "period_start",
        ),
        (
            format!("/v1/projects/{p}/grants"),
            json!({"funder": admin, "kind": "grant", "reference": "G-2", "amount": "1.00",
                   "currency": "EUR", "received_on": "2026-02-01", "period_end": "DATE"}),
            "period_end",
        ),
        (
            format!("/v1/projects/{p}/expenses"),
            json!({"amount": "1.00", "currency": "EUR", "category": "parts", "supplier": "S", "date": "DATE"}),
            "date",
        ),
        (
            format!("/v1/projects/{p}/payouts"),
            json!({"agent": admin, "amount": "0.01", "currency": "EUR", "method": "bank-transfer",
                   "reference": "R", "date": "DATE"}),
            "date",
        ),
        (
            format!("/v1/projects/{p}/exchanges"),
            json!({"sell": {"amount": "1.00", "currency": "EUR"}, "buy": {"amount": "1.10", "currency": "USD"},
                   "date": "DATE", "source": "bank"}),
            "date",
        ),
        (
            format!("/v1/projects/{p}/distributions"),
            json!({"rule_set_version": 1, "amount": "1.00", "period_from": "DATE", "period_to": "2026-03-31"}),
            "period_from",
        ),
        (
            format!("/v1/projects/{p}/distributions"),
            json!({"rule_set_version": 1, "amount": "1.00", "period_from": "1900-01-01", "period_to": "DATE"}),
            "period_to",
        ),
    ];
    let before = app.transaction_count(p).await;
    for date in [
        "-001-01-01",
        "0000-01-01",
        "1899-12-31",
        "2201-01-01",
        "9999-12-31",
    ] {
        for (path, body, field) in &writes {
            let mut body = body.clone();
            body[field] = json!(date);
            let problem = assert_problem(
                app.post(path, &body).await,
                422,
                "invalid_date",
                &format!("{date} as {field} of {path}"),
            )
            .await;
            assert_eq!(problem["errors"][0]["field"], *field, "{date} {path}");
        }
        let csv = format!("kind,date,quantity,unit\ntime,{date},1,hour\n");
        let imported = app
            .client
            .post(app.url(&format!("/v1/projects/{p}/contributions/imports")))
            .header("Content-Type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("request");
        let problem = assert_problem(
            imported,
            422,
            "invalid_date",
            &format!("{date} in a CSV row"),
        )
        .await;
        assert_eq!(problem["errors"][0]["column"], "date");
    }
    assert_eq!(
        app.transaction_count(p).await,
        before,
        "nothing refused was posted"
    );
    // An effective date is at most a year ahead (the ledger's window,
    // narrower than what parses).
    let within = (chrono::Utc::now().date_naive() + chrono::Days::new(300)).to_string();
    for date in ["1900-01-01", within.as_str()] {
        let mut body = transfer_body("funder:a", "pool:general", "1.00", "EUR");
        body["effective_date"] = json!(date);
        assert_eq!(
            app.post(&format!("/v1/projects/{p}/transactions"), &body)
                .await
                .status(),
            201,
            "{date} is within the range"
        );
    }
    let before = app.transaction_count(p).await;
    let mut body = transfer_body("funder:a", "pool:general", "1.00", "EUR");
    body["effective_date"] = json!("2200-12-31");
    assert_problem(
        app.post(&format!("/v1/projects/{p}/transactions"), &body)
            .await,
        422,
        "date_out_of_range",
        "more than a year ahead",
    )
    .await;
    assert_eq!(app.transaction_count(p).await, before);
}

async fn text_longer_than_its_maximum_is_refused(app: &TestApp) {
    let project = furnished_project(app).await;
    let p = &project;
    let admin = app.admin_id.clone();
    let over = |n: usize| "x".repeat(n + 1);
    let long_id = over(36);
    // (method, path, body, expected status, code, field named).
    let cases: Vec<(Method, String, Value, u16, &str, &str)> = vec![
        (
            Method::POST,
            format!("/v1/projects/{p}/contributions"),
            json!({"kind": "data", "date": "2026-03-02", "quantity": "1", "unit": "dataset",
                   "dataset": {"title": "readings", "licence": format!("CC-BY-4.0 OR {}", over(500))}}),
            422,
            "too_long",
            "dataset.licence",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/contributions"),
            json!({"agent": long_id, "kind": "time", "date": "2026-03-02", "quantity": "1", "unit": "hour"}),
            422,
            "too_long",
            "agent",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/contributions"),
            json!({"kind": "time", "date": "2026-03-02", "quantity": "1", "unit": "hour", "supersedes": long_id}),
            422,
            "too_long",
            "supersedes",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/grants"),
            json!({"funder": admin, "kind": "donation", "reference": "D-long", "amount": "1.00",
                   "currency": "EUR", "received_on": "2026-02-01", "description": over(1000)}),
            422,
            "too_long",
            "description",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/grants"),
            json!({"funder": long_id, "kind": "donation", "reference": "D-id", "amount": "1.00",
                   "currency": "EUR", "received_on": "2026-02-01"}),
            422,
            "too_long",
            "funder",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/expenses"),
            json!({"grant": long_id, "amount": "1.00", "currency": "EUR", "category": "parts",
                   "supplier": "S", "date": "2026-03-15"}),
            422,
            "too_long",
            "grant",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/payouts"),
            json!({"agent": long_id, "amount": "0.01", "currency": "EUR", "method": "bank-transfer",
                   "reference": "R", "date": "2026-04-30"}),
            422,
            "too_long",
            "agent",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/rates"),
            json!({"kind": "time", "effective_from": "2026-05-01", "rate": "20.00", "currency": "EUR",
                   "per": "hour", "method": "replacement_cost", "source": "test", "agent": long_id}),
            422,
            "too_long",
            "agent",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/distributions"),
            json!({"rule_set_version": 1, "amount": "1.00", "period_from": "2026-03-01",
                   "period_to": "2026-03-31", "pool": over(200)}),
            422,
            "too_long",
            "pool",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/distributions"),
            json!({"rule_set_version": 0, "amount": "1.00", "period_from": "2026-03-01", "period_to": "2026-03-31"}),
            422,
            "invalid_rule_set",
            "rule_set_version",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/rule-sets"),
            json!({"steps": [{"share": {"type": "percentage", "percent": format!("1{}", "0".repeat(40)), "of": "total"},
                              "to": {"type": "pro_rata", "weights": {"time": "1"}}}],
                   "residue": {"type": "pool"}}),
            422,
            "invalid_rule_set",
            "steps[0].share.percent",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/rule-sets"),
            json!({"steps": [{"share": {"type": "percentage", "percent": "10", "of": "total"},
                              "to": {"type": "account", "account": over(200)}}],
                   "residue": {"type": "pool"}}),
            422,
            "too_long",
            "steps[0].to.account",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/invitations"),
            json!({"agent": long_id, "role": "auditor"}),
            422,
            "too_long",
            "agent",
        ),
        (
            Method::POST,
            format!("/v1/projects/{p}/members"),
            json!({"agent": long_id, "role": "auditor"}),
            422,
            "too_long",
            "agent",
        ),
        (
            Method::POST,
            "/v1/auth/token".to_owned(),
            json!({"email": format!("{}@example.org", over(254)), "password": "a long enough password"}),
            422,
            "too_long",
            "email",
        ),
        (
            Method::POST,
            "/v1/auth/token".to_owned(),
            json!({"email": "someone@example.org", "password": over(1024)}),
            422,
            "too_long",
            "password",
        ),
    ];
    let before = app.transaction_count(p).await;
    for (method, path, body, status, code, field) in cases {
        let problem = assert_problem(
            app.send_as(
                Some(&app.token_for(&app.admin_id)),
                method,
                &path,
                Some(&body),
            )
            .await,
            status,
            code,
            &format!("{field} of {path}"),
        )
        .await;
        assert!(
            problem["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .any(|e| e["field"] == field && (code != "too_long" || e["code"] == "too_long")),
            "{field} is named in {problem}"
        );
    }
    assert_eq!(
        app.transaction_count(p).await,
        before,
        "nothing refused was posted"
    );
    let contributions = json_of(app.get(&format!("/v1/projects/{p}/contributions")).await).await;
    assert!(
        contributions["items"].as_array().expect("items").is_empty(),
        "no contribution with a 501-character licence was stored"
    );

    // Query filters are bounded too (400, like any invalid filter).
    for query in [
        format!("/v1/projects/{p}/transactions?account={}", over(200)),
        format!("/v1/projects/{p}/accounts?currency={}", over(8)),
        format!("/v1/projects/{p}/balances?currency={}", over(8)),
        format!("/v1/projects/{p}/contributions?agent={}", over(36)),
        format!("/v1/projects/{p}/reports/journal.csv?account={}", over(200)),
        format!("/v1/projects/{p}/transactions?from=2026-01-011"),
    ] {
        assert_problem(app.get(&query).await, 400, "invalid_query", &query).await;
    }
}

async fn eligible_categories_are_bounded_and_kept_once(app: &TestApp) {
    let project = furnished_project(app).await;
    let path = format!("/v1/projects/{project}/grants");
    let grant = |reference: &str, categories: Value| {
        json!({"funder": app.admin_id, "kind": "grant", "reference": reference, "amount": "10.00",
               "currency": "EUR", "received_on": "2026-02-01", "restriction": "sensors",
               "eligible_categories": categories})
    };
    let too_many: Vec<String> = (0..=200).map(|i| format!("c{i}")).collect();
    assert_problem(
        app.post(&path, &grant("G-many", json!(too_many))).await,
        422,
        "too_many_categories",
        "at most 200 categories",
    )
    .await;
    let created = app
        .post(
            &path,
            &grant("G-twice", json!(["parts", "travel", "parts", "parts"])),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        json_of(created).await["eligible_categories"],
        json!(["parts", "travel"]),
        "a category named twice is kept once, in the order given"
    );
}
