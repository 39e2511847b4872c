//! Group commit: concurrent write requests share one database transaction.
//!
//! Each write request hands its work to a committer thread and waits. A
//! committer takes every request queued at that moment (up to
//! `--group-commit-max`), opens one database transaction, runs each request in a
//! savepoint of its own, and commits once. So:
//!
//! - each request is still atomic: a request that fails is rolled back to its
//!   savepoint and answered with its error, and never fails its neighbours;
//! - each request is still idempotent: its key is claimed and its answer
//!   stored inside its savepoint;
//! - a request is answered only after the shared commit is durable;
//! - one commit (one fsync, one hold of the project's row lock) serves many
//!   requests, which is what lifts throughput past the database's
//!   per-commit limit under concurrency. With one client, a batch is one
//!   request and nothing changes.
//!
//! A transient failure of one request (a lock timeout, a deadlock) is retried
//! in a new savepoint, up to [`crate::db::WRITE_ATTEMPTS`] times; a transient
//! failure of the commit itself runs the whole batch again
//! ([`crate::db::Database::write`]), which is why the work is `FnMut`.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use diesel::Connection;

use super::problem::ApiError;
use super::write::Reply;
use crate::db::{Database, DbConnection, Transient, WRITE_ATTEMPTS};

/// Most requests one database transaction carries, by default: on SQLite,
/// where a commit is the one expensive step, as many as are waiting; on
/// PostgreSQL a few, because every request of a batch updates the same
/// project row inside one open transaction, whose dead versions cannot be
/// pruned until it ends, so long batches slow down (measured in
/// docs/benchmarks.md).
pub const BATCH_MAX_SQLITE: usize = 128;
pub const BATCH_MAX_POSTGRES: usize = 4;

/// A request's work: its reply, and whether it was replayed from a key.
pub type Outcome = Result<(Reply, bool), ApiError>;
type Work = Box<dyn FnMut(&mut DbConnection) -> Outcome + Send>;

struct Job {
    work: Work,
    answer: tokio::sync::oneshot::Sender<Outcome>,
}

/// The queue of write requests and the threads that commit them.
/// The committer threads end when the queue is dropped with the application.
pub struct Committer {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Committer {
    /// Starts `threads` committers on `db`. One is enough on SQLite (one
    /// writer at a time anyway); on PostgreSQL several let writes to
    /// different projects commit in parallel.
    pub fn start(
        db: Arc<Database>,
        threads: usize,
        batch_max: usize,
        metrics: &crate::metrics::Metrics,
    ) -> Committer {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let db = db.clone();
            let receiver = receiver.clone();
            let counters = (
                metrics.commit_batches.clone(),
                metrics.commit_requests.clone(),
            );
            std::thread::Builder::new()
                .name(format!("committer-{i}"))
                .spawn(move || committer(&db, &receiver, batch_max.max(1), &counters))
                .expect("start a committer thread");
        }
        Committer {
            queue: Mutex::new(Some(sender)),
        }
    }

    /// Runs `work` in the next shared transaction and answers once it is
    /// committed (or refused).
    pub async fn submit(
        &self,
        work: impl FnMut(&mut DbConnection) -> Outcome + Send + 'static,
    ) -> Outcome {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job {
            work: Box::new(work),
            answer,
        };
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|queue| queue.send(job).is_ok());
        if sent != Some(true) {
            return Err(ApiError::Unavailable);
        }
        answered
            .await
            .unwrap_or_else(|_| Err(ApiError::Internal("the committer stopped".to_owned())))
    }
}

fn committer(
    db: &Database,
    receiver: &Mutex<mpsc::Receiver<Job>>,
    batch_max: usize,
    (batches, requests): &(
        prometheus_client::metrics::counter::Counter,
        prometheus_client::metrics::counter::Counter,
    ),
) {
    loop {
        // Take the queue, wait for one job, then everything already queued.
        let mut batch = {
            let receiver = receiver
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Ok(first) = receiver.recv() else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < batch_max {
                match receiver.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        batches.inc();
        requests.inc_by(batch.len() as u64);
        commit(db, &mut batch);
    }
}

/// One database transaction for the whole batch, a savepoint per request.
fn commit(db: &Database, batch: &mut Vec<Job>) {
    let outcome = db.write(|conn| -> Result<Vec<Outcome>, ApiError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for job in batch.iter_mut() {
            outcomes.push(run_one(conn, &mut job.work));
        }
        Ok(outcomes)
    });
    match outcome {
        Ok(outcomes) => {
            for (job, outcome) in batch.drain(..).zip(outcomes) {
                // The client may have gone (a timeout): nothing to tell.
                let _ = job.answer.send(outcome);
            }
        }
        Err(error) => {
            // The commit itself failed: nothing of the batch was kept.
            tracing::warn!(%error, requests = batch.len(), "a shared commit failed");
            for job in batch.drain(..) {
                let _ = job.answer.send(Err(copy(&error)));
            }
        }
    }
}

/// One request in its own savepoint, retried there when it fails transiently.
fn run_one(conn: &mut DbConnection, work: &mut Work) -> Outcome {
    let mut attempt = 1;
    loop {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            conn.transaction(|savepoint| work(savepoint))
        }))
        .unwrap_or_else(|_| Err(ApiError::Internal("a write panicked".to_owned())));
        match outcome {
            Err(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

/// The same failure, for every request of a batch.
fn copy(error: &ApiError) -> ApiError {
    match error {
        ApiError::Busy(message) => ApiError::Busy(message.clone()),
        ApiError::Unavailable => ApiError::Unavailable,
        other => ApiError::Internal(other.to_string()),
    }
}
