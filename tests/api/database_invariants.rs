//! The database refuses, on its own, raw writes that break a ledger invariant:
//! the constraints and triggers pair every rule the domain checks.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use commons_ledger::db::DbConnection;

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(raw_sql_breaking_an_invariant_is_refused);

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    last_sequence: i64,
    #[diesel(sql_type = Text)]
    last_hash: String,
}

#[derive(QueryableByName)]
struct AccountId {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    balance: i64,
}

/// `project`'s chain head, and its accounts' ids and balances by name, as
/// raw SQL reads them.
fn head_and_accounts(
    conn: &mut DbConnection,
    project: &str,
) -> (Head, impl Fn(&str) -> (String, i64) + use<>) {
    let head: Head =
        diesel::sql_query("SELECT last_sequence, last_hash FROM projects WHERE id = $1")
            .bind::<Text, _>(project)
            .get_result(conn)
            .expect("head");
    let ids: Vec<AccountId> =
        diesel::sql_query("SELECT id, name, balance FROM accounts WHERE project_id = $1")
            .bind::<Text, _>(project)
            .load(conn)
            .expect("accounts");
    let account = move |name: &str| {
        ids.iter()
            .find(|a| a.name == name)
            .map(|a| (a.id.clone(), a.balance))
            .expect("account")
    };
    (head, account)
}

/// Runs `sql` in a transaction that is always rolled back and returns the
/// database's error message; panics if the database accepted it.
fn refused(conn: &mut DbConnection, sql: &str, rule: &str) -> String {
    let mut outcome = None;
    let _ = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        outcome = Some(conn.batch_execute(sql));
        Err(diesel::result::Error::RollbackTransaction)
    });
    match outcome {
        Some(Err(error)) => error.to_string().to_lowercase(),
        other => panic!("{rule}: the database accepted it ({other:?})"),
    }
}

