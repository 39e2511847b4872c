//! Closed periods (#18 item 1): once the books are closed through a date,
//! nothing dated on or before it is posted, recorded, reviewed or reversed
//! into it, on every path and by the database too; a closing only moves
//! forward; reversals are dated today by default; and a report of the
//! closed period is byte-identical before and after later activity.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, created, json_of};
use crate::on_both_backends;

on_both_backends!(
    nothing_is_written_into_a_closed_period,
    a_closing_only_moves_forward_and_only_owners_and_treasurers_close,
    a_report_of_a_closed_period_never_changes,
    the_database_never_reopens_a_closed_period,
    a_run_for_a_closed_period_is_executed_in_the_open_one,
    a_correction_made_before_the_closing_is_not_approved_after_it,
);

/// A correction recorded while March was open, of March's work, would
/// replace March's value when approved: once March is closed, it is not.
async fn a_correction_made_before_the_closing_is_not_approved_after_it(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    let send = |token: &str, path: &str, body: Value| {
        let (token, path) = (token.to_owned(), format!("{base}{path}"));
        async move {
            app.send_as(Some(&token), Method::POST, &path, Some(&body))
                .await
        }
    };
    created(
        send(
            &treasurer,
            "/rates",
            json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00",
                "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"}),
        )
        .await,
    )
    .await;
    let original = created(
        send(
            &contributor,
            "/contributions",
            json!({"kind": "time", "date": "2026-03-10", "quantity": "4", "unit": "hour"}),
        )
        .await,
    )
    .await;
    let id = original["id"].as_str().expect("id");
    created(
        send(
            &treasurer,
            &format!("/contributions/{id}/reviews"),
            json!({"decision": "approve"}),
        )
        .await,
    )
    .await;
    let correction = created(
        send(
            &contributor,
            "/contributions",
            json!({"kind": "time", "date": "2026-04-02", "quantity": "6", "unit": "hour",
                "supersedes": id}),
        )
        .await,
    )
    .await;
    created(send(&treasurer, "/closings", json!({"through": "2026-03-31"})).await).await;
    let review = send(
        &treasurer,
        &format!(
            "/contributions/{}/reviews",
            correction["id"].as_str().expect("id")
        ),
        json!({"decision": "approve"}),
    )
    .await;
    let refused = assert_problem(review, 422, "period_closed", "approving the correction").await;
    assert!(
        refused["detail"]
            .as_str()
            .expect("detail")
            .contains("2026-03-10"),
        "{refused}"
    );
}

struct Books {
    project: String,
    base: String,
    treasurer: String,
    contributor: String,
    funder: String,
    grant: Value,
    expense: Value,
    pending: Value,
}

impl Books {
    async fn post(&self, app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
        app.send_as(
            Some(token),
            Method::POST,
            &format!("{}{path}", self.base),
            Some(&body),
        )
        .await
    }

    async fn ledger(&self, app: &TestApp) -> (HashMap<String, String>, usize, Value) {
        let contributions = json_of(
            app.send_as(
                Some(&self.treasurer),
                Method::GET,
                &format!("{}/contributions", self.base),
                None,
            )
            .await,
        )
        .await;
        (
            app.balances(&self.project).await,
            app.transaction_count(&self.project).await,
            contributions["items"].clone(),
        )
    }
}

