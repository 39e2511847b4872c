use serde_json::json;

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    accounts_are_created_and_read,
    invalid_accounts_are_refused,
    thousands_of_accounts_opened_in_one_transaction_are_locked_and_posted_to
);

async fn accounts_are_created_and_read(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let response = app
        .post(
            &format!("/v1/projects/{project}/accounts"),
            &json!({"name": "pool:grant:FH-2026-017", "currency": "EUR", "non_negative": true}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let account = json_of(response).await;
    assert_eq!(
        account["balance"], "0.00",
        "a new account is empty, at the unit's scale"
    );
    assert_eq!(account["non_negative"], true);
    app.create_account(&project, "hours:alice", "HOUR", false)
        .await;

    let one = json_of(
        app.get(&format!(
            "/v1/projects/{project}/accounts/pool:grant:FH-2026-017"
        ))
        .await,
    )
    .await;
    assert_eq!(one["id"], account["id"]);
    let listed = json_of(
        app.get(&format!("/v1/projects/{project}/accounts?currency=HOUR"))
            .await,
    )
    .await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["hours:alice"], "filtered by unit");
    assert_problem(
        app.get(&format!("/v1/projects/{project}/accounts/nope"))
            .await,
        404,
        "account_not_found",
        "unknown account",
    )
    .await;
}

async fn invalid_accounts_are_refused(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let path = format!("/v1/projects/{project}/accounts");
    let cases = [
        (
            json!({"name": "pool:general", "currency": "EUR"}),
            409,
            "account_exists",
            "names are unique per project",
        ),
        (
            json!({"name": "pool::general", "currency": "EUR"}),
            422,
            "invalid_account_name",
            "empty segment",
        ),
        (
            json!({"name": "pool general", "currency": "EUR"}),
            422,
            "invalid_account_name",
            "space in a name",
        ),
        (
            json!({"name": "pool:usd", "currency": "usd"}),
            422,
            "unknown_currency",
            "codes are upper case",
        ),
        (
            json!({"name": "pool:x", "currency": "EUR", "non_negative": "yes"}),
            422,
            "invalid_body",
            "flag must be a boolean",
        ),
    ];
    for (body, status, code, rule) in cases {
        assert_problem(app.post(&path, &body).await, status, code, rule).await;
    }
    let unknown = "/v1/projects/01900000-0000-7000-8000-000000000000/accounts";
    assert_problem(
        app.post(unknown, &json!({"name": "a", "currency": "EUR"}))
            .await,
        404,
        "project_not_found",
        "unknown project",
    )
    .await;
    let listed = json_of(app.get(&path).await).await;
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        1,
        "only the first account exists"
    );
}

/// A distribution's execution opens thousands of contributors' accounts in
/// one transaction, inside a savepoint, then locks and reads them (on
/// PostgreSQL its cached plans are made again once they are open): every
/// account is there, in the order asked, the same connection goes on to
/// serve, and the accounts take postings.
async fn thousands_of_accounts_opened_in_one_transaction_are_locked_and_posted_to(app: &TestApp) {
    use commons_ledger::db::{DbConnection, accounts};
    use commons_ledger::domain::AccountName;
    use diesel::Connection;

    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    let db = app.db.clone();
    let id = project.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let names: Vec<AccountName> = (0..2_500)
            .map(|i| AccountName::parse(&format!("contributor:{i:04}")).expect("name"))
            .collect();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            conn.transaction(|conn| {
                let rows = accounts::ensure_all(conn, &id, &names, "EUR", false)?;
                let opened: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
                let asked: Vec<&str> = names.iter().map(AccountName::as_str).collect();
                assert_eq!(opened, asked, "every account, in the order asked");
                let locked = accounts::lock_and_load(conn, &id, &names, None)?;
                assert_eq!(locked.len(), names.len(), "every account locked and read");
                Ok(())
            })
        })
        .expect("opened in one transaction");
        let last = accounts::find(conn, &id, "contributor:2499")
            .expect("read on the same connection")
            .expect("committed");
        assert_eq!(last.balance, 0);
        let under = accounts::under(conn, &id, "contributor").expect("read");
        assert_eq!(under.len(), names.len(), "nothing opened twice");
    })
    .await
    .expect("blocking task");
    for name in ["contributor:0000", "contributor:1234", "contributor:2499"] {
        assert_eq!(
            app.transfer(&project, "funder:a", name, "1.00", "EUR")
                .await
                .status(),
            201,
            "{name} takes a posting"
        );
    }
    let one = json_of(
        app.get(&format!("/v1/projects/{project}/accounts/contributor:1234"))
            .await,
    )
    .await;
    assert_eq!(one["balance"], "1.00");
}
