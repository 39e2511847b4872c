//! PostgreSQL with two roles (#18 item 6): migrations run as the tables'
//! owner, which grants the service's own role what it needs and no more.
//! The service's role writes the ledger as usual, and is refused when it
//! tries to disable or drop a trigger, TRUNCATE, ALTER or DROP a table, or
//! UPDATE or DELETE a posted transaction.

use diesel::{Connection, PgConnection, RunQueryDsl};

use commons_ledger::db::{Database, DatabaseUrl, DbConnection, StorageError};
use commons_ledger::domain::{
    AccountName, Amount, NewPosting, NewTransaction, TransactionKind, Unit,
};

/// `url` with its user and database replaced.
fn with(url: &str, user: Option<&str>, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let rest = &base[scheme_end..];
    let (credentials, host) = rest
        .split_once('@')
        .map_or((None, rest), |(c, h)| (Some(c), h));
    let host = host.split('/').next().unwrap_or(host);
    let user = user
        .map(str::to_owned)
        .or_else(|| credentials.map(str::to_owned));
    let mut out = format!(
        "{}{}{host}/{database}",
        &base[..scheme_end],
        user.map(|u| format!("{u}@")).unwrap_or_default()
    );
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
)]
async fn the_services_role_cannot_rewrite_history() {
    let admin_url = std::env::var("COMMONS_LEDGER_TEST_POSTGRES_URL").expect("PostgreSQL URL");
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let (database, role) = (format!("cl_roles_{suffix}"), format!("cl_runtime_{suffix}"));
    let mut admin = PgConnection::establish(&admin_url).expect("connect");
    diesel::sql_query(format!("CREATE DATABASE \"{database}\""))
        .execute(&mut admin)
        .expect("database");
    diesel::sql_query(format!("CREATE ROLE \"{role}\" LOGIN"))
        .execute(&mut admin)
        .expect("role");
    let owner_url = with(&admin_url, None, &database);
    let runtime_url = with(&admin_url, Some(&role), &database);

    let outcome = tokio::task::spawn_blocking(move || {
        let db =
            Database::connect(&DatabaseUrl::parse(&runtime_url).expect("url"), 2).expect("runtime");
        commons_ledger::db::migrate_for(&db, Some(&owner_url)).expect("migrated as the owner");
        assert!(
            !db.owns_the_tables().expect("owner"),
            "the service's role owns nothing"
        );
        // The service works as usual: a project, accounts, a posting.
        let project = uuid::Uuid::now_v7().to_string();
        let eur = Unit::lookup("EUR").expect("EUR");
        db.write(|conn: &mut DbConnection| -> Result<(), StorageError> {
            commons_ledger::db::projects::insert(conn, &project, "Roles", &eur, false)?;
            let poster = commons_ledger::db::agents::insert(
                conn,
                &commons_ledger::db::agents::NewAgent {
                    kind: "person",
                    name: "Treasurer",
                    email: None,
                    password_hash: None,
                    is_admin: false,
                    created_by: None,
                },
            )?;
            for (name, floor) in [("funder:a", false), ("pool:general", true)] {
                let name = AccountName::parse(name).expect("name");
                commons_ledger::db::accounts::ensure(conn, &project, &name, "EUR", floor)?;
            }
            let transfer = NewTransaction {
                kind: TransactionKind::Transfer,
                effective_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
                description: "as the service".to_owned(),
                metadata: "{}".to_owned(),
                postings: vec![NewPosting {
                    from: AccountName::parse("funder:a").expect("name"),
                    to: AccountName::parse("pool:general").expect("name"),
                    amount: Amount::parse("10.00", &eur).expect("amount"),
                    unit: "EUR".to_owned(),
                }],
            };
            commons_ledger::db::transactions::post(conn, (&project, &poster.id), &transfer, None)
                .map_err(|e| StorageError::Corrupt(format!("{e:?}")))?;
            Ok(())
        })
        .expect("the service's role posts");
        let mut runtime = PgConnection::establish(&runtime_url).expect("connect as the service");
        let refused: Vec<(&str, bool)> = [
            "ALTER TABLE transactions DISABLE TRIGGER transactions_are_append_only",
            "DROP TRIGGER transactions_are_append_only ON transactions",
            "TRUNCATE postings",
            "TRUNCATE transactions CASCADE",
            "DELETE FROM postings",
            "UPDATE transactions SET description = 'rewritten'",
            "UPDATE postings SET amount = amount + 1",
            "DROP TABLE postings CASCADE",
            "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_non_negative_check",
            "CREATE TABLE shadow (id TEXT)",
        ]
        .into_iter()
        .map(|sql| (sql, diesel::sql_query(sql).execute(&mut runtime).is_err()))
        .collect();
        refused
    })
    .await;
    let _ = diesel::sql_query(format!(
        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
    ))
    .execute(&mut admin);
    let _ = diesel::sql_query(format!("DROP ROLE IF EXISTS \"{role}\"")).execute(&mut admin);
    for (sql, refused) in outcome.expect("task") {
        assert!(refused, "the service's role is refused: {sql}");
    }
}
