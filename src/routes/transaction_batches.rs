//! Many transactions in one request: `POST .../transactions/batch`, all or
//! none (`atomic`) or each on its own, idempotent as a whole under the
//! request's `Idempotency-Key` and per item under each item's
//! `idempotency_key`, which shares its keys with `POST .../transactions`.

use commons_ledger_macros::operation;
use std::collections::HashMap;

use actix_web::{HttpResponse, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::ProjectWrite;
use super::codes::FieldCode;
use super::dto::{Transaction, to_transaction};
use super::openapi::Forbidden;
use super::problem::{ApiError, Problem};
use super::transactions::{CreateTransactionRequest, created};
use super::write::Reply;
use crate::db::projects::Project;
use crate::db::transactions::Poster;
use crate::db::{DbConnection, idempotency};
use crate::domain::Unit;
use crate::domain::access::Action;
use crate::http::extract::{fingerprint_of, parse_idempotency_key};
use crate::http::write::error_is_final;

/// Most transactions one batch carries.
pub const BATCH_TRANSACTIONS_MAX: usize = 1_000;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_transaction_batch);
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"atomic": true, "transactions": [
    {"idempotency_key": "bank-2026-03-01-0001", "effective_date": "2026-03-01", "description": "March rent",
     "postings": [{"from": "pool:general", "to": "expense:rent", "amount": "850.00", "currency": "EUR"}]},
    {"effective_date": "2026-03-02",
     "postings": [{"from": "funder:a", "to": "pool:general", "amount": "1200.00", "currency": "EUR"}]}
]}))]
pub struct CreateTransactionBatchRequest {
    /// `true`: every transaction is posted or none is (the first refused
    /// one fails the request, 422 `batch_item_refused`); `false`: each is
    /// posted or refused on its own, with one result per transaction.
    pub atomic: bool,
    /// 1 to 1,000 transactions, in the order they are posted, each as
    /// `POST .../transactions` takes it.
    #[schema(value_type = Vec<BatchTransaction>, min_items = 1, max_items = 1000)]
    pub transactions: Vec<Value>,
}

/// One transaction of a batch: the body of `POST .../transactions`, with
/// its own optional key. Its schema is that body's with `idempotency_key`
/// added (not an `allOf`: the body's schema admits no other property, so
/// an `allOf` with it would admit no key).
#[derive(Debug, Clone, Deserialize)]
pub struct BatchTransaction {
    pub idempotency_key: Option<String>,
    #[serde(flatten)]
    pub transaction: CreateTransactionRequest,
}

impl utoipa::PartialSchema for BatchTransaction {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        let mut schema = <CreateTransactionRequest as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            let key = ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(255))
                .min_length(Some(1))
                .pattern(Some("^[!-~]+$"))
                .description(Some(
                    "This transaction's idempotency key, as an `Idempotency-Key` header of \
                     `POST .../transactions` (the same keys: a key already used by a single \
                     transaction or an earlier batch gives back that transaction, never a \
                     second one).",
                ));
            object
                .properties
                .insert("idempotency_key".to_owned(), key.build().into());
            object.description = Some(
                "One transaction of a batch: the body of `POST .../transactions`, with its own \
                 optional key."
                    .to_owned(),
            );
        }
        schema
    }
}

impl ToSchema for BatchTransaction {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <CreateTransactionRequest as ToSchema>::schemas(schemas);
    }
}

/// What became of one transaction of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// Its place in the request, from 0.
    pub index: usize,
    /// 201 when posted (or found under its key), else its problem's status.
    pub status: u16,
    /// Whether it was posted earlier, under its `idempotency_key`.
    pub replayed: bool,
    /// The transaction, when posted.
    pub transaction: Option<Transaction>,
    /// Why it was refused (non-atomic batches only).
    pub problem: Option<Problem>,
}

/// The answer to a batch: one result per transaction, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchReply {
    pub atomic: bool,
    /// Transactions posted by this request (not those found under their key).
    pub posted: usize,
    /// Transactions refused (always 0 for an atomic batch).
    pub refused: usize,
    pub results: Vec<BatchResult>,
}

/// A batch item as read: its key with its fingerprint as a single
/// `POST .../transactions` (only a keyed item needs one), and its body (or
/// why it is unreadable).
#[derive(Debug, Clone)]
struct Item {
    key: Option<(String, String)>,
    request: Result<CreateTransactionRequest, Problem>,
}

/// An item's end: posted (its transaction, and whether it was found under
/// its key) or refused.
enum Outcome {
    Posted(Box<Transaction>, bool),
    Refused(Problem),
}

