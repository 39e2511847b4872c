//! The write pipeline: the one way the service changes its database.
//!
//! Every write (an HTTP request, an import) hands its work to [`WritePipeline::submit`]
//! and waits. A committer thread takes every job queued at that moment (up to
//! the batch maximum), opens one database transaction, runs each job in a
//! savepoint of its own, commits once, and only then answers. One commit (one
//! fsync, one hold of a project's row lock) serves many writes, which is what
//! lifts throughput past the database's per-commit limit.
//! A long write (a distribution draft's selection, an import) is queued with
//! [`WritePipeline::submit_alone`] instead: it runs after the batch it came
//! with, in a transaction of its own, so that no other write's locks are held
//! while it runs and none waits for its commit.
//!
//! A job that is its transaction's only one (a long write, a job run again
//! alone, or simply the only one queued) runs in the transaction itself,
//! without a savepoint: there is no neighbour whose work a savepoint would
//! keep, so an error rolls the whole transaction back instead. That spares
//! the savepoint's two statements (two round trips on PostgreSQL) and, on
//! SQLite, the savepoint's journal, which holds the original of every page
//! the job changes for as long as the job runs and spills to a temporary
//! file past 64 KiB. Measured in docs/benchmarks.md: a transfer at one
//! client on SQLite 1.12-1.17 times as fast, within noise elsewhere.
//!
//! # The guarantee
//!
//! **A job is answered with success only if the database transaction that
//! holds its effect has committed, and a committed transaction holds the
//! effects of exactly the jobs answered with success.** Whatever one job does,
//! its neighbours are either committed and then answered, or re-run in a fresh
//! transaction, or answered with a retryable error (503) and nothing of theirs
//! is kept:
//!
//! - a job that returns an error is rolled back to its savepoint and answered
//!   with that error; its neighbours commit (a job alone in its transaction:
//!   the transaction is rolled back, and nothing is committed);
//! - a job that fails transiently (a lock timeout, a deadlock, a busy
//!   database) is run again in a new savepoint (alone: in a new
//!   transaction), a bounded number of times;
//! - a job that panics, or leaves the connection in a state the pipeline
//!   cannot vouch for (a savepoint left open or closed too often, a broken
//!   transaction manager), is answered 500; the whole transaction is then
//!   rolled back, its connection thrown away, and the other jobs run again in
//!   a fresh transaction;
//! - before committing, the pipeline checks that the transaction it began is
//!   still the one open and usable, by the mark it set in it when it began (a
//!   setting local to that transaction on PostgreSQL, checked in the round
//!   trip of the `COMMIT` itself; a row of a temporary table on SQLite); if
//!   not, nothing is committed and every job runs again on its own;
//! - a commit the database refuses runs the batch again: the whole batch when
//!   the refusal is transient, each job alone otherwise, so that a job whose
//!   effect cannot commit fails alone; a commit whose outcome is unknown (the
//!   connection was lost) is answered 503 to all, and a retry with the same
//!   `Idempotency-Key` finds out which way it went.
//!
//! Each job is still atomic (its savepoint, or its transaction when alone)
//! and idempotent (its key is claimed and its answer stored inside its
//! savepoint or transaction, so they commit or vanish with its effect).
//!
//! # Lock order
//!
//! On PostgreSQL, every job that writes a project's ledger takes that
//! project's row lock, held until the batch commits. A batch therefore runs
//! its jobs ordered by project id (jobs without a project first), so every
//! batch takes project locks in one global order and two batches committing
//! side by side can never deadlock on them.

use std::num::NonZeroU32;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use prometheus_client::metrics::counter::Counter;

use crate::db::{Database, DbConnection, StorageError, Transient, WRITE_ATTEMPTS};

/// Most jobs one database transaction carries, by default: on SQLite, where
/// a commit is the one expensive step, as many as are waiting; on PostgreSQL
/// a few, because every job of a batch updates the same project row inside
/// one open transaction, whose dead versions cannot be pruned until it ends,
/// so long batches slow down (measured in docs/benchmarks.md).
pub const BATCH_MAX_SQLITE: usize = 128;
pub const BATCH_MAX_POSTGRES: usize = 4;

/// The longest a committer waits for a batch to fill when a test asks it to
/// (see [`TestHooks::gather`]); past it, it commits what it has.
const GATHER_WAIT_MAX: Duration = Duration::from_secs(10);

