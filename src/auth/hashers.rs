//! The service's password hashers: a fixed number of dedicated threads, each
//! owning one argon2 working memory it reuses, fed by a bounded queue.
//!
//! Guarantees, whatever the number of clients or addresses:
//! - at most `hashers` hashes run at once, so argon2 never holds more than
//!   `hashers × 19 MiB` (the memory is allocated once per thread, on its
//!   first hash, and kept);
//! - at most `queue` more wait; one more is refused at once ([`Busy::QueueFull`]);
//! - a request that waited longer than `wait` is refused when its turn
//!   comes, without hashing ([`Busy::Waited`]); one whose client has gone
//!   away is dropped without hashing.
//!
//! The threads are not those of actix's blocking pool, so database reads
//! never queue behind hashes.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::password::{self, Memory};
use crate::domain::agent::Password;

/// Why a hash was not computed. Every case means "try again shortly".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    #[error("every password hasher is busy and the queue is full")]
    QueueFull,
    #[error("the request waited too long for a password hasher")]
    Waited,
    #[error("the password hashers have stopped")]
    Stopped,
}

/// How many hashers, how long a queue, how long a wait.
#[derive(Debug, Clone, Copy)]
pub struct HasherLimits {
    pub hashers: usize,
    pub queue: usize,
    pub wait: Duration,
}

impl HasherLimits {
    /// As many hashers as `memory_mib` holds (at least one hasher's memory).
    pub fn from_memory(memory_mib: u64, queue: usize, wait: Duration) -> Result<Self, String> {
        let hashers = memory_mib / Memory::MIB;
        if hashers == 0 {
            return Err(format!(
                "the password hashing memory must hold at least one hasher ({} MiB), got {memory_mib} MiB",
                Memory::MIB
            ));
        }
        Ok(HasherLimits {
            hashers: usize::try_from(hashers).unwrap_or(usize::MAX),
            queue,
            wait,
        })
    }
}

/// What a hasher runs: given its memory, or why it will not run.
type Work = Box<dyn FnOnce(Result<&mut Memory, Busy>) + Send>;

struct Job {
    queued_at: Instant,
    work: Work,
}

/// The pool. Dropping it lets the threads finish their jobs and exit.
pub struct Hashers {
    queue: SyncSender<Job>,
    limits: HasherLimits,
}

impl std::fmt::Debug for Hashers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashers")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Hashers {
    /// Starts `limits.hashers` threads.
    pub fn start(limits: HasherLimits) -> Result<Self, String> {
        let (sender, receiver) = sync_channel::<Job>(limits.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..limits.hashers {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-hasher-{index}"))
                .spawn(move || work(&receiver, limits.wait))
                .map_err(|e| format!("cannot start a password hasher: {e}"))?;
        }
        Ok(Hashers {
            queue: sender,
            limits,
        })
    }

    pub fn limits(&self) -> HasherLimits {
        self.limits
    }

    /// Runs `f` on a hasher with its memory, or refuses at once when the
    /// queue is full.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Memory) -> R + Send + 'static,
    ) -> Result<R, Busy> {
        self.submit(f)?.await
    }

    /// Queues `f` now, or refuses at once when the queue is full; the
    /// future is its outcome.
    pub fn submit<R, F>(
        &self,
        f: F,
    ) -> Result<impl Future<Output = Result<R, Busy>> + use<R, F>, Busy>
    where
        R: Send + 'static,
        F: FnOnce(&mut Memory) -> R + Send + 'static,
    {
        self.submit_queued_at(f, Instant::now())
    }

    /// `submit`, as if queued at `queued_at` (tests backdate it).
    fn submit_queued_at<R, F>(
        &self,
        f: F,
        queued_at: Instant,
    ) -> Result<impl Future<Output = Result<R, Busy>> + use<R, F>, Busy>
    where
        R: Send + 'static,
        F: FnOnce(&mut Memory) -> R + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move |memory| {
            // The client has gone (or its request timed out): no hash.
            if sender.is_closed() {
                return;
            }
            let _ = sender.send(memory.map(f));
        });
        self.queue
            .try_send(Job { queued_at, work })
            .map_err(|error| match error {
                TrySendError::Full(_) => Busy::QueueFull,
                TrySendError::Disconnected(_) => Busy::Stopped,
            })?;
        // A hasher that panicked dropped the sender.
        Ok(async move { receiver.await.unwrap_or(Err(Busy::Stopped)) })
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Password) -> Result<Result<String, String>, Busy> {
        self.run(move |memory| password::hash_in(memory, &password))
            .await
    }

    /// Whether `candidate` matches `stored` (see [`password::verify_in`]).
    pub async fn verify(&self, stored: Option<String>, candidate: String) -> Result<bool, Busy> {
        self.run(move |memory| password::verify_in(memory, stored.as_deref(), &candidate))
            .await
    }
}