/// What every item of one request shares: the caller's idempotency scope
/// and lease, the stored units, the project, and the poster that carries
/// the ledger's head and the accounts read so far from item to item.
struct Batch<'a> {
    scope: &'a str,
    lease: std::time::Duration,
    units: &'a HashMap<String, Unit>,
    project: &'a Project,
    poster: Poster<'a>,
}

/// Post a batch of transactions
///
/// Posts up to 1,000 transactions in one request.
///
/// Each item is the body of `POST .../transactions` with an optional
/// `idempotency_key`. With `"atomic": true` they are posted in one database
/// transaction, all or none: the first refused one fails the request (422
/// `batch_item_refused`, naming its index and its own code). With
/// `"atomic": false` each is posted or refused on its own and the answer
/// (200) carries one result per item. The request's `Idempotency-Key`
/// replays the whole answer; an item's key shares the keys of
/// `POST .../transactions`. One audit event records the request.
#[operation(post "/projects/{project_id}/transactions/batch", tag = "transactions",
    request_body = CreateTransactionBatchRequest, signed_in,
    responses(
        200 BatchReply "One result per transaction",
        Forbidden,
        422 "`batch_size` (no transaction, or more than 1,000), `batch_item_refused` (atomic), `idempotency_key_reused`",
    ))]
pub async fn create_transaction_batch(
    ProjectWrite { body, call }: ProjectWrite<CreateTransactionBatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let count = body.transactions.len();
    if !(1..=BATCH_TRANSACTIONS_MAX).contains(&count) {
        return Err(ApiError::field(
            "transactions",
            FieldCode::BatchSize,
            format!("a batch carries 1 to {BATCH_TRANSACTIONS_MAX} transactions, not {count}"),
        ));
    }
    let path = format!("/v1/projects/{}/transactions", call.project_id);
    let items: Vec<Item> = body
        .transactions
        .into_iter()
        .map(|v| item(&path, v))
        .collect();
    let scope = crate::http::access::idempotency_scope(&call.credentials);
    let lease = call.state.settings.idempotency_lease;
    let atomic = body.atomic;
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let units = super::stored_units(conn)?;
        let by = caller.signed_in()?.id.clone();
        let mut batch = Batch {
            scope: &scope,
            lease,
            units: &units,
            project,
            poster: Poster::from_head_of(project, &by),
        };
        let reply = post_all(conn, &mut batch, &items, atomic)?;
        Reply::new(actix_web::http::StatusCode::OK, &reply)
    })
    .await
}

/// Reads one item: its key taken out, the rest read as the body of
/// `POST .../transactions` (at `path`), fingerprinted as that request.
fn item(path: &str, mut value: Value) -> Item {
    let key = match value.as_object_mut().map(|o| o.remove("idempotency_key")) {
        Some(Some(Value::String(key))) => Some(parse_idempotency_key(key.as_bytes())),
        Some(Some(Value::Null) | None) => None,
        Some(Some(_)) => Some(Err(ApiError::InvalidBody(
            "`idempotency_key` must be a string".to_owned(),
        ))),
        None => Some(Err(ApiError::InvalidBody(
            "a transaction must be a JSON object".to_owned(),
        ))),
    };
    let (key, refused) = match key.transpose() {
        Ok(key) => (key, None),
        Err(error) => (None, Some(error.problem())),
    };
    let key = key.map(|key| {
        let fingerprint = fingerprint_of("POST", path, value.to_string().as_bytes());
        (key, fingerprint)
    });
    let request = match refused {
        Some(problem) => Err(problem),
        None => serde_json::from_value(value)
            .map_err(|e| ApiError::InvalidBody(e.to_string()).problem()),
    };
    Item { key, request }
}

/// Posts every item in order: atomic, the first refusal fails the whole
/// (the write's savepoint or transaction then undoes the rest); otherwise each in a
/// savepoint of its own, a refusal undoing only its item.
fn post_all(
    conn: &mut DbConnection,
    batch: &mut Batch<'_>,
    items: &[Item],
    atomic: bool,
) -> Result<BatchReply, ApiError> {
    let mut reply = BatchReply {
        atomic,
        posted: 0,
        refused: 0,
        results: Vec::with_capacity(items.len()),
    };
    for (index, item) in items.iter().enumerate() {
        let outcome = if atomic {
            keyed(conn, batch, item)?
        } else {
            alone(conn, batch, item)?
        };
        let result = match outcome {
            Outcome::Refused(problem) if atomic => {
                return Err(ApiError::BatchItem {
                    index,
                    problem: Box::new(problem),
                });
            }
            Outcome::Refused(problem) => {
                reply.refused += 1;
                BatchResult {
                    index,
                    status: problem.status,
                    replayed: false,
                    transaction: None,
                    problem: Some(problem),
                }
            }
            Outcome::Posted(transaction, replayed) => {
                reply.posted += usize::from(!replayed);
                BatchResult {
                    index,
                    status: 201,
                    replayed,
                    transaction: Some(*transaction),
                    problem: None,
                }
            }
        };
        reply.results.push(result);
    }
    Ok(reply)
}