/// A project with a restricted grant in February, a March expense, a
/// contribution pending review, and its books closed through 2026-03-31.
async fn closed_books(app: &TestApp) -> Books {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, contributor) = app.member(&project, "contributor").await;
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
    let post = |path: &str, body: Value| {
        let path = format!("{base}{path}");
        let token = treasurer.clone();
        async move {
            app.send_as(Some(&token), Method::POST, &path, Some(&body))
                .await
        }
    };
    created(post("/expense-categories", json!({"name": "parts"})).await).await;
    created(
        post(
            "/rates",
            json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00",
        "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"}),
        )
        .await,
    )
    .await;
    let grant = created(
        post(
            "/grants",
            json!({"funder": funder, "kind": "grant", "reference": "FH-1",
        "amount": "1000.00", "currency": "EUR", "received_on": "2026-02-01",
        "restriction": "sensors", "period_start": "2026-01-01", "period_end": "2026-12-31"}),
        )
        .await,
    )
    .await;
    let expense = created(post("/expenses", json!({"grant": grant["id"], "amount": "120.00",
        "currency": "EUR", "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15"})).await).await;
    let pending = created(
        app.send_as(
            Some(&contributor),
            Method::POST,
            &format!("{base}/contributions"),
            Some(&json!({"kind": "time", "date": "2026-03-20", "quantity": "4", "unit": "hour"})),
        )
        .await,
    )
    .await;
    let closing = created(
        post(
            "/closings",
            json!({"through": "2026-03-31", "note": "Q1 report sent"}),
        )
        .await,
    )
    .await;
    assert_eq!(closing["through"], "2026-03-31");
    let shown = json_of(
        app.send_as(Some(&treasurer), Method::GET, &base, None)
            .await,
    )
    .await;
    assert_eq!(shown["closed_through"], "2026-03-31");
    Books {
        project,
        base,
        treasurer,
        contributor,
        funder,
        grant,
        expense,
        pending,
    }
}

async fn nothing_is_written_into_a_closed_period(app: &TestApp) {
    let books = closed_books(app).await;
    let t = books.treasurer.clone();
    let before = books.ledger(app).await;
    app.create_account(&books.project, "reserve", "EUR", true)
        .await;
    let before = (
        before
            .0
            .into_iter()
            .chain([("reserve".to_owned(), "0.00".to_owned())])
            .collect(),
        before.1,
        before.2,
    );
    let reversal_path = format!(
        "/transactions/{}/reversal",
        books.expense["transaction"].as_str().expect("tx")
    );
    let refusals: Vec<(&str, &str, Value)> = vec![
        (
            "a transfer",
            "/transactions",
            json!({"kind": "transfer", "effective_date": "2026-03-31",
            "postings": [{"from": format!("funder:{}", books.funder), "to": "reserve", "amount": "1.00", "currency": "EUR"}]}),
        ),
        (
            "a grant",
            "/grants",
            json!({"funder": books.funder, "kind": "donation", "reference": "D-1",
            "amount": "10.00", "currency": "EUR", "received_on": "2026-03-01"}),
        ),
        (
            "an expense",
            "/expenses",
            json!({"amount": "1.00", "currency": "EUR", "category": "parts",
            "supplier": "x", "date": "2026-01-10", "grant": books.grant["id"]}),
        ),
        (
            "an exchange",
            "/exchanges",
            json!({"grant": books.grant["id"], "sell": {"amount": "1.00", "currency": "EUR"},
            "buy": {"amount": "1.10", "currency": "USD"}, "date": "2026-03-02", "source": "bank"}),
        ),
        (
            "a reversal into the closed period",
            &reversal_path,
            json!({"effective_date": "2026-03-16"}),
        ),
    ];
    for (what, path, body) in refusals {
        let refused = assert_problem(
            books.post(app, &t, path, body).await,
            422,
            "period_closed",
            what,
        )
        .await;
        assert!(
            refused["detail"]
                .as_str()
                .expect("detail")
                .contains("2026-03-31"),
            "{what}: {refused}"
        );
    }
    let contribution = books
        .post(
            app,
            &books.contributor,
            "/contributions",
            json!({"kind": "time", "date": "2026-03-31", "quantity": "1", "unit": "hour"}),
        )
        .await;
    assert_problem(contribution, 422, "period_closed", "a contribution").await;
    let imported = app
        .client
        .post(app.url(&format!("{}/contributions/imports", books.base)))
        .bearer_auth(&books.contributor)
        .header("Content-Type", "text/csv")
        .body("kind,date,quantity,unit\ntime,2026-04-02,1,hour\ntime,2026-02-02,1,hour\n")
        .send()
        .await
        .expect("request");
    assert_eq!(
        imported.status(),
        422,
        "an import with a row in the closed period"
    );
    let review = books
        .post(
            app,
            &t,
            &format!(
                "/contributions/{}/reviews",
                books.pending["id"].as_str().expect("id")
            ),
            json!({"decision": "approve"}),
        )
        .await;
    assert_problem(review, 422, "period_closed", "a review into value").await;
    let correction = books
        .post(
            app,
            &books.contributor,
            "/contributions",
            json!({"kind": "time", "date": "2026-04-02", "quantity": "6", "unit": "hour",
                "supersedes": books.pending["id"]}),
        )
        .await;
    assert_problem(
        correction,
        422,
        "period_closed",
        "a correction, dated in the open period, of a contribution in the closed one",
    )
    .await;
    assert_eq!(books.ledger(app).await, before, "nothing was written");

    // The open period takes corrections: a reversal is dated today by
    // default, and the reversed expense stays in March's books.
    let reversal = created(
        books
            .post(
                app,
                &t,
                &format!(
                    "/transactions/{}/reversal",
                    books.expense["transaction"].as_str().expect("tx")
                ),
                json!({}),
            )
            .await,
    )
    .await;
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(reversal["effective_date"], today.as_str());
    created(
        books
            .post(
                app,
                &books.contributor,
                "/contributions",
                json!({"kind": "time", "date": "2026-04-01", "quantity": "1", "unit": "hour"}),
            )
            .await,
    )
    .await;
}