/// What the pipeline needs of the error type its jobs return.
pub trait JobError:
    Transient + From<DieselError> + From<StorageError> + std::fmt::Display + Send + 'static
{
    /// The answer of a job that panicked.
    fn panicked() -> Self;
    /// The answer of a job after which the connection could not be trusted.
    fn unsettled(what: &str) -> Self;
    /// The answer of a job whose transaction was not (or maybe not)
    /// committed: retryable, with the same idempotency key.
    fn not_committed(why: &str) -> Self;
    /// The answer when the pipeline has stopped.
    fn stopped() -> Self;
    /// The same failure, for another job of the batch.
    fn for_neighbour(&self) -> Self;
}

/// A job's work: run once per attempt, in a savepoint of the shared transaction.
pub type Work<T, E> = Box<dyn FnMut(&mut DbConnection) -> Result<T, E> + Send>;

struct Job<T, E> {
    /// The project whose row lock the work takes, if any: the batch order.
    project: Option<String>,
    /// Whether the job runs in a transaction of its own (a long write).
    alone: bool,
    work: Work<T, E>,
    answer: tokio::sync::oneshot::Sender<Result<T, E>>,
}

/// The pipeline's counters, exported in `/metrics`.
#[derive(Clone, Default)]
pub struct Counters {
    /// Shared transactions committed.
    pub batches: Counter,
    /// Jobs those transactions carried.
    pub requests: Counter,
    /// Jobs run again after a transient failure: in a new savepoint, or in a
    /// new transaction when alone in theirs.
    pub retries: Counter,
    /// Batches run again in a fresh transaction because one of their jobs
    /// panicked or unsettled the connection, or their commit was refused.
    pub reruns: Counter,
}

/// Test-only controls, set by the test harness through
/// [`crate::config::RuntimeSettings::test_hooks`] (never from the command
/// line or the environment): faults injected into chosen jobs
/// (see [`Fault`]) and batches made to fill up.
#[derive(Debug, Default)]
pub struct TestHooks {
    /// While above 1, a committer waits (up to [`GATHER_WAIT_MAX`]) until
    /// this many jobs are queued before it runs a batch, so a test can make
    /// chosen requests share one transaction.
    pub gather: AtomicUsize,
    /// Run after each computation made outside the writer, before its
    /// result is written: a test changes here what the computation read.
    pub after_compute: Mutex<Option<AfterCompute>>,
    /// Run in a distribution draft's write once what it writes before the
    /// project's lock is written, before it takes the lock: a test writes
    /// to the project here.
    pub after_staging: Mutex<Option<AfterCompute>>,
}

/// A test's action between a computation and the write of its result.
pub struct AfterCompute(pub Box<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for AfterCompute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterCompute")
    }
}

impl TestHooks {
    /// Runs the test's action after a computation, if it set one.
    pub fn computed(&self) {
        run_hook(&self.after_compute);
    }

    /// Runs the test's action after a draft's staged write, if it set one.
    pub fn staged(&self) {
        run_hook(&self.after_staging);
    }
}

fn run_hook(hook: &Mutex<Option<AfterCompute>>) {
    let hook = hook
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(AfterCompute(action)) = hook.as_ref() {
        action();
    }
}

/// A fault a test injects into one job (a request carrying the
/// [`FAULT_HEADER`] while test hooks are on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The job does its work, then panics.
    Panic,
    /// The job does its work, then returns an internal error.
    Fail,
    /// The job's first attempt does its work, then fails transiently.
    Transient,
    /// The job does its work, then leaves a savepoint open.
    LeakSavepoint,
    /// The job does its work, then breaks its connection's transaction state.
    Poison,
    /// The job does its work, then runs a statement that fails and carries
    /// on as if it had not (on PostgreSQL this aborts the transaction).
    SwallowError,
    /// The job does its work, then rolls the shared transaction back and
    /// begins another, with a savepoint of its own savepoint's name: nothing
    /// diesel tracks shows it, and the neighbours before it lost their work.
    EndTransaction,
}

/// The request header naming a [`Fault`] to inject (honoured only with test hooks).
pub const FAULT_HEADER: &str = "Commons-Ledger-Test-Fault";

impl Fault {
    pub fn parse(text: &str) -> Option<Fault> {
        Some(match text {
            "panic" => Fault::Panic,
            "fail" => Fault::Fail,
            "transient" => Fault::Transient,
            "leak-savepoint" => Fault::LeakSavepoint,
            "poison" => Fault::Poison,
            "swallow-error" => Fault::SwallowError,
            "end-transaction" => Fault::EndTransaction,
            _ => return None,
        })
    }
}