async fn raw_sql_breaking_an_invariant_is_refused(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "pool:usd", "USD", true).await;
    let funding = json_of(
        app.transfer(&project, "funder:a", "pool:general", "100.00", "EUR")
            .await,
    )
    .await;
    let funding_id = funding["id"].as_str().expect("id").to_owned();
    // A later transaction, so that the funding one is history.
    assert_eq!(
        app.transfer(&project, "funder:a", "pool:general", "1.00", "EUR")
            .await
            .status(),
        201
    );
    let project_for_check = project.clone();
    // Another project, whose accounts a posting may not join to this
    // project's transaction.
    let other = app.create_project("EUR").await;
    app.create_account(&other, "funder:b", "EUR", false).await;
    app.create_account(&other, "pool:general", "EUR", true)
        .await;

    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let (_, other_account) = head_and_accounts(conn, &other);
        let ((other_funder, _), (other_pool, _)) = (other_account("funder:b"), other_account("pool:general"));
        let (head, account) = head_and_accounts(conn, &project);
        let ((funder, f), (pool, p), (usd, _)) = (account("funder:a"), account("pool:general"), account("pool:usd"));
        assert_eq!((f, p), (-10_100, 10_100));
        let next = head.last_sequence + 1;
        let new_tx = |id: &str, kind: &str, reverses: &str| {
            format!(
                "INSERT INTO transactions (id, project_id, sequence, kind, effective_date, recorded_at, description, metadata, reverses_id, previous_hash, hash) \
                 VALUES ('{id}', '{project}', {next}, '{kind}', '2026-03-01', '2026-03-01 10:00:00', '', '{{}}', {reverses}, '{}', '{}');",
                head.last_hash,
                "f".repeat(64)
            )
        };
        let tx_id = "01900000-0000-7000-8000-00000000000a";
        let posting = |from: &str, to: &str, amount: i64, currency: &str, from_after: i64, to_after: i64| {
            format!(
                "INSERT INTO postings (transaction_id, project_id, position, from_account_id, to_account_id, amount, currency, from_balance_after, to_balance_after) \
                 VALUES ('{tx_id}', '{project}', 0, '{from}', '{to}', {amount}, '{currency}', {from_after}, {to_after});"
            )
        };
        let with_tx = |sql: String| format!("{}{sql}", new_tx(tx_id, "transfer", "NULL"));

        // The control: a correct raw posting is accepted, so the refusals
        // below are about the rule each one breaks.
        let mut accepted = None;
        let _ = conn.transaction::<(), diesel::result::Error, _>(|c| {
            accepted = Some(c.batch_execute(&with_tx(posting(&pool, &funder, 1_000, "EUR", p - 1_000, f + 1_000))));
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(matches!(accepted, Some(Ok(()))), "a valid raw posting is accepted: {accepted:?}");

        let mut cases: Vec<(String, &str)> = vec![
            (posting(&funder, &pool, 5, "EUR", f - 5, p + 5), "a posting's transaction exists"),
            (
                with_tx(
                    posting(&other_funder, &other_pool, 5, "EUR", -5, 5).replace(&format!("'{project}'"), &format!("'{other}'")),
                ),
                "a posting's transaction is of the posting's project",
            ),
            ("UPDATE postings SET amount = amount + 1".to_owned(), "invariant 5: postings are never updated"),
            ("DELETE FROM postings".to_owned(), "invariant 5: postings are never deleted"),
            ("UPDATE transactions SET description = 'edited'".to_owned(), "invariant 5: transactions are never updated"),
            ("DELETE FROM transactions".to_owned(), "invariant 5: transactions are never deleted"),
            (format!("UPDATE accounts SET balance = balance + 1 WHERE id = '{funder}'"), "invariant 3: balances move only by postings"),
            (with_tx(posting(&pool, &funder, p + 1, "EUR", -1, f + p + 1)), "invariant 4: a non-negative pool never goes below zero"),
            (with_tx(posting(&funder, &usd, 100, "EUR", f - 100, 100)), "a posting's unit is both accounts' unit"),
            (with_tx(posting(&funder, &usd, 100, "USD", f - 100, 100)), "a posting's unit is both accounts' unit (other side)"),
            (with_tx(posting(&funder, &pool, 0, "EUR", f, p)), "amounts are positive"),
            (with_tx(posting(&funder, &funder, 5, "EUR", f, f)), "a posting moves between two accounts"),
            (with_tx(posting(&funder, &pool, 5, "EUR", f - 5, p + 99)), "invariant 3: running balances match the accounts"),
            (
                format!(
                    "INSERT INTO postings (transaction_id, project_id, position, from_account_id, to_account_id, amount, currency, from_balance_after, to_balance_after) \
                     VALUES ('{funding_id}', '{project}', 1, '{funder}', '{pool}', 5, 'EUR', {}, {})",
                    f - 5,
                    p + 5
                ),
                "history is closed: no posting joins an old transaction",
            ),
            (new_tx(tx_id, "transfer", "NULL").replace(&format!(", {next}, "), ", 99, "), "the hash chain has no gaps"),
            (
                format!(
                    "{}{}",
                    new_tx(tx_id, "reversal", &format!("'{funding_id}'")),
                    new_tx("01900000-0000-7000-8000-00000000000b", "reversal", &format!("'{funding_id}'"))
                        .replace(&format!(", {next}, "), &format!(", {}, ", next + 1))
                        .replace(&head.last_hash, &"f".repeat(64))
                ),
                "invariant 5: a transaction is reversed at most once",
            ),
            ("UPDATE units SET scale = 3 WHERE code = 'EUR'".to_owned(), "a unit's scale never changes"),
            ("DELETE FROM accounts".to_owned(), "accounts are never deleted"),
            (
                format!(
                    "INSERT INTO accounts (id, project_id, name, currency, non_negative, balance, created_at) \
                     VALUES ('01900000-0000-7000-8000-00000000000c', '{project}', 'sneaky', 'EUR', 0, 500, '2026-03-01 10:00:00')"
                ),
                "invariant 2: an account opens empty, so balances keep summing to zero",
            ),
            ("UPDATE projects SET last_sequence = last_sequence + 1".to_owned(), "the chain head moves only by posting"),
            (format!("UPDATE projects SET last_hash = '{}'", "0".repeat(64)), "the chain head cannot be rewound"),
            ("DELETE FROM projects".to_owned(), "projects are never deleted"),
        ];
        if matches!(conn, DbConnection::Postgresql(_)) {
            cases.push(("TRUNCATE transactions CASCADE".to_owned(), "invariant 5: transactions are never truncated"));
        }
        for (sql, rule) in cases {
            let message = refused(conn, &sql, rule);
            assert!(!message.is_empty(), "{rule}");
        }
    })
    .await
    .expect("blocking task");

    let balances = app.balances(&project_for_check).await;
    assert_eq!(
        balances["pool:general"], "101.00",
        "nothing of the refused writes remains"
    );
    assert_eq!(balances["funder:a"], "-101.00");
}