/// A non-atomic item in a savepoint of its own: a refusal undoes it, then
/// is stored under its key (as a refused `POST .../transactions` is).
/// What the poster holds is read again after a rolled-back savepoint.
fn alone(conn: &mut DbConnection, batch: &mut Batch<'_>, item: &Item) -> Result<Outcome, ApiError> {
    let attempt = diesel::Connection::transaction(conn, |conn| match keyed(conn, batch, item) {
        Ok(Outcome::Refused(problem)) => Err(Undo::Refused(Box::new(problem))),
        Ok(posted) => Ok(posted),
        Err(error) => Err(Undo::Failed(error)),
    });
    if attempt.is_err() {
        batch.poster.forget();
    }
    match attempt {
        Ok(posted) => Ok(posted),
        Err(Undo::Failed(error)) => Err(error),
        Err(Undo::Refused(problem)) => {
            let problem = *problem;
            if let Some((key, fingerprint)) = &item.key
                && let idempotency::Claim::Acquired { token } =
                    idempotency::claim(conn, batch.scope, key, fingerprint, batch.lease)?
            {
                let body = serde_json::to_string(&problem)
                    .map_err(|e| ApiError::internal_from("encoding a problem", e))?;
                idempotency::complete(conn, batch.scope, key, &token, problem.status, &body, None)?;
            }
            Ok(Outcome::Refused(problem))
        }
    }
}

/// Why an item's savepoint is rolled back.
enum Undo {
    Refused(Box<Problem>),
    Failed(ApiError),
}

impl From<diesel::result::Error> for Undo {
    fn from(error: diesel::result::Error) -> Self {
        Undo::Failed(error.into())
    }
}

/// An item under its key: claimed, posted and its answer stored as
/// `POST .../transactions` stores it; or the stored answer given back.
/// An unreadable item is refused before its key is claimed.
fn keyed(conn: &mut DbConnection, batch: &mut Batch<'_>, item: &Item) -> Result<Outcome, ApiError> {
    let request = match &item.request {
        Ok(request) => request,
        Err(problem) => return Ok(Outcome::Refused(problem.clone())),
    };
    let Some((key, fingerprint)) = &item.key else {
        return refused_or(post_one(conn, batch, request).map(|t| Outcome::Posted(t, false)));
    };
    match idempotency::claim(conn, batch.scope, key, fingerprint, batch.lease)? {
        idempotency::Claim::Acquired { token } => {
            let transaction = match post_one(conn, batch, request) {
                Ok(posted) => posted,
                Err(error) => return refused_or(Err(error)),
            };
            let reply = created(&batch.project.id, &transaction)?;
            let status = reply.status().as_u16();
            let stored = (status, reply.body(), reply.location());
            if !idempotency::complete(conn, batch.scope, key, &token, stored.0, stored.1, stored.2)?
            {
                return Err(ApiError::IdempotencyInFlight);
            }
            Ok(Outcome::Posted(transaction, false))
        }
        idempotency::Claim::Replay { status, body, .. } if status < 300 => {
            let transaction = serde_json::from_str(&body)
                .map_err(|e| ApiError::internal_from("a stored transaction", e))?;
            Ok(Outcome::Posted(transaction, true))
        }
        idempotency::Claim::Replay { body, .. } => serde_json::from_str(&body)
            .map(Outcome::Refused)
            .map_err(|e| ApiError::internal_from("a stored problem", e)),
        idempotency::Claim::InFlight => refused_or(Err(ApiError::IdempotencyInFlight)),
        idempotency::Claim::Mismatch => refused_or(Err(ApiError::IdempotencyKeyReused)),
    }
}

/// A refusal (4xx) as the item's outcome; any other failure fails the
/// request (a transient one runs it again).
fn refused_or(result: Result<Outcome, ApiError>) -> Result<Outcome, ApiError> {
    match result {
        Err(error) if error_is_final(&error) || matches!(error, ApiError::IdempotencyInFlight) => {
            Ok(Outcome::Refused(error.problem()))
        }
        other => other,
    }
}

/// Posts one item as `POST .../transactions` does, through the batch's
/// poster: the transaction as it is answered.
fn post_one(
    conn: &mut DbConnection,
    batch: &mut Batch<'_>,
    request: &CreateTransactionRequest,
) -> Result<Box<Transaction>, ApiError> {
    let transaction = request.parse(batch.units)?;
    let record = crate::ops::funds::post_transaction(conn, &mut batch.poster, &transaction)?;
    Ok(Box::new(to_transaction(batch.units, record)))
}