tokio::task_local! {
    /// The fault the current request asked for.
    static INJECTED: Fault;
}

/// Runs `future` (a request's handling) with `fault` injected into the job
/// it submits.
pub async fn with_fault<F: std::future::Future>(fault: Fault, future: F) -> F::Output {
    INJECTED.scope(fault, future).await
}

/// The queue of write jobs and the committer threads that run them.
/// The threads end when the pipeline is dropped with the application.
pub struct WritePipeline<T, E> {
    queue: Mutex<Option<mpsc::Sender<Job<T, E>>>>,
    hooks: Option<Arc<TestHooks>>,
}

impl<T: Send + 'static, E: JobError> WritePipeline<T, E> {
    /// Starts `threads` committers on `db`, each batch carrying at most
    /// `batch_max` jobs. One is enough on SQLite (one writer at a time
    /// anyway); on PostgreSQL several let writes to different projects
    /// commit in parallel.
    pub fn start(
        db: Arc<Database>,
        threads: usize,
        batch_max: usize,
        counters: Counters,
        hooks: Option<Arc<TestHooks>>,
    ) -> Result<Self, std::io::Error> {
        let (sender, receiver) = mpsc::channel::<Job<T, E>>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let committer = Committer {
                db: db.clone(),
                receiver: receiver.clone(),
                batch_max: batch_max.max(1),
                counters: counters.clone(),
                hooks: hooks.clone(),
            };
            std::thread::Builder::new()
                .name(format!("committer-{i}"))
                .spawn(move || committer.run())?;
        }
        Ok(WritePipeline {
            queue: Mutex::new(Some(sender)),
            hooks,
        })
    }

    /// Runs `work` in the next shared transaction and answers once that has
    /// committed (or the work was refused). `project` names the project whose
    /// row lock `work` takes, if any. `work` may run more than once (see the
    /// module's documentation): all it may do is read and write through the
    /// connection it is given.
    pub async fn submit(
        &self,
        project: Option<String>,
        work: impl FnMut(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.enqueue(project, Box::new(work), false).await
    }

    /// Like [`submit`](Self::submit), for a long write (a distribution
    /// draft's selection, an import): it runs in a transaction of its own,
    /// never shared, so that no other write's locks are held while it runs
    /// and none waits for its commit. It still queues with the others and
    /// gets the same guarantee.
    pub async fn submit_alone(
        &self,
        project: Option<String>,
        work: impl FnMut(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.enqueue(project, Box::new(work), true).await
    }

    async fn enqueue(
        &self,
        project: Option<String>,
        mut work: Work<T, E>,
        alone: bool,
    ) -> Result<T, E> {
        if self.hooks.is_some()
            && let Ok(fault) = INJECTED.try_with(|fault| *fault)
        {
            work = inject(fault, work);
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job {
            project,
            alone,
            work,
            answer,
        };
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|queue| queue.send(job).is_ok());
        if sent != Some(true) {
            return Err(E::stopped());
        }
        answered.await.unwrap_or_else(|_| Err(E::stopped()))
    }
}

struct Committer<T, E> {
    db: Arc<Database>,
    receiver: Arc<Mutex<mpsc::Receiver<Job<T, E>>>>,
    batch_max: usize,
    counters: Counters,
    hooks: Option<Arc<TestHooks>>,
}

/// How one run of a batch ended.
enum BatchEnd<T, E> {
    /// Committed: every job's outcome, in the batch's order.
    Committed(Vec<Result<T, E>>),
    /// The job at this index panicked or unsettled the connection; the
    /// transaction was rolled back.
    Culprit(usize, E),
    /// Nothing was committed; the batch may run again.
    Refused(E),
    /// Nothing was committed, and one of the jobs is to blame: each runs
    /// again alone.
    Suspect(E),
    /// Nothing was committed, and running again cannot help (no connection),
    /// or the commit's outcome is unknown.
    GiveUp(E),
    /// The batch's only job, run without a savepoint, returned this error:
    /// the transaction was rolled back, nothing was committed.
    Failed(E),
}

/// How one job ended inside a batch.
enum JobEnd<T, E> {
    Done(Result<T, E>),
    /// A job run without a savepoint returned an error: its partial work is
    /// in the transaction, which must be rolled back.
    Failed(E),
    Culprit(E),
}

impl<T: Send + 'static, E: JobError> Committer<T, E> {
    fn run(self) {
        while let Some(batch) = self.next_batch() {
            // The shared writes first, then each long one in a transaction
            // of its own.
            let (alone, shared): (Vec<_>, Vec<_>) = batch.into_iter().partition(|job| job.alone);
            if !shared.is_empty() {
                self.settle(shared);
            }
            for job in alone {
                self.settle(vec![job]);
            }
        }
    }

    /// Waits for one job, then takes everything already queued.
    fn next_batch(&self) -> Option<Vec<Job<T, E>>> {
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = receiver.recv().ok()?;
        let mut batch = vec![first];
        let gather = self
            .hooks
            .as_ref()
            .map_or(0, |hooks| hooks.gather.load(Ordering::SeqCst));
        let deadline = Instant::now() + GATHER_WAIT_MAX;
        while batch.len() < self.batch_max {
            let next = if batch.len() < gather {
                receiver
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    .ok()
            } else {
                receiver.try_recv().ok()
            };
            match next {
                Some(job) => batch.push(job),
                None => break,
            }
        }
        Some(batch)
    }

    /// Runs `jobs` until each has its answer.
    fn settle(&self, mut jobs: Vec<Job<T, E>>) {
        // Stable: jobs of one project keep their arrival order.
        jobs.sort_by(|a, b| a.project.cmp(&b.project));
        let mut attempt = 1;
        loop {
            match self.run_batch(&mut jobs) {
                BatchEnd::Committed(outcomes) => {
                    self.counters.batches.inc();
                    self.counters.requests.inc_by(jobs.len() as u64);
                    for (job, outcome) in jobs.into_iter().zip(outcomes) {
                        // The client may have gone (a timeout): nothing to tell.
                        let _ = job.answer.send(outcome);
                    }
                    return;
                }
                BatchEnd::Culprit(index, error) => {
                    let culprit = jobs.remove(index);
                    let _ = culprit.answer.send(Err(error));
                    if jobs.is_empty() {
                        return;
                    }
                    self.counters.reruns.inc();
                }
                BatchEnd::Failed(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => {
                    // The lone job's own retry, as in a savepoint: at once.
                    attempt += 1;
                    self.counters.retries.inc();
                }
                BatchEnd::Failed(error) => {
                    let _ = jobs.remove(0).answer.send(Err(error));
                    return;
                }
                BatchEnd::Refused(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, %error, "a shared commit failed transiently; running the batch again");
                    std::thread::sleep(crate::db::retry_pause(attempt));
                    attempt += 1;
                    self.counters.reruns.inc();
                }
                BatchEnd::Refused(error) | BatchEnd::Suspect(error) if jobs.len() > 1 => {
                    // One of the jobs may be what the database refused: each
                    // runs again alone, so that it fails alone.
                    tracing::warn!(%error, jobs = jobs.len(), "a shared commit was refused; running its jobs one by one");
                    self.counters.reruns.inc();
                    for job in jobs {
                        self.settle(vec![job]);
                    }
                    return;
                }
                BatchEnd::Refused(error) | BatchEnd::Suspect(error) | BatchEnd::GiveUp(error) => {
                    tracing::warn!(%error, jobs = jobs.len(), "a shared commit failed");
                    for job in jobs {
                        let _ = job.answer.send(Err(error.for_neighbour()));
                    }
                    return;
                }
            }
        }
    }

    /// One database transaction for the whole batch, a savepoint per job
    /// (none when the batch is one job).
    fn run_batch(&self, jobs: &mut [Job<T, E>]) -> BatchEnd<T, E> {
        // Gate first, then connection: queued writers must not hold pooled
        // connections that readers need.
        let _gate = self.db.write_gate();
        let mut pooled = match self.db.connection() {
            Ok(pooled) => pooled,
            Err(error) => return BatchEnd::GiveUp(error.into()),
        };
        let conn: &mut DbConnection = &mut pooled;
        let mark = match begin(conn) {
            Ok(mark) => mark,
            Err(error) => {
                abandon(conn);
                return BatchEnd::Refused(error.into());
            }
        };
        let mut outcomes = Vec::with_capacity(jobs.len());
        let savepoints = jobs.len() > 1;
        for (index, job) in jobs.iter_mut().enumerate() {
            match self.run_job(conn, &mut job.work, savepoints) {
                JobEnd::Done(outcome) => outcomes.push(outcome),
                JobEnd::Failed(error) => {
                    // Only this job's work is in the transaction.
                    if Manager::rollback_transaction(conn).is_err() || depth(conn) != Some(0) {
                        abandon(conn);
                    }
                    return BatchEnd::Failed(error);
                }
                JobEnd::Culprit(error) => {
                    abandon(conn);
                    return BatchEnd::Culprit(index, error);
                }
            }
        }
        let ended = || E::not_committed("the shared transaction was no longer usable at commit");
        if depth(conn) != Some(1) {
            abandon(conn);
            return BatchEnd::Suspect(ended());
        }
        match commit_marked(conn, &mark) {
            Ok(()) if depth(conn) == Some(0) => BatchEnd::Committed(outcomes),
            Ok(()) => {
                // Only a savepoint was released: nothing is committed.
                abandon(conn);
                BatchEnd::Suspect(E::not_committed("the commit did not end the transaction"))
            }
            Err(error) if ended_before_commit(&error) => {
                abandon(conn);
                BatchEnd::Suspect(ended())
            }
            Err(error) if outcome_is_unknown(&error) => {
                abandon(conn);
                BatchEnd::GiveUp(E::not_committed(
                    "the connection was lost while committing; retry with the same Idempotency-Key",
                ))
            }
            Err(error) => {
                abandon(conn);
                BatchEnd::Refused(error.into())
            }
        }
    }

    /// One job in its own savepoint, run again there when it fails
    /// transiently; or, without `savepoint`, in the transaction itself, its
    /// error left for the caller to roll the transaction back.
    fn run_job(
        &self,
        conn: &mut DbConnection,
        work: &mut Work<T, E>,
        savepoint: bool,
    ) -> JobEnd<T, E> {
        let mut attempt = 1;
        loop {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                if savepoint {
                    conn.transaction(|sp| work(sp))
                } else {
                    work(conn)
                }
            }));
            let Ok(outcome) = outcome else {
                return JobEnd::Culprit(E::panicked());
            };
            // The job's savepoint must be closed, and only it: the shared
            // transaction is depth 1.
            if depth(conn) != Some(1) {
                return JobEnd::Culprit(E::unsettled(
                    "the job left the transaction at another depth",
                ));
            }
            match outcome {
                Err(error) if !savepoint => return JobEnd::Failed(error),
                Err(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => {
                    attempt += 1;
                    self.counters.retries.inc();
                }
                other => return JobEnd::Done(other),
            }
        }
    }
}

