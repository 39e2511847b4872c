//! The write path shared by every POST: the request's work goes through the
//! [write pipeline](crate::write_pipeline), in which the `Idempotency-Key` is
//! claimed first and the response stored last, in the effect's savepoint (or its
//! transaction, when it is the only write in it).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

pub use super::reply::{REPLAYED_HEADER, Reply, Writes};

use super::problem::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::db::{DbConnection, idempotency};
use crate::http::state::AppState;

/// Runs `work` in one database transaction and answers with its reply.
/// `work` is cloned for each attempt: a transient database failure (see
/// [`crate::db::Database::write`]) runs it again from the start.
///
/// With an idempotency key: the key is claimed in the same transaction as
/// the effect, and the reply stored there too, so one commit makes both
/// durable and a crash leaves neither. A completed key replays its stored
/// response; a key used with another request is refused. A refusal (4xx) is
/// stored as well, in a transaction of its own, so a retry fails the same
/// way; after a fault (5xx) nothing was kept and a retry runs anew.
pub async fn run(
    state: &web::Data<AppState>,
    project: Option<String>,
    scope: String,
    key: Option<String>,
    fingerprint: String,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError> + Clone + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let idempotency = Idempotency::chosen(scope, key, fingerprint);
    run_keyed(state, project, idempotency, work, Sharing::Shared).await
}

/// Like [`run`], for a key derived from the request's content rather than
/// chosen by the client (an uploaded file's hash): a success is replayed,
/// but a refusal is not stored, so the same file may be sent again once
/// what refused it (a missing rate, say) has been put right.
pub async fn run_content_keyed(
    state: &web::Data<AppState>,
    project: Option<String>,
    scope: String,
    key: String,
    fingerprint: String,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError> + Clone + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let idempotency = Idempotency::content(scope, key, fingerprint);
    run_keyed(state, project, idempotency, work, Sharing::Shared).await
}

/// How many times a computation made outside the writer is made again when
/// what it read changed before its result could be written.
pub const COMPUTE_ATTEMPTS: u32 = 3;

