//! The SQL statements one write costs, counted by the database pool's
//! instrumentation (`commons_ledger_db_statements_total` in `/metrics`):
//! asserted exactly, so that a change that adds a statement to every
//! transfer is seen, and its number recorded in docs/benchmarks.md.

use commons_ledger::db::Backend;

use crate::helpers::{TestApp, transfer_body};
use crate::on_both_backends;

on_both_backends!(a_transfer_runs_a_known_number_of_statements);

/// Statements of one `POST .../transactions` transfer between two existing
/// accounts, with an `Idempotency-Key`, by a project owner, once the units
/// it uses are in the instance's cache, alone in its transaction: on SQLite
/// and on PostgreSQL (14 before a write alone in its transaction ran
/// without a savepoint; 15 before the audit event read its log's head and
/// the transactions it names in one statement; 17 on PostgreSQL before
/// `BEGIN` carried the batch's mark and `COMMIT` its check, each in one
/// round trip). Counted as calls to the database: statements sent together
/// in one call count once.
const TRANSFER_STATEMENTS: (u64, u64) = (12, 12);

async fn a_transfer_runs_a_known_number_of_statements(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let statements = app.db.statements();
    let mut counted = Vec::new();
    let path = format!("/v1/projects/{project}/transactions");
    let body = transfer_body("funder:a", "pool:general", "1.00", "EUR");
    // The first transfer finds EUR missing from the cache: it reads the
    // units in its transaction and refills the cache apart.
    let first = app.post_with_key(&path, "transfer-first", &body).await;
    assert_eq!(first.status(), 201);
    for attempt in 0..3 {
        let before = statements.get();
        let response = app
            .post_with_key(&path, &format!("transfer-{attempt}"), &body)
            .await;
        assert_eq!(response.status(), 201);
        counted.push(statements.get() - before);
    }
    let expected = match app.db.backend() {
        Backend::Sqlite => TRANSFER_STATEMENTS.0,
        Backend::Postgres => TRANSFER_STATEMENTS.1,
    };
    assert_eq!(
        counted, [expected; 3],
        "statements of three transfers in a row"
    );
}

on_both_backends!(a_value_account_read_runs_a_known_number_of_statements);

/// Statements of one `GET .../members/{agent}/value-account` by a
/// contributor reading their own, on SQLite and on PostgreSQL: the caller
/// with the project, the contributions, the contributor's account (its
/// running totals: one row however long its history) and the claims; on
/// SQLite inside a read transaction (`BEGIN` and `COMMIT`: one WAL
/// snapshot), on PostgreSQL each statement alone after the pool's check of
/// the connection at check-out (`SELECT 1`), as a READ COMMITTED transaction
/// would see them without its `BEGIN` and `COMMIT` (7 before). The units
/// come from the instance's cache, and one's own agent is not looked up
/// again (8 and 9 before that). An owner reading another member's runs one
/// more, the agent's. Their number does not grow with the ledger; what the
/// contributions' and the claims' statements read grows with the member's
/// own contributions and claims, not with the postings.
const VALUE_ACCOUNT_STATEMENTS: (u64, u64) = (6, 5);

async fn a_value_account_read_runs_a_known_number_of_statements(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (agent, token) = app.member(&project, "contributor").await;
    let path = format!("/v1/projects/{project}/members/{agent}/value-account");
    let statements = app.db.statements();
    let mut counted = Vec::new();
    for _ in 0..3 {
        let before = statements.get();
        let response = app
            .send_as(Some(&token), reqwest::Method::GET, &path, None)
            .await;
        assert_eq!(response.status(), 200);
        counted.push(statements.get() - before);
    }
    let expected = match app.db.backend() {
        Backend::Sqlite => VALUE_ACCOUNT_STATEMENTS.0,
        Backend::Postgres => VALUE_ACCOUNT_STATEMENTS.1,
    };
    assert_eq!(counted, [expected; 3], "statements of three reads in a row");
    let before = statements.get();
    assert_eq!(app.get(&path).await.status(), 200, "the owner reads it");
    assert_eq!(
        statements.get() - before,
        expected + 1,
        "another member's value account: their agent is looked up"
    );
}