type Manager = <DbConnection as Connection>::TransactionManager;

/// The transaction depth diesel tracks (0 outside a transaction), or None
/// when its transaction manager is broken.
fn depth(conn: &mut DbConnection) -> Option<u32> {
    Manager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .map(|depth| depth.map_or(0, NonZeroU32::get))
}

/// Rolls the whole transaction back and marks the connection broken, so
/// that the pool closes it instead of lending it again.
fn abandon(conn: &mut DbConnection) {
    let _ = conn.batch_execute("ROLLBACK");
    Manager::transaction_manager_status_mut(conn).set_in_error();
}

/// The setting that marks the batch's transaction on PostgreSQL: set with
/// `SET LOCAL`, it lives exactly as long as that transaction.
const BATCH_MARK: &str = "commons_ledger.batch";

/// What [`commit_marked`] answers when the transaction open at commit is not
/// the one the batch began, or no longer usable.
const ENDED_BEFORE_COMMIT: &str = "the batch's transaction ended before its commit";

/// Begins the batch's transaction and marks it with a fresh time-ordered
/// UUID, returned for [`commit_marked`] to look for: on PostgreSQL in a
/// setting local to the transaction, on SQLite as a row of the connection's
/// temporary table `batch_marks`, either gone with the transaction if it
/// ends. `BEGIN` and the mark go in one call (one round trip on PostgreSQL).
fn begin(conn: &mut DbConnection) -> Result<String, DieselError> {
    use diesel::connection::AnsiTransactionManager;
    let mark = uuid::Uuid::now_v7().simple().to_string();
    match conn {
        DbConnection::Postgresql(pg) => AnsiTransactionManager::begin_transaction_sql(
            pg,
            &format!("BEGIN; SET LOCAL {BATCH_MARK} = '{mark}'"),
        )?,
        DbConnection::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(
            sqlite,
            &format!("BEGIN; INSERT INTO temp.batch_marks (mark) VALUES ('{mark}')"),
        )?,
    }
    Ok(mark)
}