/// One hasher thread: takes jobs until the pool is dropped.
fn work(receiver: &Mutex<Receiver<Job>>, wait: Duration) {
    let mut memory: Option<Memory> = None;
    loop {
        // Hold the lock only to take a job, not while hashing.
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = job else {
            return;
        };
        if job.queued_at.elapsed() > wait {
            (job.work)(Err(Busy::Waited));
            continue;
        }
        let memory = memory.get_or_insert_with(Memory::new);
        // A panic in one job must not take the hasher (and its memory) away.
        if std::panic::catch_unwind(AssertUnwindSafe(|| (job.work)(Ok(memory)))).is_err() {
            tracing::error!("a password hash panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    /// A job that counts itself in flight, says it started, and holds its
    /// hasher until released.
    struct Probe {
        in_flight: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        started: mpsc::Sender<()>,
    }

    impl Probe {
        fn job(&self, release: mpsc::Receiver<()>) -> impl FnOnce(&mut Memory) + Send + 'static {
            let (in_flight, most, started) = (
                self.in_flight.clone(),
                self.most.clone(),
                self.started.clone(),
            );
            move |_memory| {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                started.send(()).expect("test listens");
                release.recv().expect("released");
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn limits(hashers: usize, queue: usize, wait: Duration) -> HasherLimits {
        HasherLimits {
            hashers,
            queue,
            wait,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_there_are_hashers_and_a_full_queue_refuses() {
        let pool =
            Arc::new(Hashers::start(limits(2, 3, Duration::from_secs(3_600))).expect("pool"));
        let (started_tx, started) = mpsc::channel();
        let probe = Probe {
            in_flight: Arc::new(AtomicUsize::new(0)),
            most: Arc::new(AtomicUsize::new(0)),
            started: started_tx,
        };
        let mut releases = Vec::new();
        let mut running = Vec::new();
        // Queued synchronously, so what is admitted is known here.
        let mut submit = |pool: &Arc<Hashers>| {
            let (release, wait) = mpsc::channel();
            releases.push(release);
            let outcome = pool.submit(probe.job(wait)).expect("admitted");
            running.push(tokio::spawn(outcome));
        };
        // Two take the hashers...
        submit(&pool);
        submit(&pool);
        started.recv().expect("first started");
        started.recv().expect("second started");
        // ...three wait in the queue...
        for _ in 0..3 {
            submit(&pool);
        }
        // ...and the next is refused at once.
        let refused = pool.run(|_| ()).await;
        assert_eq!(refused, Err(Busy::QueueFull), "queue of 3 is full");
        assert_eq!(
            started.try_recv(),
            Err(mpsc::TryRecvError::Empty),
            "no queued job started while both hashers were held"
        );
        // Release them one at a time: each frees a hasher for a queued job.
        for release in &releases {
            release.send(()).expect("job waiting");
        }
        for task in running {
            assert_eq!(task.await.expect("task"), Ok(()), "every admitted job ran");
        }
        assert_eq!(
            probe.most.load(Ordering::SeqCst),
            2,
            "never more in flight than hashers"
        );
        assert_eq!(
            pool.run(|_| 7).await,
            Ok(7),
            "the pool serves again once drained"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_waited_too_long_is_refused_without_running() {
        let wait = Duration::from_secs(60);
        let pool = Hashers::start(limits(1, 1, wait)).expect("pool");
        let ran = Arc::new(AtomicUsize::new(0));
        let count = |ran: &Arc<AtomicUsize>| {
            let ran = ran.clone();
            move |_: &mut Memory| {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        };
        let long_ago = Instant::now()
            .checked_sub(wait * 2)
            .expect("the clock is past two minutes");
        assert_eq!(
            pool.submit_queued_at(count(&ran), long_ago)
                .expect("queued")
                .await,
            Err(Busy::Waited),
            "queued twice as long as allowed"
        );
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the late job never ran");
        assert_eq!(pool.run(count(&ran)).await, Ok(()), "a fresh job runs");
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_memory_budget_sets_the_number_of_hashers() {
        let wait = Duration::from_secs(1);
        assert_eq!(
            HasherLimits::from_memory(80, 8, wait).map(|l| l.hashers),
            Ok(4)
        );
        assert_eq!(
            HasherLimits::from_memory(19, 8, wait).map(|l| l.hashers),
            Ok(1)
        );
        assert!(HasherLimits::from_memory(18, 8, wait).is_err());
    }
}