/// PostgreSQL inserts a transaction's rows in one round trip, by the
/// function `insert_transaction`: through it the triggers refuse what they
/// refuse of the statements sent one by one, and a refusal leaves nothing.
mod the_one_round_trip_insert_is_checked_like_its_statements {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
    )]
    async fn postgres() {
        let app = crate::helpers::spawn_app(crate::helpers::Backend::Postgres)
            .await
            .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
        super::the_one_round_trip_insert_is_checked_like_its_statements(&app).await;
    }
}

async fn the_one_round_trip_insert_is_checked_like_its_statements(app: &TestApp) {
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
    let project_for_check = project.clone();
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let (head, account) = head_and_accounts(conn, &project);
        let ((funder, f), (pool, p)) = (account("funder:a"), account("pool:general"));
        let next = head.last_sequence + 1;
        // One transaction of the given postings (from, to, amount, from's
        // balance after, to's balance after), as the service sends it.
        let call = |postings: &[(&str, &str, i64, i64, i64)], currencies: usize| {
            let texts = |pick: fn(&(&str, &str, i64, i64, i64)) -> String| {
                postings.iter().map(|p| format!("'{}'", pick(p))).collect::<Vec<_>>().join(",")
            };
            let numbers = |pick: fn(&(&str, &str, i64, i64, i64)) -> i64| {
                postings.iter().map(|p| pick(p).to_string()).collect::<Vec<_>>().join(",")
            };
            format!(
                "SELECT insert_transaction('01900000-0000-7000-8000-00000000000d', '{project}', {next}, 'transfer',                  '2026-03-01', '2026-03-01 10:00:00', '', '{{}}', NULL, '{}', '{}', NULL,                  ARRAY[{}]::text[], ARRAY[{}]::text[], ARRAY[{}]::bigint[], ARRAY[{}]::text[], ARRAY[{}]::bigint[], ARRAY[{}]::bigint[]);",
                head.last_hash,
                "f".repeat(64),
                texts(|p| p.0.to_owned()),
                texts(|p| p.1.to_owned()),
                numbers(|p| p.2),
                vec!["'EUR'"; currencies].join(","),
                numbers(|p| p.3),
                numbers(|p| p.4),
            )
        };
        // The control: two correct postings are accepted, so the refusals
        // below are about the rule each one breaks.
        let mut accepted = None;
        let _ = conn.transaction::<(), diesel::result::Error, _>(|c| {
            accepted = Some(c.batch_execute(&call(
                &[(&pool, &funder, 1_000, p - 1_000, f + 1_000), (&funder, &pool, 400, f + 600, p - 600)],
                2,
            )));
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(matches!(accepted, Some(Ok(()))), "a valid call is accepted: {accepted:?}");
        let cases: Vec<(String, &str)> = vec![
            (
                call(&[(&pool, &funder, 1_000, p - 1_000, f + 1_000), (&funder, &pool, 400, f + 600, p - 599)], 2),
                "invariant 3: the second posting's running balances match the accounts",
            ),
            (call(&[(&pool, &funder, p + 1, -1, f + p + 1)], 1), "invariant 4: a non-negative pool never goes below zero"),
            (
                call(&[(&pool, &funder, p + 500, -500, f + p + 500), (&funder, &pool, 1_000, f + p - 500, 500)], 2),
                "invariant 4: a non-negative pool is not below zero even between two postings that end above it",
            ),
            (call(&[(&funder, &pool, 0, f, p)], 1), "amounts are positive"),
            (call(&[(&funder, &pool, 5, f - 5, p + 5)], 2), "every posting column has one value a posting"),
        ];
        for (sql, rule) in cases {
            let message = refused(conn, &sql, rule);
            assert!(!message.is_empty(), "{rule}");
        }
    })
    .await
    .expect("blocking task");
    let balances = app.balances(&project_for_check).await;
    assert_eq!(
        balances["pool:general"], "100.00",
        "nothing of the refused calls remains"
    );
    assert_eq!(balances["funder:a"], "-100.00");
}

