//! Accounts of a project's ledger and their running balances.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{accounts, units};
use crate::domain::{AccountName, AccountState, Balances};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub currency: String,
    #[diesel(deserialize_as = super::StoredFlag)]
    pub non_negative: bool,
    pub balance: i64,
    pub created_at: NaiveDateTime,
    /// Net money into the account by distributions (running total, kept
    /// by the posting path like the balance).
    pub distributions_earned: i64,
    /// Net money out of the account by payouts (running total).
    pub payouts_received: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
struct NewAccountRow<'a> {
    id: &'a str,
    project_id: &'a str,
    name: &'a str,
    currency: &'a str,
    non_negative: i32,
    balance: i64,
    created_at: NaiveDateTime,
}

/// Inserts an account with a zero balance. A duplicate name is reported by
/// the database as a unique violation.
pub fn insert(
    conn: &mut DbConnection,
    project_id: &str,
    name: &AccountName,
    currency: &str,
    non_negative: bool,
) -> QueryResult<AccountRow> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(accounts::table)
        .values(NewAccountRow {
            id: &id,
            project_id,
            name: name.as_str(),
            currency,
            non_negative: i32::from(non_negative),
            balance: 0,
            created_at: super::now(),
        })
        .execute(conn)?;
    accounts::table
        .find(&id)
        .select(AccountRow::as_select())
        .first(conn)
}

project_row!(find, accounts, AccountRow, name);

/// The accounts whose names continue `prefix` with one more segment
/// (`<prefix>:<segment>`), by name: a grant's pools in other currencies.
pub fn under(
    conn: &mut DbConnection,
    project_id: &str,
    prefix: &str,
) -> QueryResult<Vec<AccountRow>> {
    let start = format!("{prefix}:");
    // A LIKE on the escaped prefix, not a range of names: a range depends
    // on the database's collation, which need not sort bytewise.
    let pattern = format!("{}%", super::escape_like(&start));
    let rows: Vec<AccountRow> = accounts::table
        .filter(accounts::project_id.eq(project_id))
        .filter(accounts::name.like(pattern).escape('\\'))
        .select(AccountRow::as_select())
        .order(accounts::name)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| row.name.starts_with(&start))
        .filter(|row| row.name[start.len()..].split(':').count() == 1)
        .collect())
}

project_page!(
    /// Accounts ordered by name, after `after` if given, optionally of one unit.
    list,
    accounts,
    AccountRow,
    by name,
    currency: Option<&str> => currency
);

/// Names of the given account ids.
pub fn names_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    accounts::table
        .filter(accounts::id.eq_any(ids))
        .select((accounts::id, accounts::name))
        .load(conn)
}

diesel::define_sql_function! {
    /// PostgreSQL's `unnest`: the elements of an array, a row each.
    fn unnest(names: diesel::sql_types::Array<diesel::sql_types::Text>) -> diesel::sql_types::Text;
}

/// Locks the named accounts (PostgreSQL) in the global order of their ids
/// and reads their current state, in one statement, with what approved
/// runs but `except_run` reserve of each. Names that do not exist are
/// simply absent.
pub fn lock_and_load(
    conn: &mut DbConnection,
    project_id: &str,
    names: &[AccountName],
    except_run: Option<&str>,
) -> QueryResult<Balances> {
    let names: Vec<&str> = names.iter().map(AccountName::as_str).collect();
    let rows: Vec<(AccountRow, Option<i32>)> = match conn {
        // The unit's scale by a subquery, not a join: `FOR UPDATE` locks
        // the rows of every table in the `FROM` clause, and a lock on the
        // unit's row would make every project posting in that unit wait
        // for every other. `ORDER BY` before the lock: rows are locked as
        // they are sorted, in the order of their ids, so two writers never
        // wait for each other's accounts in opposite orders. The names as a
        // set (`IN (SELECT unnest(...))`), not `= ANY(...)`: a statement run
        // on every posting keeps one plan for any number of names, and in it
        // `= ANY` of a bound array is a filter that searches the array once
        // a row, which for the 10,001 accounts of a distribution's execution
        // was 100 million comparisons; a set is joined in one pass.
        DbConnection::Postgresql(pg) => accounts::table
            .filter(accounts::project_id.eq(project_id))
            .filter(accounts::name.eq_any(diesel::dsl::select(unnest(&names))))
            .order(accounts::id)
            .select((
                AccountRow::as_select(),
                units::table
                    .filter(units::code.eq(accounts::currency))
                    .select(units::scale)
                    .single_value(),
            ))
            .for_update()
            .load(pg)?,
        DbConnection::Sqlite(sqlite) => accounts::table
            .inner_join(units::table)
            .filter(accounts::project_id.eq(project_id))
            .filter(accounts::name.eq_any(&names))
            .select((AccountRow::as_select(), units::scale.nullable()))
            .load(sqlite)?,
    };
    let reserved = super::distributions::reserved(conn, project_id, &names, except_run)?;
    Ok(rows
        .into_iter()
        .filter_map(|(row, scale)| {
            // Every account has its unit (a foreign key): the join found it.
            let scale = scale?;
            let name = AccountName::parse(&row.name).ok()?;
            Some((
                name,
                AccountState {
                    id: row.id,
                    unit: row.currency,
                    scale: u32::try_from(scale).unwrap_or(0),
                    non_negative: row.non_negative,
                    balance: row.balance,
                    reserved: reserved.get(&row.name).copied().unwrap_or(0),
                },
            ))
        })
        .collect())
}