async fn a_closing_only_moves_forward_and_only_owners_and_treasurers_close(app: &TestApp) {
    let books = closed_books(app).await;
    let t = books.treasurer.clone();
    for (through, code) in [
        ("2026-03-31", "closing_not_forward"),
        ("2026-02-28", "closing_not_forward"),
    ] {
        assert_problem(
            books
                .post(app, &t, "/closings", json!({"through": through}))
                .await,
            422,
            code,
            through,
        )
        .await;
    }
    let today = chrono::Utc::now().date_naive().to_string();
    assert_problem(
        books
            .post(app, &t, "/closings", json!({"through": today}))
            .await,
        422,
        "closing_not_past",
        "today",
    )
    .await;
    assert_problem(
        books
            .post(
                app,
                &books.contributor,
                "/closings",
                json!({"through": "2026-04-30"}),
            )
            .await,
        403,
        "forbidden",
        "a contributor",
    )
    .await;
    let by_admin = app
        .post(
            &format!("{}/closings", books.base),
            &json!({"through": "2026-04-30"}),
        )
        .await;
    assert!(by_admin.status().is_success(), "the administrator closes");
    let listed = json_of(
        app.send_as(
            Some(&t),
            Method::GET,
            &format!("{}/closings", books.base),
            None,
        )
        .await,
    )
    .await;
    let throughs: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["through"].as_str().expect("through"))
        .collect();
    assert_eq!(throughs, ["2026-03-31", "2026-04-30"]);
    assert_eq!(listed["items"][0]["note"], "Q1 report sent");
}