/// Long work kept out of the writer: `compute` reads and computes in a read
/// snapshot (no write lock held: other writes go on meanwhile), then
/// `commit` writes its result through the pipeline like [`run`], in a short
/// transaction that re-checks what the computation depended on and answers
/// [`ApiError::ChangedDuringComputation`] if it changed. The computation is
/// then made again from a new snapshot, up to [`COMPUTE_ATTEMPTS`] times in
/// all, before that 409 reaches the client.
///
/// A refusal from `compute` is answered as if the write had refused it: with
/// an idempotency key it is stored (or a stored answer replayed instead),
/// exactly as [`run`] does. A retry of an answered request is replayed
/// without computing anything.
pub async fn run_computed<C: Send + Sync + 'static>(
    state: &web::Data<AppState>,
    project: Option<String>,
    idempotency: Idempotency,
    compute: impl Fn(&mut DbConnection) -> Result<C, ApiError> + Send + Sync + 'static,
    commit: impl Fn(&mut DbConnection, &C) -> Result<Reply, ApiError> + Send + Sync + 'static,
) -> Result<HttpResponse, ApiError> {
    if answered(state, &idempotency).await? {
        // The claim alone replays it (or refuses the key's reuse).
        let stored = |_: &mut DbConnection| Err(ApiError::ChangedDuringComputation("the answer"));
        return run_keyed(state, project, idempotency, stored, Sharing::Shared).await;
    }
    let (compute, commit) = (Arc::new(compute), Arc::new(commit));
    let mut attempt = 1;
    loop {
        let started = std::time::Instant::now();
        let computed = in_snapshot(state, compute.clone()).await?;
        state.metrics.computed(started.elapsed());
        let computed = match computed {
            Ok(computed) => Arc::new(computed),
            Err(refusal) => return refuse(state, project, idempotency, refusal).await,
        };
        let writing = commit.clone();
        let work = move |conn: &mut DbConnection| writing(conn, &computed);
        match run_keyed(
            state,
            project.clone(),
            idempotency.clone(),
            work,
            Sharing::Alone,
        )
        .await
        {
            Err(ApiError::ChangedDuringComputation(_)) if attempt < COMPUTE_ATTEMPTS => {
                state.metrics.computation_retried();
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether the request's key already holds a stored answer.
async fn answered(
    state: &web::Data<AppState>,
    idempotency: &Idempotency,
) -> Result<bool, ApiError> {
    let Some(key) = idempotency.key.clone() else {
        return Ok(false);
    };
    let scope = idempotency.scope.clone();
    super::read(state, move |conn| {
        Ok(idempotency::answered(conn, &scope, &key)?)
    })
    .await
}

/// Runs `compute` in a read snapshot of its own, outside the writer.
async fn in_snapshot<C: Send + 'static>(
    state: &web::Data<AppState>,
    compute: Arc<impl Fn(&mut DbConnection) -> Result<C, ApiError> + Send + Sync + 'static>,
) -> Result<Result<C, ApiError>, ApiError> {
    let reader = state.clone();
    Ok(web::block(move || {
        reader.db.snapshot(|conn| {
            let computed = compute(conn);
            // Still inside the snapshot, as a slow computation would be.
            if let Some(hooks) = &reader.settings.test_hooks {
                hooks.computed();
            }
            computed
        })
    })
    .await?)
}

/// A computation's refusal, answered as a write's: through the key when
/// there is one (stored as a refusal, or a stored answer replayed).
async fn refuse(
    state: &web::Data<AppState>,
    project: Option<String>,
    idempotency: Idempotency,
    refusal: ApiError,
) -> Result<HttpResponse, ApiError> {
    if idempotency.key.is_none() || !error_is_final(&refusal) {
        return Err(refusal);
    }
    let refusal = Arc::new(std::sync::Mutex::new(Some(refusal)));
    let work = move |_: &mut DbConnection| {
        Err(refusal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or(ApiError::ChangedDuringComputation("the request")))
    };
    run_keyed(state, project, idempotency, work, Sharing::Shared).await
}

/// How a write is made safe to retry: its scope (the caller), its key and
/// the fingerprint of the request the key was first used with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub scope: String,
    pub key: Option<String>,
    pub fingerprint: String,
    /// Whether a refusal is stored under the key (see [`run`] and
    /// [`run_content_keyed`]).
    pub store_refusals: bool,
}

impl Idempotency {
    /// A key the client chose (or none): refusals are stored.
    pub fn chosen(scope: String, key: Option<String>, fingerprint: String) -> Self {
        Idempotency {
            scope,
            key,
            fingerprint,
            store_refusals: true,
        }
    }

    /// A key derived from the request's content: refusals are not stored.
    pub fn content(scope: String, key: String, fingerprint: String) -> Self {
        Idempotency {
            scope,
            key: Some(key),
            fingerprint,
            store_refusals: false,
        }
    }
}

/// A write's reply and whether it was replayed from its key.
type Answer = (Reply, bool);

/// Whether a write shares its transaction with others (the pipeline's
/// group commit) or has one of its own (a long write: see
/// [`crate::write_pipeline::WritePipeline::submit_alone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sharing {
    Shared,
    Alone,
}

async fn submit<J>(
    state: &web::Data<AppState>,
    project: Option<String>,
    sharing: Sharing,
    job: J,
) -> Result<Answer, ApiError>
where
    J: FnMut(&mut DbConnection) -> Result<Answer, ApiError> + Send + 'static,
{
    match sharing {
        Sharing::Shared => state.writes.submit(project, job).await,
        Sharing::Alone => state.writes.submit_alone(project, job).await,
    }
}

async fn run_keyed(
    state: &web::Data<AppState>,
    project: Option<String>,
    idempotency: Idempotency,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError> + Clone + Send + 'static,
    sharing: Sharing,
) -> Result<HttpResponse, ApiError> {
    let Some(key) = idempotency.key.clone() else {
        // A copy of the work per attempt: the database may ask for it again.
        let job = move |conn: &mut DbConnection| work.clone()(conn).map(|reply| (reply, false));
        let (reply, replayed) = submit(state, project, sharing, job).await?;
        return Ok(respond(&reply, replayed));
    };
    let lease = state.settings.idempotency_lease;
    // The claim, the effect and the stored answer commit together: one
    // transaction, one durable commit. A concurrent request with the same
    // key waits on the claim's row (PostgreSQL) or finds it in the same
    // shared transaction, then finds the answer stored and replays it.
    let (scope, fingerprint) = (idempotency.scope.clone(), idempotency.fingerprint.clone());
    let job = move |conn: &mut DbConnection| {
        claimed(conn, (&scope, &key, &fingerprint), lease, work.clone())
    };
    match submit(state, project.clone(), sharing, job).await {
        Ok((reply, replayed)) => {
            if replayed {
                state.metrics.idempotency_replayed();
            }
            Ok(respond(&reply, replayed))
        }
        Err(error @ (ApiError::IdempotencyInFlight | ApiError::IdempotencyKeyReused)) => {
            state.metrics.idempotency_conflict();
            Err(error)
        }
        Err(error) if idempotency.store_refusals && error_is_final(&error) => {
            store_refusal(state, project, &idempotency, &error).await?;
            Err(error)
        }
        // A fault: nothing was kept, not even the claim; a retry runs anew.
        Err(error) => Err(error),
    }
}

/// In the write's savepoint: claims the key, then runs `work` and stores
/// its reply under the key, or finds the stored answer to replay.
fn claimed(
    conn: &mut DbConnection,
    (scope, key, fingerprint): (&str, &str, &str),
    lease: std::time::Duration,
    work: impl FnOnce(&mut DbConnection) -> Result<Reply, ApiError>,
) -> Result<Answer, ApiError> {
    match idempotency::claim(conn, scope, key, fingerprint, lease)? {
        idempotency::Claim::Acquired { token } => {
            let reply = work(conn)?;
            let (status, body) = (reply.status().as_u16(), reply.body());
            if !idempotency::complete(conn, scope, key, &token, status, body, reply.location())? {
                // A claim left by a crashed request was taken over meanwhile.
                return Err(ApiError::IdempotencyInFlight);
            }
            Ok((reply, false))
        }
        idempotency::Claim::Replay {
            status,
            body,
            location,
        } => {
            let status = StatusCode::from_u16(status)
                .map_err(|e| ApiError::internal_from("a stored status", e))?;
            Ok((Reply::stored(status, body, location), true))
        }
        // Only a claim committed without its answer (left by a crash
        // of an older release, which claimed first) is ever in flight.
        idempotency::Claim::InFlight => Err(ApiError::IdempotencyInFlight),
        idempotency::Claim::Mismatch => Err(ApiError::IdempotencyKeyReused),
    }
}

/// The refusal rolled the claim back with the effect: store it under the
/// key on its own, so that a retry is refused the same way.
async fn store_refusal(
    state: &web::Data<AppState>,
    project: Option<String>,
    idempotency: &Idempotency,
    error: &ApiError,
) -> Result<(), ApiError> {
    let problem = serde_json::to_string(&error.problem())
        .map_err(|e| ApiError::internal_from("encoding a problem", e))?;
    let code = actix_web::ResponseError::status_code(error);
    let (status, lease) = (code.as_u16(), state.settings.idempotency_lease);
    let Idempotency {
        scope,
        key,
        fingerprint,
        ..
    } = idempotency.clone();
    let key = key.unwrap_or_default();
    let job = move |conn: &mut DbConnection| -> Result<Answer, ApiError> {
        if let idempotency::Claim::Acquired { token } =
            idempotency::claim(conn, &scope, &key, &fingerprint, lease)?
        {
            idempotency::complete(conn, &scope, &key, &token, status, &problem, None)?;
        }
        // Ok keeps the savepoint; the reply itself is not used.
        Ok((Reply::stored(code, String::new(), None), false))
    };
    // Storing it is a courtesy to a retry; the refusal is answered anyway.
    state.writes.submit(project, job).await.ok();
    Ok(())
}

/// Whether a failed request's answer is stored against its key: refusals
/// are (the same request keeps failing the same way); faults, conflicts over
/// the key itself and authentication failures (the caller may sign in again
/// and retry) are not.
pub fn error_is_final(error: &ApiError) -> bool {
    let status = actix_web::ResponseError::status_code(error);
    status.is_client_error()
        && !matches!(
            error,
            ApiError::IdempotencyInFlight
                | ApiError::ChangedDuringComputation(_)
                | ApiError::Unauthorized(_)
                | ApiError::TooManyAttempts(_)
        )
}

fn respond(reply: &Reply, replayed: bool) -> HttpResponse {
    let content_type = if reply.status().is_success() {
        "application/json"
    } else {
        PROBLEM_CONTENT_TYPE
    };
    let mut response = HttpResponse::build(reply.status());
    response.content_type(content_type);
    if replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    if let Some(location) = reply.location() {
        response.insert_header((actix_web::http::header::LOCATION, location));
    }
    response.body(reply.body().to_owned())
}
