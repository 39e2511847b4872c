//! The service's metrics and their Prometheus (OpenMetrics) text format;
//! `/metrics` and the middleware that measures every request are in
//! [`crate::routes::metrics`].
//!
//! Routes are labelled by their pattern (`/v1/projects/{project_id}/accounts`),
//! never by the concrete path, so the number of series stays bounded.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

/// Registers `metric` as `name` with its `help` text and hands it back: the
/// registry keeps one handle, the service counts through the other.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// A histogram of durations, requests' and computations' alike: 0.5 ms to
/// about 16 s, doubling.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: String,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    timeouts: Counter,
    pool: Family<PoolLabels, Gauge>,
    pool_size: Gauge,
    idempotency_replays: Counter,
    idempotency_conflicts: Counter,
    computation_retries: Counter,
    computations: Histogram,
    /// The write pipeline's counters (batches, the requests they carried,
    /// retries and re-runs).
    pub writes: crate::write_pipeline::Counters,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("commons_ledger");
        let requests = registered(
            &mut registry,
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            Family::<RequestLabels, Counter>::default(),
        );
        let durations = registered(
            &mut registry,
            "http_request_duration_seconds",
            "Time from receiving a request to its response, by method and route pattern",
            Family::<RouteLabels, Histogram>::new_with_constructor(duration_histogram),
        );
        let timeouts = registered(
            &mut registry,
            "http_request_timeouts",
            "Requests answered 503 request_timeout after --request-timeout-s",
            Counter::default(),
        );
        let pool = registered(
            &mut registry,
            "db_pool_connections",
            "Database connections of this instance's pool, by state (idle, in_use)",
            Family::<PoolLabels, Gauge>::default(),
        );
        let pool_size = registered(
            &mut registry,
            "db_pool_max_connections",
            "The pool's largest size (--pool-size)",
            Gauge::default(),
        );
        let idempotency_replays = registered(
            &mut registry,
            "idempotency_replays",
            "Requests answered from a stored Idempotency-Key response",
            Counter::default(),
        );
        let idempotency_conflicts = registered(
            &mut registry,
            "idempotency_conflicts",
            "Requests refused because their Idempotency-Key was in flight or reused",
            Counter::default(),
        );
        let computation_retries = registered(
            &mut registry,
            "computation_retries",
            "Computations made outside the writer (distribution drafts, imports) made again because what they read changed before their result was written",
            Counter::default(),
        );
        let computations = registered(
            &mut registry,
            "computation_duration_seconds",
            "Time computations made outside the writer (distribution drafts, imports) took in their read snapshot; the rest of such a request's time is its write",
            duration_histogram(),
        );
        let writes = crate::write_pipeline::Counters::default();
        for (name, help, counter) in [
            (
                "group_commits",
                "Shared database transactions committed (each carries one or more write requests)",
                &writes.batches,
            ),
            (
                "group_commit_requests",
                "Write requests carried by shared transactions; divided by group_commits, the mean batch",
                &writes.requests,
            ),
            (
                "write_retries",
                "Write requests run again after a transient failure (a lock timeout, a deadlock): in a new savepoint, or a new transaction when alone in theirs",
                &writes.retries,
            ),
            (
                "write_batch_reruns",
                "Shared transactions run again because a request in them panicked or unsettled the connection, or the commit was refused",
                &writes.reruns,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        Metrics {
            writes,
            registry,
            requests,
            durations,
            timeouts,
            pool,
            pool_size,
            idempotency_replays,
            idempotency_conflicts,
            computation_retries,
            computations,
        }
    }

    pub fn idempotency_replayed(&self) {
        self.idempotency_replays.inc();
    }

    /// A computation outside the writer took `elapsed` in its snapshot.
    pub fn computed(&self, elapsed: Duration) {
        self.computations.observe(elapsed.as_secs_f64());
    }

    pub fn computation_retried(&self) {
        self.computation_retries.inc();
    }

    pub fn idempotency_conflict(&self) {
        self.idempotency_conflicts.inc();
    }

    /// Exports `statements`, the database pool's count of SQL statements.
    pub fn count_statements(&mut self, statements: Counter) {
        self.registry.register(
            "db_statements",
            "SQL statements run by this instance's database connections, transaction control included",
            statements,
        );
    }

    /// Counts a request that ran past its time limit.
    pub fn timed_out(&self) {
        self.timeouts.inc();
    }

    /// Counts and times one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the pool's gauges read now.
    pub fn render(&self, pool: (u32, u32, u32)) -> Result<String, std::fmt::Error> {
        let (size, connections, idle) = pool;
        self.pool_size.set(i64::from(size));
        for (state, value) in [("idle", idle), ("in_use", connections.saturating_sub(idle))] {
            self.pool
                .get_or_create(&PoolLabels {
                    state: state.to_owned(),
                })
                .set(i64::from(value));
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
