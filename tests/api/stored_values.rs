//! Storage that holds a value the service never writes (an unknown policy, role
//! or kind) is answered with a logged 500, never read as a default: a
//! corrupted row must not quietly widen what a project accepts or who may act.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use commons_ledger::db::DbConnection;

use crate::helpers::{TestApp, assert_problem};
use crate::on_both_backends;

on_both_backends!(an_unknown_stored_value_is_an_error_not_a_default);

/// Writes `value` into `table.column` of the row whose `key` is `id`, past
/// the database's own CHECK constraint (dropped on PostgreSQL, ignored on
/// SQLite), as a bad restore or a hand edit would.
async fn corrupt(
    app: &TestApp,
    table: &'static str,
    column: &'static str,
    key: &'static str,
    id: &str,
    value: &'static str,
) {
    let db = app.db.clone();
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut pooled = db.connection().expect("connection");
        let conn: &mut DbConnection = &mut pooled;
        let past_the_check = match conn {
            DbConnection::Sqlite(_) => "PRAGMA ignore_check_constraints = ON".to_owned(),
            DbConnection::Postgresql(_) => {
                format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_check")
            }
        };
        conn.batch_execute(&past_the_check).expect("past the CHECK");
        let changed = diesel::sql_query(format!(
            "UPDATE {table} SET {column} = '{value}' WHERE {key} = $1"
        ))
        .bind::<Text, _>(&id)
        .execute(conn)
        .expect("raw update");
        assert_eq!(changed, 1, "one row of {table} corrupted");
        if let DbConnection::Sqlite(_) = conn {
            conn.batch_execute("PRAGMA ignore_check_constraints = OFF")
                .expect("checks back on");
        }
    })
    .await
    .expect("blocking task");
}

async fn an_unknown_stored_value_is_an_error_not_a_default(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (member, _) = app.member(&project, "treasurer").await;

    corrupt(app, "memberships", "role", "agent_id", &member, "king").await;
    assert_problem(
        app.get(&format!("/v1/projects/{project}/members")).await,
        500,
        "internal_error",
        "a role the service never writes is not read as a contributor",
    )
    .await;

    corrupt(app, "memberships", "role", "agent_id", &member, "treasurer").await;
    corrupt(app, "agents", "kind", "id", &member, "robot").await;
    assert_problem(
        app.get(&format!("/v1/agents/{member}")).await,
        500,
        "internal_error",
        "an agent kind the service never writes is not read as a person",
    )
    .await;
    corrupt(app, "agents", "kind", "id", &member, "person").await;
    corrupt(app, "agents", "is_admin", "id", &member, "7").await;
    assert_problem(
        app.get(&format!("/v1/agents/{member}")).await,
        500,
        "internal_error",
        "a flag the service never writes is not read as true or false",
    )
    .await;

    corrupt(app, "projects", "licence_policy", "id", &project, "maybe").await;
    assert_problem(
        app.get(&format!("/v1/projects/{project}")).await,
        500,
        "internal_error",
        "a licence policy the service never writes is not read as `any`",
    )
    .await;
}