/// An account's balance with what approved runs reserve of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub balance: i64,
    pub reserved: i64,
}

impl Holding {
    /// What is free: the balance less what is reserved.
    pub fn available(self) -> i64 {
        crate::domain::funds::available(self.balance, self.reserved)
    }
}

/// What approved runs reserve in each of `rows` (all of one project), in
/// their order.
pub fn holdings(conn: &mut DbConnection, rows: &[AccountRow]) -> QueryResult<Vec<Holding>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    let reserved = super::distributions::reserved(conn, &first.project_id, &names, None)?;
    Ok(rows
        .iter()
        .map(|row| Holding {
            balance: row.balance,
            reserved: reserved.get(&row.name).copied().unwrap_or(0),
        })
        .collect())
}

/// The account the service manages under `name` (a funder's, a pool, an
/// expense sink), created on first use.
pub fn ensure(
    conn: &mut DbConnection,
    project_id: &str,
    name: &AccountName,
    currency: &str,
    non_negative: bool,
) -> QueryResult<AccountRow> {
    match find(conn, project_id, name.as_str())? {
        Some(row) => Ok(row),
        None => insert(conn, project_id, name, currency, non_negative),
    }
}

/// Rows of one multi-row insert of accounts: seven columns a row stays
/// well under SQLite's limit of bound values in one statement (32,766).
const ACCOUNTS_PER_INSERT: usize = 1_000;

/// Accounts opened in one call from which PostgreSQL's cached plans are
/// made again. A session keeps the plans of its prepared statements, of the
/// triggers' queries and of the foreign-key checks, made for the table sizes
/// of when they were planned; thousands of accounts opened in one
/// transaction can make a table that was planned as a few rows (and read
/// whole, which was then cheapest) hold ten thousand, and every posting's
/// foreign-key checks and the accounts' lock would then read all of them:
/// a distribution's execution over 10,000 new contributors took seconds in
/// those checks alone. `DISCARD PLANS` drops the cached plans (the prepared
/// statements stay), so the next use of each is planned for the table as it
/// now is. SQLite's planner does not choose by a table's counted size
/// (it looks a key up by its index at any size).
const REPLAN_AFTER: usize = ACCOUNTS_PER_INSERT;

/// The accounts the service manages under `names`, all of `project_id` in
/// `currency` with the same flag, created on first use, in the order of
/// `names`: one read of those that exist, then the others inserted by
/// multi-row statements and read back. A distribution's execution opens
/// thousands of contributors' accounts; one [`ensure`] each was three
/// statements an account.
pub fn ensure_all(
    conn: &mut DbConnection,
    project_id: &str,
    names: &[AccountName],
    currency: &str,
    non_negative: bool,
) -> QueryResult<Vec<AccountRow>> {
    let texts: Vec<&str> = names.iter().map(AccountName::as_str).collect();
    let read = |conn: &mut DbConnection| {
        accounts::table
            .filter(accounts::project_id.eq(project_id))
            .filter(accounts::name.eq_any(&texts))
            .select(AccountRow::as_select())
            .load::<AccountRow>(conn)
    };
    let existing = read(conn)?;
    let known: std::collections::HashSet<&str> =
        existing.iter().map(|row| row.name.as_str()).collect();
    let mut missing: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|n| !known.contains(n))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let rows = if missing.is_empty() {
        existing
    } else {
        let ids: Vec<String> = missing
            .iter()
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let now = super::now();
        let new: Vec<NewAccountRow> = missing
            .iter()
            .zip(&ids)
            .map(|(name, id)| NewAccountRow {
                id,
                project_id,
                name,
                currency,
                non_negative: i32::from(non_negative),
                balance: 0,
                created_at: now,
            })
            .collect();
        for chunk in new.chunks(ACCOUNTS_PER_INSERT) {
            let insert = diesel::insert_into(accounts::table).values(chunk);
            match conn {
                DbConnection::Postgresql(pg) => insert.execute(pg)?,
                DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
            };
        }
        if let (DbConnection::Postgresql(pg), true) = (&mut *conn, new.len() >= REPLAN_AFTER) {
            diesel::sql_query("DISCARD PLANS").execute(pg)?;
        }
        read(conn)?
    };
    let by_name: std::collections::HashMap<String, AccountRow> = rows
        .into_iter()
        .map(|row| (row.name.clone(), row))
        .collect();
    names
        .iter()
        .map(|name| {
            by_name
                .get(name.as_str())
                .cloned()
                .ok_or(diesel::result::Error::NotFound)
        })
        .collect()
}