async fn a_report_of_a_closed_period_never_changes(app: &TestApp) {
    let books = closed_books(app).await;
    let t = books.treasurer.clone();
    let grant = books.grant["id"].as_str().expect("id");
    let download = |path: String| {
        let token = t.clone();
        async move {
            let response = app.send_as(Some(&token), Method::GET, &path, None).await;
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.expect("csv")
        }
    };
    let grant_path = format!(
        "{}/reports/grants/{grant}.csv?from=2026-01-01&to=2026-03-31",
        books.base
    );
    let journal_path = format!(
        "{}/reports/journal.csv?from=2026-01-01&to=2026-03-31",
        books.base
    );
    let (sent, sent_journal) = (
        download(grant_path.clone()).await,
        download(journal_path.clone()).await,
    );
    let expense_transaction = books.expense["transaction"].as_str().expect("tx");
    // A month of activity: the March expense reversed, April expenses (one
    // of them reversed too), a transfer and a contribution.
    let reversal = created(
        books
            .post(
                app,
                &t,
                &format!("/transactions/{expense_transaction}/reversal"),
                json!({}),
            )
            .await,
    )
    .await;
    let reversal_id = reversal["id"].as_str().expect("id").to_owned();
    let mut april = Vec::new();
    for day in ["2026-04-02", "2026-04-20"] {
        let expense = created(
            books
                .post(
                    app,
                    &t,
                    "/expenses",
                    json!({"grant": grant, "amount": "10.00",
            "currency": "EUR", "category": "parts", "supplier": "x", "date": day}),
                )
                .await,
        )
        .await;
        april.push(expense["transaction"].as_str().expect("tx").to_owned());
    }
    created(
        books
            .post(
                app,
                &t,
                &format!("/transactions/{}/reversal", april[0]),
                json!({}),
            )
            .await,
    )
    .await;
    app.create_account(&books.project, "reserve", "EUR", true)
        .await;
    created(
        books
            .post(
                app,
                &t,
                "/transactions",
                json!({"kind": "transfer", "effective_date": "2026-04-10",
            "postings": [{"from": format!("funder:{}", books.funder), "to": "reserve",
            "amount": "5.00", "currency": "EUR"}]}),
            )
            .await,
    )
    .await;
    created(
        books
            .post(
                app,
                &books.contributor,
                "/contributions",
                json!({"kind": "time", "date": "2026-04-03", "quantity": "2", "unit": "hour"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        download(grant_path.clone()).await,
        sent,
        "the grant report of the closed period"
    );
    assert_eq!(
        download(journal_path.clone()).await,
        sent_journal,
        "the journal of the closed period"
    );

    // Asked for, the adjustments after closing follow, apart: the March
    // expense's reversal and nothing else.
    let rows = |text: &str| -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("row").iter().map(str::to_owned).collect())
            .collect()
    };
    let adjusted = download(format!("{grant_path}&adjustments=true")).await;
    assert!(
        adjusted.starts_with(&sent),
        "the report itself is unchanged"
    );
    let added = rows(&adjusted[sent.len()..]);
    let sections: Vec<&str> = added.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        sections,
        [
            "adjustments_after_closing",
            "adjustment",
            "total_adjustments",
            "remaining_after_adjustments"
        ],
        "{added:?}"
    );
    let line = &added[1];
    assert_eq!(
        (line[3].as_str(), line[5].as_str(), line[9].as_str()),
        (reversal_id.as_str(), "parts", "-120.00"),
        "the reversal, as `spent` shows one: {line:?}"
    );
    assert!(
        line[4].contains(expense_transaction) && line[4].starts_with("spent"),
        "{line:?}"
    );
    assert_eq!(added[2][9], "-120.00", "adjustments to spent");
    let remaining = rows(&sent)
        .into_iter()
        .find(|r| r[0] == "remaining")
        .expect("remaining");
    assert_eq!(remaining[9], "880.00");
    assert_eq!(added[3][9], "1000.00", "what remains with the adjustment");

    let adjusted = download(format!("{journal_path}&adjustments=true")).await;
    assert!(
        adjusted.starts_with(&sent_journal),
        "the journal itself is unchanged"
    );
    let added = rows(&adjusted[sent_journal.len()..]);
    let kinds: Vec<&str> = added.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "adjustments_after_closing",
            "reversal",
            "reversal",
            "total_adjustments",
            "total_adjustments"
        ],
        "{added:?}"
    );
    for line in &added[1..3] {
        assert_eq!(line[0], reversal_id);
        assert_eq!(line[12], expense_transaction, "what it reverses");
        assert!(!line[1].is_empty(), "its sequence");
    }
    let totals: Vec<(&str, &str, &str)> = added[3..]
        .iter()
        .map(|r| (r[5].as_str(), r[7].as_str(), r[8].as_str()))
        .collect();
    let pool = totals
        .iter()
        .find(|(account, _, _)| account.starts_with("pool:grant"))
        .expect("the pool's total");
    assert_eq!((pool.1, pool.2), ("120.00", "0.00"));
    assert!(
        totals
            .iter()
            .any(|(_, debit, credit)| (*debit, *credit) == ("0.00", "120.00")),
        "{totals:?}"
    );

    // A contributor with no money in the project: their statement has no
    // account to adjust, and asks for nothing more.
    let statement_path = format!(
        "{}/reports/statements/{}.csv?from=2026-01-01&to=2026-03-31",
        books.base,
        books.pending["agent"].as_str().expect("agent")
    );
    assert_eq!(
        download(format!("{statement_path}&adjustments=true")).await,
        download(statement_path.clone()).await
    );
    for path in [&grant_path, &journal_path, &statement_path] {
        let open_ended = path.replace("&to=2026-03-31", "&adjustments=true");
        assert_problem(
            app.send_as(Some(&t), Method::GET, &open_ended, None).await,
            400,
            "invalid_query",
            "adjustments without `to`",
        )
        .await;
    }
}