/// Commits the batch's transaction if it is still the one [`begin`] marked:
/// the transaction a job might have ended (and another begun) has lost the
/// mark, and an aborted one refuses the check (where a `COMMIT` alone would
/// be a silent `ROLLBACK` on PostgreSQL). On PostgreSQL the check and the
/// `COMMIT` go together in one round trip, and PostgreSQL runs the `COMMIT`
/// only if the check passed; the check divides by zero when the mark is not
/// the batch's, an error no job's statement can leave behind in a
/// transaction that goes on to commit. On SQLite the mark's row is taken
/// out, then the transaction committed.
fn commit_marked(conn: &mut DbConnection, mark: &str) -> Result<(), DieselError> {
    let ended = || {
        DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(ENDED_BEFORE_COMMIT.to_owned()),
        )
    };
    match conn {
        DbConnection::Postgresql(pg) => {
            let committed = pg.batch_execute(&format!(
                "SELECT 1 / (current_setting('{BATCH_MARK}', true) IS NOT DISTINCT FROM '{mark}')::int; \
                 COMMIT"
            ));
            match committed {
                Err(DieselError::DatabaseError(_, info))
                    if info.message().contains("division by zero")
                        || info.message().contains("current transaction is aborted") =>
                {
                    Err(ended())
                }
                // libpq's report that the transaction ended has already set
                // diesel's depth back to 0 (checked by the caller).
                other => other,
            }
        }
        DbConnection::Sqlite(sqlite) => {
            #[derive(diesel::QueryableByName)]
            struct Mark {
                #[diesel(sql_type = diesel::sql_types::Text)]
                #[allow(dead_code)]
                mark: String,
            }
            let found: Vec<Mark> = diesel::RunQueryDsl::load(
                diesel::sql_query(format!(
                    "DELETE FROM temp.batch_marks WHERE mark = '{mark}' RETURNING mark"
                )),
                sqlite,
            )
            .map_err(|error| {
                // Answered as an ended transaction (nothing committed, every
                // job again alone); the cause is kept here.
                tracing::warn!(%error, "the batch's mark could not be checked");
                ended()
            })?;
            if found.len() != 1 {
                return Err(ended());
            }
            Manager::commit_transaction(conn)
        }
    }
}

