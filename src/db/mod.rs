//! Storage over embedded SQLite or PostgreSQL through one diesel code path
//! (`MultiConnection`), with pooled connections and embedded migrations.
//! See docs/decisions/0001-one-code-path-over-two-backends.md.

/// Defines `pub fn $name(conn, project_id, after, limit)`: the page of a
/// project's rows of `$table` whose id comes after `after`, by id, at most
/// `limit` of them. Every plain list of a project's resources is this
/// query. With `by $key`, the page is by that column instead of the id
/// (`by $key: $after` when `after` is not a `&str`); each
/// `$param: $ty => $column` adds a parameter (before `after`) that keeps
/// only the rows whose `$column` equals it: a `&str` always, an
/// `Option<&str>` when given. A list with other filters writes its query
/// out.
macro_rules! project_page {
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty) => {
        project_page!($(#[$doc])* $name, $table, $row, by id);
    };
    (
        $(#[$doc:meta])* $name:ident, $table:ident, $row:ty, by $key:ident: $after:ty
        $(, $param:ident: $ty:ty => $column:ident)*
    ) => {
        $(#[$doc])*
        pub fn $name(
            conn: &mut $crate::db::DbConnection,
            project_id: &str,
            $($param: $ty,)*
            after: Option<$after>,
            limit: i64,
        ) -> diesel::QueryResult<Vec<$row>> {
            let mut query = $table::table
                .filter($table::project_id.eq(project_id.to_owned()))
                .select(<$row>::as_select())
                .order($table::$key)
                .limit(limit)
                .into_boxed();
            $(
                if let Some(value) = Option::<&str>::from($param) {
                    query = query.filter($table::$column.eq(value.to_owned()));
                }
            )*
            if let Some(after) = after {
                query = query.filter($table::$key.gt(after.to_owned()));
            }
            query.load(conn)
        }
    };
    (
        $(#[$doc:meta])* $name:ident, $table:ident, $row:ty, by $key:ident
        $(, $param:ident: $ty:ty => $column:ident)*
    ) => {
        project_page!(
            $(#[$doc])* $name, $table, $row, by $key: &str $(, $param: $ty => $column)*
        );
    };
}

/// Loads the page of `$query` (a query whose rows are filtered and
/// selected) by the column `$key`: at most `$limit` rows whose key comes
/// after `$after` (an `Option<&str>`), in key order. An expression of type
/// `QueryResult<Vec<_>>`; a list whose own filters are optional writes its
/// page out instead (see `project_page!`).
macro_rules! keyset_page {
    ($conn:expr, $query:expr, $key:expr, $after:expr, $limit:expr) => {{
        let mut query = $query.order($key).limit($limit).into_boxed();
        if let Some(after) = $after {
            query = query.filter($key.gt(after.to_owned()));
        }
        query.load($conn)
    }};
}

/// Defines `pub fn $name(conn, project_id, $key)`: the project's row of
/// `$table` whose column `$key` equals the parameter of that name, if any.
/// With `locked`, the row is first locked for the caller's transaction
/// (see `lock_row!`), as a decision on it needs.
macro_rules! project_row {
    (@fn $(#[$doc:meta])* $name:ident, $table:ident, $row:ty, $key:ident, $conn:ident, $lock:block) => {
        $(#[$doc])*
        pub fn $name(
            $conn: &mut $crate::db::DbConnection,
            project_id: &str,
            $key: &str,
        ) -> diesel::QueryResult<Option<$row>> {
            $lock
            $table::table
                .filter($table::project_id.eq(project_id))
                .filter($table::$key.eq($key))
                .select(<$row>::as_select())
                .first($conn)
                .optional()
        }
    };
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty, $key:ident) => {
        project_row!(@fn $(#[$doc])* $name, $table, $row, $key, conn, {});
    };
    // The lock is taken by primary key, so a locked row is found by its id.
    ($(#[$doc:meta])* locked $name:ident, $table:ident, $row:ty, id) => {
        project_row!(@fn $(#[$doc])* $name, $table, $row, id, conn, {
            lock_row!(conn, $table, id);
        });
    };
}

/// Defines `pub fn $name(conn, project_id, $param)`: every row of the
/// project in `$table` whose `$column` equals `$param`, by id (one
/// member's records, which their value account sums).
macro_rules! project_rows {
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty, $param:ident => $column:ident) => {
        $(#[$doc])*
        pub fn $name(
            conn: &mut $crate::db::DbConnection,
            project_id: &str,
            $param: &str,
        ) -> diesel::QueryResult<Vec<$row>> {
            $table::table
                .filter($table::project_id.eq(project_id))
                .filter($table::$column.eq($param))
                .select(<$row>::as_select())
                .order($table::id)
                .load(conn)
        }
    };
}

/// Defines `pub fn $name(conn, key...)`: the row of `$table` whose primary
/// key is the given one (a column, or the columns of a composite key in
/// its order), if any.
macro_rules! row_by_key {
    (@fn $(#[$doc:meta])* $name:ident, $table:ident, $row:ty, ($($key:ident: $ty:ty),+), $find:expr) => {
        $(#[$doc])*
        pub fn $name(
            conn: &mut $crate::db::DbConnection,
            $($key: $ty),+
        ) -> diesel::QueryResult<Option<$row>> {
            $table::table
                .find($find)
                .select(<$row>::as_select())
                .first(conn)
                .optional()
        }
    };
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty, $key:ident: $ty:ty) => {
        row_by_key!(@fn $(#[$doc])* $name, $table, $row, ($key: $ty), $key);
    };
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty, $($key:ident: $ty:ty),+) => {
        row_by_key!(@fn $(#[$doc])* $name, $table, $row, ($($key: $ty),+), ($($key),+));
    };
}

/// Defines `pub fn $name(conn, row)`: inserts the one `$row` into `$table`.
/// `owned` inserts a copy of it, for a row type some of whose fields are
/// stored through `serialize_as` (diesel inserts those from an owned row
/// only).
macro_rules! insert_row {
    (@fn $(#[$doc:meta])* $name:ident, $table:ident, $row:ty, $arg:ident => $values:expr) => {
        $(#[$doc])*
        pub fn $name(
            conn: &mut $crate::db::DbConnection,
            $arg: &$row,
        ) -> diesel::QueryResult<()> {
            diesel::insert_into($table::table)
                .values($values)
                .execute(conn)
                .map(drop)
        }
    };
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty) => {
        insert_row!(@fn $(#[$doc])* $name, $table, $row, row => row);
    };
    ($(#[$doc:meta])* owned $name:ident, $table:ident, $row:ty) => {
        insert_row!(@fn $(#[$doc])* $name, $table, $row, row => row.clone());
    };
}

/// Takes PostgreSQL's row lock (`SELECT ... FOR UPDATE`) on the `$table`
/// row of id `$id` until the caller's transaction ends, so that concurrent
/// writers of the row queue; a row that does not exist locks nothing.
/// Nothing on SQLite, whose writer is single. A statement for a function
/// returning `QueryResult`, which returns the lock query's error.
macro_rules! lock_row {
    ($conn:expr, $table:ident, $id:expr) => {
        if let $crate::db::DbConnection::Postgresql(pg) = $conn {
            $table::table
                .find($id)
                .select($table::id)
                .for_update()
                .first::<String>(pg)
                .optional()?;
        }
    };
}

/// Defines `pub fn $name(conn, ids)`: the rows of `$table` recorded by the
/// ledger transactions of the given ids (its `transaction_id` column), in
/// no particular order.
macro_rules! by_transactions {
    ($(#[$doc:meta])* $name:ident, $table:ident, $row:ty) => {
        $(#[$doc])*
        pub fn $name(
            conn: &mut $crate::db::DbConnection,
            ids: &[String],
        ) -> diesel::QueryResult<Vec<$row>> {
            $table::table
                .filter($table::transaction_id.eq_any(ids))
                .select(<$row>::as_select())
                .load(conn)
        }
    };
}

pub mod accounts;
pub mod agents;
pub mod claims;
pub mod closings;
pub mod contributions;
pub mod distributions;
pub mod events;
pub mod funds;
pub mod idempotency;
pub mod in_kind;
pub mod invitations;
pub mod memberships;
pub mod pages;
pub mod projects;
pub mod rates;
pub mod schema;
pub mod signing_keys;
pub mod transactions;
pub mod units;
pub mod verification;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use prometheus_client::metrics::counter::Counter;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite connection waits for another process's lock (the `migrate`
/// command, a backup) before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// The tables whose rows the service updates by design (on PostgreSQL
/// with two roles, the service's role may update these and no other).
const UPDATED_TABLES: &str = "projects, project_revisions, accounts, contributions, \
    distributions, payouts, expenses, releases, claims, memberships, invitations, \
    idempotency_keys";
/// The tables whose rows the service deletes by design.
const DELETED_TABLES: &str = "memberships, invitations, idempotency_keys";

/// Advisory lock key that serialises migrations across instances.
const MIGRATION_LOCK_KEY: i64 = 0x636c_6d69_6772;
/// How long a request waits for a pooled connection before failing.
const POOL_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to either backend; diesel derives the common subset.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the data lives, parsed from `COMMONS_LEDGER_DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database URL must start with postgres://, postgresql:// or sqlite://, got `{0}`")]
    UnsupportedUrl(String),
    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    CreateDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open a database connection: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored value the service would never have written: a status it
    /// does not know, a JSON document of no known version.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|path| !path.is_empty())
            .map(|path| DatabaseUrl::Sqlite(PathBuf::from(path)))
            .ok_or_else(|| StorageError::UnsupportedUrl(url.to_owned()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Opens connections for the pool, choosing the backend from the URL and
/// applying SQLite's durability settings to every connection.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// PostgreSQL's `lock_timeout` for every session.
    lock_timeout: std::time::Duration,
    /// Counts the statements every connection runs once set up.
    statements: Counter,
}

/// Counts the SQL statements a connection runs (each a round trip on
/// PostgreSQL), transaction control included.
struct CountStatements(Counter);

impl diesel::connection::Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
            self.0.inc();
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                // A lock wait past this fails the statement; the write is
                // then retried (see `Database::write`). Commits are durable
                // before they are acknowledged, whatever the server's default.
                conn.batch_execute(&format!(
                    "SET lock_timeout = {}; SET synchronous_commit = on;",
                    self.lock_timeout.as_millis()
                ))
                .map_err(r2d2::Error::QueryError)?;
                conn.set_instrumentation(CountStatements(self.statements.clone()));
                Ok(DbConnection::Postgresql(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first: switching to WAL itself needs a lock.
                // synchronous=FULL makes every acknowledged commit survive a
                // crash or power loss, not just an application crash.
                // `threads`: a sort too large for memory (a distribution
                // draft's sums and selection over a million contributions)
                // sorts its runs on this many helper threads, one a core,
                // instead of on the statement's thread alone; temporary data
                // only, in the sort's bounded buffers. `batch_marks`: where
                // the write pipeline marks the transaction it begins, to find
                // it still open at its commit (`write_pipeline::begin`).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA threads = {};
                     CREATE TEMP TABLE IF NOT EXISTS batch_marks (mark TEXT NOT NULL);",
                    sort_threads()
                ))
                .map_err(r2d2::Error::QueryError)?;
                conn.set_instrumentation(CountStatements(self.statements.clone()));
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        match conn {
            // A server's connection can be cut while it idles: it is checked
            // with a round trip before it is handed out.
            DbConnection::Postgresql(pg) => pg
                .batch_execute("SELECT 1")
                .map_err(r2d2::Error::QueryError),
            // An embedded connection is a handle on a file in this process,
            // with nothing between that could drop it, and `SELECT 1` reads
            // nothing of the file: the statement would check nothing. A
            // transaction it left broken is caught by `has_broken`.
            DbConnection::Sqlite(_) => Ok(()),
        }
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// The connection pool and what the rest of the service needs to know about
/// the backend behind it.
pub struct Database {
    pool: Pool<ConnectionManager>,
    backend: Backend,
    /// SQLite allows one writer at a time; taking this gate before a write
    /// transaction queues writers in the process instead of letting them
    /// collide on the database lock (which SQLite reports as "busy").
    sqlite_write_gate: Mutex<()>,
    /// Statements run by the pool's connections since it opened.
    statements: Counter,
    /// The units stored so far, as last read from committed data (see
    /// [`Database::units_covering`]).
    units: std::sync::RwLock<std::sync::Arc<units::Units>>,
}

impl Database {
    /// Opens the pool with the default lock timeout.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, StorageError> {
        Self::connect_with(url, pool_size, DEFAULT_LOCK_TIMEOUT)
    }

    /// Opens the pool. For SQLite the file's directory is created if needed.
    pub fn connect_with(
        url: &DatabaseUrl,
        pool_size: u32,
        lock_timeout: std::time::Duration,
    ) -> Result<Self, StorageError> {
        if let DatabaseUrl::Sqlite(path) = url {
            create_parent_directory(path)?;
        }
        let statements = Counter::default();
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(POOL_CHECKOUT_TIMEOUT)
            .build(ConnectionManager {
                url: url.clone(),
                lock_timeout,
                statements: statements.clone(),
            })?;
        Ok(Database {
            pool,
            backend: url.backend(),
            sqlite_write_gate: Mutex::new(()),
            statements,
            units: Default::default(),
        })
    }

    /// The SQL statements the pool's connections have run since it opened
    /// (not those that set a new connection up), transaction control
    /// included: a counter shared with `/metrics`.
    pub fn statements(&self) -> Counter {
        self.statements.clone()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool's largest size, its open connections and the idle ones.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            self.pool.max_size(),
            state.connections,
            state.idle_connections,
        )
    }

    /// Applies the embedded migrations that have not run yet and returns their names.
    pub fn migrate(&self) -> Result<Vec<String>, StorageError> {
        let _gate = self.write_gate();
        let mut conn = self.pool.get()?;
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        // Several instances may start together on one PostgreSQL database:
        // a session-level advisory lock lets one migrate while the others wait.
        if self.backend == Backend::Postgres {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
        }
        let applied = conn
            .run_pending_migrations(migrations)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|error| StorageError::Migration(error.to_string()));
        if self.backend == Backend::Postgres {
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
        }
        applied
    }

    /// The embedded migrations not applied to this database yet, by name;
    /// reads only (a read-only instance checks its replica with it).
    pub fn pending_migrations(&self) -> Result<Vec<String>, StorageError> {
        // Not `MigrationHarness::pending_migrations`: it first creates the
        // migrations table if missing, a write a replica refuses.
        use diesel::RunQueryDsl;
        use diesel::migration::MigrationSource;
        #[derive(diesel::QueryableByName)]
        struct Applied {
            #[diesel(sql_type = diesel::sql_types::Text)]
            version: String,
        }
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let embedded =
            MigrationSource::<<DbConnection as Connection>::Backend>::migrations(&migrations)
                .map_err(|error| StorageError::Migration(error.to_string()))?;
        let mut conn = self.pool.get()?;
        // A database never migrated has no table: every migration is pending.
        let applied: Vec<Applied> =
            match diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
                .load(&mut conn)
            {
                Ok(rows) => rows,
                Err(diesel::result::Error::DatabaseError(_, info))
                    if info.message().contains("__diesel_schema_migrations") =>
                {
                    Vec::new()
                }
                Err(other) => return Err(other.into()),
            };
        let applied: std::collections::HashSet<String> =
            applied.into_iter().map(|row| row.version).collect();
        Ok(embedded
            .iter()
            .filter(|migration| !applied.contains(&migration.name().version().to_string()))
            .map(|migration| migration.name().to_string())
            .collect())
    }

    /// PostgreSQL: gives `role` (the service's own) what the service needs
    /// and nothing more, as the tables' owner: SELECT and INSERT everywhere;
    /// UPDATE only where rows change by design (a project's chain head and
    /// settings, balances, decisions, memberships, idempotency records) and
    /// DELETE only of memberships, invitations and expired idempotency
    /// records. Posted transactions and postings, closings, grants,
    /// reviews, rule sets: insert and read only. Nothing can TRUNCATE,
    /// ALTER or DROP but the owner. Idempotent; a no-op on SQLite.
    pub fn grant_runtime(&self, role: &str) -> Result<(), StorageError> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let role = format!("\"{}\"", role.replace('"', "\"\""));
        let mut conn = self.pool.get()?;
        conn.batch_execute(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
             GRANT USAGE ON SCHEMA public TO {role};
             GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role};
             REVOKE INSERT ON __diesel_schema_migrations FROM {role};
             GRANT UPDATE ON {UPDATED_TABLES} TO {role};
             GRANT DELETE ON {DELETED_TABLES} TO {role};
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};"
        ))?;
        Ok(())
    }

    /// PostgreSQL: the role this database's connections act as.
    pub fn current_role(&self) -> Result<String, StorageError> {
        #[derive(diesel::QueryableByName)]
        struct Role {
            #[diesel(sql_type = diesel::sql_types::Text)]
            role: String,
        }
        use diesel::RunQueryDsl;
        let mut conn = self.pool.get()?;
        let found: Role =
            diesel::sql_query("SELECT current_user::text AS role").get_result(&mut conn)?;
        Ok(found.role)
    }

    /// PostgreSQL: whether the connections' role owns the ledger's tables
    /// (and so could disable their triggers or drop them).
    pub fn owns_the_tables(&self) -> Result<bool, StorageError> {
        if self.backend != Backend::Postgres {
            return Ok(false);
        }
        #[derive(diesel::QueryableByName)]
        struct Owned {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            owned: bool,
        }
        use diesel::RunQueryDsl;
        let mut conn = self.pool.get()?;
        let found: Owned = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' \
             AND tablename = 'postings' AND tableowner = current_user) AS owned",
        )
        .get_result(&mut conn)?;
        Ok(found.owned)
    }

    /// A pooled connection for reads.
    pub fn connection(&self) -> Result<PooledConnection<ConnectionManager>, StorageError> {
        Ok(self.pool.get()?)
    }

    /// Whether the database answers a trivial query (the readiness probe).
    pub fn ping(&self) -> Result<(), StorageError> {
        self.connection()?.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// Runs `work` inside one database transaction, committed only if it
    /// returns `Ok`. On SQLite writers are queued first (see `sqlite_write_gate`).
    ///
    /// A transient failure (a serialization failure, a deadlock, a lock
    /// timeout, SQLite's busy database) rolls the transaction back and runs
    /// `work` again in a new one, up to [`WRITE_ATTEMPTS`] times in all, after
    /// a jittered, doubling pause; so `work` must be safe to run again, which
    /// it is when all it does is read and write through `conn`.
    pub fn write<T, E>(
        &self,
        mut work: impl FnMut(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<StorageError> + Transient,
    {
        let mut attempt = 1;
        loop {
            let outcome = {
                // Gate first, then connection: queued writers must not hold
                // pooled connections that readers need.
                let _gate = self.write_gate();
                let mut conn = self.connection()?;
                let conn: &mut DbConnection = &mut conn;
                conn.transaction(&mut work)
            };
            match outcome {
                Err(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, "transient database failure; retrying");
                    std::thread::sleep(retry_pause(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Runs `work`, which only reads, on one connection. On SQLite inside
    /// one read transaction: a consistent WAL snapshot. On PostgreSQL each
    /// statement on its own, which sees what a statement of a READ
    /// COMMITTED transaction would (a snapshot of its own, taken when it
    /// starts) without the `BEGIN` and `COMMIT` round trips such a
    /// transaction would add; a read that needs one snapshot for all its
    /// statements asks for [`Database::snapshot`].
    pub fn read<T, E>(&self, work: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<StorageError>,
    {
        let mut conn = self.connection()?;
        let conn: &mut DbConnection = &mut conn;
        match conn {
            DbConnection::Postgresql(_) => work(conn),
            DbConnection::Sqlite(_) => conn.transaction(work),
        }
    }

    /// Runs `work` in one read-only transaction that sees a single snapshot
    /// of the database from its first statement to its last (REPEATABLE
    /// READ on PostgreSQL; on SQLite, WAL readers always do). Long
    /// computations read here, outside the writer, then write their result
    /// in a short transaction that checks their inputs did not change.
    pub fn snapshot<T, E>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<StorageError>,
    {
        let mut conn = self.connection()?;
        let conn: &mut DbConnection = &mut conn;
        conn.transaction(|conn| {
            begin_snapshot(conn)?;
            work(conn)
        })
    }

    /// On SQLite, the gate every writer takes before its write transaction.
    pub(crate) fn write_gate(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        match self.backend {
            // A poisoned gate only means another writer panicked; the
            // database transaction it held was rolled back, so go on.
            Backend::Sqlite => Some(
                self.sqlite_write_gate
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
            Backend::Postgres => None,
        }
    }
}

/// Makes the caller's read transaction, which must not have run a
/// statement yet, one snapshot: REPEATABLE READ and READ ONLY on PostgreSQL
/// (on SQLite a read transaction already is).
pub fn begin_snapshot(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(pg)?;
    }
    Ok(())
}

/// SQLite's helper threads for a large sort: one a core this process may
/// use, at most 8 (SQLite's own ceiling).
fn sort_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().clamp(1, 8))
}

/// PostgreSQL's `lock_timeout` unless configured (`--lock-timeout-ms`).
pub const DEFAULT_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Attempts a write gets when its database transaction fails transiently.
pub const WRITE_ATTEMPTS: u32 = 5;

/// Before attempt `n + 1`: 5 ms doubled per attempt (5, 10, 20, 40 ms), each
/// pause somewhere between half and all of that, so that writers that
/// collided do not collide again in step.
pub(crate) fn retry_pause(attempt: u32) -> std::time::Duration {
    let ceiling_us = 5_000_u64 << attempt.saturating_sub(1).min(6);
    let random = u64::from(uuid::Uuid::now_v7().as_bytes()[15]);
    std::time::Duration::from_micros(ceiling_us / 2 + ceiling_us / 2 * random / 255)
}

/// The one place a unique-constraint refusal is told apart from every other
/// database failure: an insert that lost a race with a concurrent one (or
/// met a row that already exists) becomes the caller's own error.
pub trait OnDuplicate<T> {
    /// `on_duplicate()` when a unique constraint refused the row; any other
    /// failure converted as usual.
    fn on_duplicate<E: From<diesel::result::Error>>(
        self,
        on_duplicate: impl FnOnce() -> E,
    ) -> Result<T, E>;
}

impl<T> OnDuplicate<T> for diesel::QueryResult<T> {
    fn on_duplicate<E: From<diesel::result::Error>>(
        self,
        on_duplicate: impl FnOnce() -> E,
    ) -> Result<T, E> {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(on_duplicate()),
            other => other.map_err(E::from),
        }
    }
}

/// Whether an error is worth retrying the whole database transaction for.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for diesel::result::Error {
    fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            Error::DatabaseError(_, info) => {
                let message = info.message();
                // PostgreSQL's deadlock_detected and lock_not_available, and
                // SQLite's SQLITE_BUSY, which diesel reports by message only.
                message.contains("deadlock detected")
                    || message.contains("could not obtain lock")
                    || message.contains("canceling statement due to lock timeout")
                    || message.contains("database is locked")
            }
            _ => false,
        }
    }
}

impl Transient for StorageError {
    fn is_transient(&self) -> bool {
        matches!(self, StorageError::Query(error) if error.is_transient())
    }
}

fn create_parent_directory(path: &Path) -> Result<(), StorageError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::CreateDirectory {
                path: parent.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// The current UTC time at the precision both backends store (microseconds),
/// so what is hashed and returned is exactly what is read back later.
/// A flag as stored: an integer column that holds 0 or 1 on both backends
/// (SQLite has no boolean type). A row field reads it as a `bool` with
/// `#[diesel(deserialize_as = StoredFlag)]`; any other value is a query
/// error, never read as `false` or `true`.
#[derive(Debug, Clone, Copy)]
pub struct StoredFlag(i32);

impl<DB> diesel::deserialize::Queryable<diesel::sql_types::Integer, DB> for StoredFlag
where
    DB: diesel::backend::Backend,
    i32: diesel::deserialize::FromSql<diesel::sql_types::Integer, DB>,
{
    type Row = i32;

    fn build(value: i32) -> diesel::deserialize::Result<Self> {
        Ok(StoredFlag(value))
    }
}

impl TryFrom<StoredFlag> for bool {
    type Error = StorageError;

    fn try_from(flag: StoredFlag) -> Result<bool, StorageError> {
        match flag.0 {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(StorageError::Corrupt(format!("a flag holds {other}"))),
        }
    }
}

pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Today's date (UTC).
pub fn today() -> chrono::NaiveDate {
    now().date()
}

/// `text` escaped for a `LIKE` pattern whose escape character is `\`.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// RFC 3339 UTC text of a stored timestamp, with microseconds.
pub fn format_timestamp(at: chrono::NaiveDateTime) -> String {
    at.and_utc().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Applies the migrations for the service's database `db`: as the tables'
/// owner (`owner_url`, PostgreSQL), which then grants `db`'s role what the
/// service needs and no more; or, without one, as `db`'s own role, which
/// then owns the tables (a quick start: a warning says that this role could
/// disable the ledger's triggers). Returns the migrations applied.
pub fn migrate_for(db: &Database, owner_url: Option<&str>) -> Result<Vec<String>, StorageError> {
    let applied = match owner_url {
        Some(owner_url) => {
            let url = DatabaseUrl::parse(owner_url)
                .map_err(|e| StorageError::Migration(format!("--migration-database-url: {e}")))?;
            let owner = Database::connect(&url, 1)
                .map_err(|e| StorageError::Migration(format!("--migration-database-url: {e}")))?;
            let applied = owner.migrate()?;
            owner.grant_runtime(&db.current_role()?)?;
            applied
        }
        None => db.migrate()?,
    };
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    if db.owns_the_tables()? {
        tracing::warn!(
            "the service's database role owns the ledger's tables: it could disable their triggers, TRUNCATE or drop them; run migrations as an owner role (--migration-database-url) and the service as a role without ownership (docs/security.md)"
        );
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure diesel reports the way PostgreSQL's serialization failure is.
    fn serialization_failure() -> diesel::result::Error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::SerializationFailure,
            Box::new("could not serialize access".to_owned()),
        )
    }

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("dir");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .expect("url");
        let db = Database::connect(&url, 2).expect("connect");
        (dir, db)
    }

    /// Every embedded connection is set up alike: durable commits, foreign
    /// keys checked, and a large sort's helper threads.
    #[test]
    fn an_embedded_connection_is_set_up() {
        use diesel::RunQueryDsl;
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = BigInt)]
            value: i64,
        }
        let (_dir, db) = database();
        let mut conn = db.connection().expect("connection");
        let mut setting = |pragma: &str| -> i64 {
            let DbConnection::Sqlite(sqlite) = &mut *conn else {
                panic!("an embedded database");
            };
            diesel::sql_query(format!("SELECT {pragma} AS value FROM pragma_{pragma}()"))
                .get_result::<Setting>(sqlite)
                .expect(pragma)
                .value
        };
        assert_eq!(setting("synchronous"), 2, "FULL");
        assert_eq!(setting("foreign_keys"), 1);
        let threads = setting("threads");
        assert_eq!(threads, i64::try_from(sort_threads()).expect("small"));
        assert!(threads >= 1);
    }

    #[test]
    fn transient_failures_are_retried_then_given_up() {
        let (_dir, db) = database();
        let mut attempts = 0;
        let outcome: Result<u32, StorageError> = db.write(|_| {
            attempts += 1;
            if attempts < 3 {
                Err(serialization_failure().into())
            } else {
                Ok(attempts)
            }
        });
        assert_eq!(outcome.expect("third attempt succeeds"), 3);

        let mut attempts = 0;
        let outcome: Result<(), StorageError> = db.write(|_| {
            attempts += 1;
            Err(serialization_failure().into())
        });
        assert!(outcome.is_err());
        assert_eq!(attempts, WRITE_ATTEMPTS, "bounded");
    }

    #[test]
    fn other_failures_are_not_retried() {
        let (_dir, db) = database();
        let mut attempts = 0;
        let outcome: Result<(), StorageError> = db.write(|_| {
            attempts += 1;
            Err(diesel::result::Error::NotFound.into())
        });
        assert!(outcome.is_err());
        assert_eq!(attempts, 1);
    }

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for attempt in 1..WRITE_ATTEMPTS {
            let pause = retry_pause(attempt);
            let ceiling = std::time::Duration::from_micros(5_000 << (attempt - 1));
            assert!(
                pause >= ceiling / 2 && pause <= ceiling,
                "{attempt}: {pause:?}"
            );
        }
    }
}