on_both_backends!(valuations_reviews_and_fund_records_are_append_only);

async fn valuations_reviews_and_fund_records_are_append_only(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let rate = serde_json::json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
                                  "per": "hour", "method": "replacement_cost", "source": "test"});
    assert_eq!(
        app.post(&format!("/v1/projects/{project}/rates"), &rate)
            .await
            .status(),
        201
    );
    let work =
        serde_json::json!({"kind": "time", "date": "2026-03-02", "quantity": "2", "unit": "hour"});
    let contribution = json_of(
        app.post(&format!("/v1/projects/{project}/contributions"), &work)
            .await,
    )
    .await;
    let id = contribution["id"].as_str().expect("id").to_owned();
    let review = app
        .send_as(
            Some(&treasurer),
            reqwest::Method::POST,
            &format!("/v1/projects/{project}/contributions/{id}/reviews"),
            Some(&serde_json::json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(review.status(), 201);
    let pending = json_of(
        app.post(&format!("/v1/projects/{project}/contributions"), &work)
            .await,
    )
    .await;
    let pending = pending["id"].as_str().expect("id").to_owned();
    let grant = serde_json::json!({"funder": app.admin_id, "kind": "donation", "reference": "D-1", "amount": "10.00", "currency": "EUR", "received_on": "2026-02-01"});
    assert_eq!(
        app.post(&format!("/v1/projects/{project}/grants"), &grant)
            .await
            .status(),
        201
    );

    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let cases = [
            (
                "UPDATE rates SET rate = 1".to_owned(),
                "rates are never edited",
            ),
            ("DELETE FROM rates".to_owned(), "rates are never deleted"),
            (
                format!("UPDATE contributions SET value = 1 WHERE id = '{id}'"),
                "a value is computed once",
            ),
            (
                format!("UPDATE contributions SET status = 'pending' WHERE id = '{id}'"),
                "a decision is final",
            ),
            (
                format!("UPDATE contributions SET equipment = 'x' WHERE id = '{id}'"),
                "contributions are never edited",
            ),
            (
                format!(
                    "UPDATE contributions SET status = 'approved', seq = seq + 1000000 \
                     WHERE id = '{pending}'"
                ),
                "a contribution's number never changes, not even with its decision",
            ),
            (
                "DELETE FROM contributions".to_owned(),
                "contributions are never deleted",
            ),
            (
                format!(
                    "INSERT INTO distribution_selected (selection_seq, contribution_seq) \
                     SELECT 9000000000, seq FROM contributions WHERE id = '{id}'"
                ),
                "a selection's rows name a selection that exists",
            ),
            (
                "UPDATE reviews SET decision = 'reject'".to_owned(),
                "reviews are never edited",
            ),
            (
                "DELETE FROM reviews".to_owned(),
                "reviews are never deleted",
            ),
            (
                "UPDATE grants SET amount = 1".to_owned(),
                "grants are never edited",
            ),
            ("DELETE FROM grants".to_owned(), "grants are never deleted"),
        ];
        let mut cases = cases.to_vec();
        if matches!(conn, DbConnection::Postgresql(_)) {
            // An identity column takes DEFAULT, a new number, in an update.
            cases.push((
                format!(
                    "UPDATE contributions SET status = 'approved', seq = DEFAULT \
                     WHERE id = '{pending}'"
                ),
                "a contribution's number never changes",
            ));
        }
        for (sql, rule) in cases {
            refused(conn, &sql, rule);
        }
    })
    .await
    .expect("blocking task");
}