async fn the_database_never_reopens_a_closed_period(app: &TestApp) {
    let books = closed_books(app).await;
    let project = books.project.clone();
    let db = app.db.clone();
    let outcomes = tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut pooled = db.connection().expect("connection");
        let conn: &mut commons_ledger::db::DbConnection = &mut pooled;
        let statements = [
            format!("UPDATE projects SET closed_through = NULL WHERE id = '{project}'"),
            format!("UPDATE projects SET closed_through = '2026-01-31' WHERE id = '{project}'"),
            format!("DELETE FROM closings WHERE project_id = '{project}'"),
            format!("UPDATE closings SET through = '2026-01-31' WHERE project_id = '{project}'"),
            format!("INSERT INTO closings (id, project_id, through, note, created_by, created_at)
                SELECT '01900000-0000-7000-8000-00000000000a', project_id, '2026-03-01', '', created_by, created_at
                FROM closings WHERE project_id = '{project}'"),
            format!("UPDATE contributions SET status = 'approved' WHERE project_id = '{project}'"),
        ];
        statements
            .iter()
            .map(|sql| (sql.clone(), diesel::sql_query(sql).execute(conn).is_err()))
            .collect::<Vec<_>>()
    })
    .await
    .expect("task");
    for (sql, refused) in outcomes {
        assert!(refused, "the database refuses: {sql}");
    }
    let shown = json_of(
        app.send_as(Some(&books.treasurer), Method::GET, &books.base, None)
            .await,
    )
    .await;
    assert_eq!(shown["closed_through"], "2026-03-31");
}

async fn a_run_for_a_closed_period_is_executed_in_the_open_one(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    let (_, author) = app.member(&project, "treasurer").await;
    let (_, second) = app.member(&project, "treasurer").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    let mut body = crate::helpers::transfer_body("funder:a", "pool:general", "100.00", "EUR");
    body["effective_date"] = json!("2026-02-01");
    assert_eq!(
        app.post(&format!("{base}/transactions"), &body)
            .await
            .status(),
        201
    );
    let post = |token: &str, path: String, body: Value| {
        let token = token.to_owned();
        async move {
            app.send_as(Some(&token), Method::POST, &path, Some(&body))
                .await
        }
    };
    created(
        post(
            &author,
            format!("{base}/rule-sets"),
            json!({"steps": [{"share": {"type": "percentage",
        "percent": "100", "of": "total"}, "to": {"type": "account", "account": "reserve"}}],
        "residue": {"type": "pool"}}),
        )
        .await,
    )
    .await;
    let run = created(
        post(
            &author,
            format!("{base}/distributions"),
            json!({"rule_set_version": 1,
        "amount": "40.00", "period_from": "2026-03-01", "period_to": "2026-03-31"}),
        )
        .await,
    )
    .await;
    let run_path = format!("{base}/distributions/{}", run["id"].as_str().expect("id"));
    created(post(&second, format!("{run_path}/approvals"), json!({})).await).await;
    created(
        post(
            &author,
            format!("{base}/closings"),
            json!({"through": "2026-03-31"}),
        )
        .await,
    )
    .await;
    let before = app.transaction_count(&project).await;
    let refused = post(
        &author,
        format!("{run_path}/execution"),
        json!({"effective_date": "2026-03-31"}),
    )
    .await;
    assert_problem(
        refused,
        422,
        "period_closed",
        "an execution dated into the closed period",
    )
    .await;
    assert_eq!(app.transaction_count(&project).await, before);
    let executed = created(post(&author, format!("{run_path}/execution"), json!({})).await).await;
    assert_eq!(executed["status"], "executed");
    assert_eq!(
        executed["period_to"], "2026-03-31",
        "the run keeps its contribution period"
    );
    let transaction = json_of(
        app.send_as(
            Some(&author),
            Method::GET,
            &format!(
                "{base}/transactions/{}",
                executed["transaction"].as_str().expect("tx")
            ),
            None,
        )
        .await,
    )
    .await;
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(
        transaction["effective_date"],
        today.as_str(),
        "dated at execution"
    );
}