/// Whether [`commit_marked`] found the batch's transaction ended or unusable
/// (nothing was committed).
fn ended_before_commit(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(_, info) if info.message() == ENDED_BEFORE_COMMIT)
}

/// Whether a failed COMMIT may still have committed (the connection went).
fn outcome_is_unknown(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, _) => matches!(
            kind,
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
        ),
        DieselError::RollbackErrorOnCommit { commit_error, .. } => outcome_is_unknown(commit_error),
        _ => false,
    }
}

/// Wraps `work` so that it misbehaves as `fault` says (tests only).
fn inject<T: Send + 'static, E: JobError>(fault: Fault, mut work: Work<T, E>) -> Work<T, E> {
    let mut attempts = 0_u32;
    Box::new(move |conn| {
        attempts += 1;
        let done = work(conn)?;
        match fault {
            Fault::Panic => panic!("injected panic after the work of a write"),
            Fault::Fail => Err(E::from(DieselError::QueryBuilderError(
                "injected failure after the work of a write".into(),
            ))),
            Fault::Transient if attempts == 1 => Err(E::from(DieselError::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                Box::new("injected serialization failure".to_owned()),
            ))),
            Fault::Transient => Ok(done),
            Fault::LeakSavepoint => {
                Manager::begin_transaction(conn)?;
                Ok(done)
            }
            Fault::Poison => {
                Manager::transaction_manager_status_mut(conn).set_in_error();
                Ok(done)
            }
            Fault::SwallowError => {
                let _ = conn.batch_execute("SELECT * FROM no_table_of_an_injected_fault");
                Ok(done)
            }
            Fault::EndTransaction => {
                // In a shared transaction the job runs at depth 2, in
                // diesel_savepoint_1; alone it runs at depth 1, and the
                // savepoint it opens stands for a neighbour's.
                conn.batch_execute("ROLLBACK; BEGIN; SAVEPOINT diesel_savepoint_1")?;
                Ok(done)
            }
        }
    })
}