on_both_backends!(rule_sets_and_runs_only_move_forward);

async fn rule_sets_and_runs_only_move_forward(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    app.create_account(&project, "reserve", "EUR", true).await;
    assert_eq!(
        app.transfer(&project, "funder:a", "pool:general", "100.00", "EUR")
            .await
            .status(),
        201
    );
    let rules = serde_json::json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
        "to": {"type": "account", "account": "reserve"}}], "residue": {"type": "pool"}});
    assert_eq!(
        app.post(&format!("/v1/projects/{project}/rule-sets"), &rules)
            .await
            .status(),
        201
    );
    let draft = serde_json::json!({"rule_set_version": 1, "amount": "10.00", "period_from": "2026-03-01", "period_to": "2026-03-31"});
    let run = json_of(
        app.post(&format!("/v1/projects/{project}/distributions"), &draft)
            .await,
    )
    .await;
    let id = run["id"].as_str().expect("id").to_owned();
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let cases = [
            (
                "UPDATE rule_sets SET definition = '{}'".to_owned(),
                "rule sets are never edited",
            ),
            (
                "DELETE FROM rule_sets".to_owned(),
                "rule sets are never deleted",
            ),
            (
                format!("UPDATE distributions SET amount = 1 WHERE id = '{id}'"),
                "a run's lines never change",
            ),
            (
                format!("UPDATE distributions SET status = 'executed' WHERE id = '{id}'"),
                "a draft is not executed without approval and a transaction",
            ),
            (
                "DELETE FROM distributions".to_owned(),
                "runs are never deleted",
            ),
            (
                format!(
                    "INSERT INTO distribution_contributions (distribution_id, contribution_id) \
                     VALUES ('{id}', '01900000-0000-7000-8000-0000000000cc')"
                ),
                "a run's selection names contributions that exist",
            ),
            (
                format!(
                    "INSERT INTO distribution_selected (selection_seq, contribution_seq) \
                     SELECT seq, 9000000000 FROM distribution_selections \
                     WHERE distribution_id = '{id}'"
                ),
                "a run's selection names contributions that exist, by number",
            ),
            (
                format!("INSERT INTO distribution_selections (distribution_id) VALUES ('{id}')"),
                "a run has one selection",
            ),
        ];
        let mut cases = cases.to_vec();
        if matches!(conn, DbConnection::Postgresql(_)) {
            // There a selection's numbers are an array in its row.
            cases.push((
                format!(
                    "UPDATE distribution_selections SET contribution_seqs = '{{}}' \
                     WHERE distribution_id = '{id}'"
                ),
                "a run's selection is never changed",
            ));
            for table in [
                "contributions",
                "distributions",
                "distribution_contributions",
                "distribution_selections",
                "distribution_selected",
            ] {
                cases.push((
                    format!("TRUNCATE {table} CASCADE"),
                    "contributions, runs and their selections are never truncated",
                ));
            }
        }
        for (sql, rule) in cases {
            refused(conn, &sql, rule);
        }
        // A draft writes its selection before its run's row on PostgreSQL,
        // so the key to the run is checked at commit there: a selection
        // naming no run is refused then (SQLite refuses the statement).
        let committed = conn.transaction::<(), diesel::result::Error, _>(|conn| {
            conn.batch_execute(
                "INSERT INTO distribution_selections (distribution_id) \
                 VALUES ('01900000-0000-7000-8000-0000000000dd')",
            )
        });
        let refusal = committed
            .expect_err("a selection naming no run never commits")
            .to_string()
            .to_lowercase();
        assert!(refusal.contains("foreign key"), "{refusal}");
    })
    .await
    .expect("blocking task");
}