/// Adds `deltas` (per account id: distributions earned, payouts received)
/// to the accounts' running value totals, in the caller's transaction, whose
/// locks on the accounts the posting path already holds. `None` when a total
/// would leave the 64-bit range: that account's id, and nothing is written.
pub fn add_to_value_totals(
    conn: &mut DbConnection,
    deltas: &std::collections::BTreeMap<&str, (i64, i64)>,
) -> QueryResult<Option<String>> {
    let ids: Vec<&str> = deltas.keys().copied().collect();
    let current: Vec<(String, i64, i64)> = accounts::table
        .filter(accounts::id.eq_any(&ids))
        .select((
            accounts::id,
            accounts::distributions_earned,
            accounts::payouts_received,
        ))
        .load(conn)?;
    let mut updated = Vec::with_capacity(current.len());
    for (id, earned, paid) in current {
        let (add_earned, add_paid) = deltas.get(id.as_str()).copied().unwrap_or_default();
        match (earned.checked_add(add_earned), paid.checked_add(add_paid)) {
            (Some(earned), Some(paid)) => updated.push((id, earned, paid)),
            _ => return Ok(Some(id)),
        }
    }
    match conn {
        // One statement for every account (a distribution's execution
        // moves the totals of thousands).
        DbConnection::Postgresql(pg) => {
            use diesel::sql_types::{Array, BigInt, Text};
            let mut columns = (Vec::new(), Vec::new(), Vec::new());
            for (id, earned, paid) in updated {
                columns.0.push(id);
                columns.1.push(earned);
                columns.2.push(paid);
            }
            diesel::sql_query(
                "UPDATE accounts AS a SET distributions_earned = v.earned, \
                 payouts_received = v.paid \
                 FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, earned, paid) \
                 WHERE a.id = v.id",
            )
            .bind::<Array<Text>, _>(columns.0)
            .bind::<Array<BigInt>, _>(columns.1)
            .bind::<Array<BigInt>, _>(columns.2)
            .execute(pg)?;
        }
        // In the service's process a statement costs no round trip.
        DbConnection::Sqlite(sqlite) => {
            for (id, earned, paid) in updated {
                diesel::update(accounts::table.find(&id))
                    .set((
                        accounts::distributions_earned.eq(earned),
                        accounts::payouts_received.eq(paid),
                    ))
                    .execute(sqlite)?;
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Database, DatabaseUrl};
    use crate::domain::{Unit, UnitKind};

    fn names(texts: &[&str]) -> Vec<AccountName> {
        texts
            .iter()
            .map(|text| AccountName::parse(text).expect("name"))
            .collect()
    }

    #[test]
    fn ensure_all_opens_what_is_missing_once_and_answers_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .expect("url");
        let db = Database::connect(&url, 2).expect("connect");
        db.migrate().expect("migrate");
        let mut conn = db.connection().expect("connection");
        let eur = Unit::from_stored("EUR".to_owned(), 2, UnitKind::Currency);
        let project = "01900000-0000-7000-8000-000000000001";
        crate::db::projects::insert(&mut conn, project, "Ensure", &eur, false).expect("project");
        let known = insert(
            &mut conn,
            project,
            &names(&["contributor:a"])[0],
            "EUR",
            true,
        )
        .expect("account");

        let wanted = names(&["contributor:c", "contributor:a", "contributor:b"]);
        let rows = ensure_all(&mut conn, project, &wanted, "EUR", true).expect("ensured");
        let got: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(
            got,
            ["contributor:c", "contributor:a", "contributor:b"],
            "in the order asked"
        );
        assert_eq!(
            rows[1].id, known.id,
            "an existing account is kept, not opened again"
        );
        assert!(rows.iter().all(|row| row.balance == 0 && row.non_negative));

        let again = ensure_all(&mut conn, project, &wanted, "EUR", true).expect("ensured");
        let ids = |rows: &[AccountRow]| rows.iter().map(|row| row.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&again), ids(&rows), "a second call opens nothing");
        let count: i64 = accounts::table
            .filter(accounts::project_id.eq(project))
            .count()
            .get_result(&mut conn)
            .expect("count");
        assert_eq!(count, 3);
    }
}
