//! `/v1/projects/{project_id}/transactions`: posting to the ledger, reading it
//! back, and reversing a transaction (once).

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::access;
use super::codes::{FieldCode, Resource};
use super::dto::{Posting, Transaction, TransactionKindDto, to_transaction};
use super::extract::{
    IdempotencyKey, JsonBody, decode_number_cursor, next_cursor, page_size, parse_date,
};
use super::openapi::Forbidden;
use super::problem::{ApiError, FieldError, Problem};
use super::read;
use super::write::{self, Reply};
use crate::auth::{Authenticated, Credentials};
use crate::db::transactions::{TransactionFilter, TransactionRecord};
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::transaction::{
    DESCRIPTION_LENGTH_MAX, METADATA_BYTES_MAX, POSTINGS_PER_TRANSACTION_MAX,
};
use crate::domain::transaction::{StoredPosting, StoredTransaction, reversal_of};
use crate::domain::{AccountName, Amount, NewPosting, NewTransaction, TransactionKind, Unit};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_transaction)
        .service(list_transactions)
        .service(get_transaction)
        .service(create_reversal);
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransactionRequest {
    /// `transfer` (default) or `adjustment`; other kinds are posted by their own endpoints.
    #[serde(default = "default_kind")]
    pub kind: TransactionKindDto,
    /// Business date, `YYYY-MM-DD`.
    #[schema(example = "2026-03-01", format = Date, max_length = 10)]
    pub effective_date: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// Free-form JSON object, at most 8 KiB.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// One to 500 postings, applied in order.
    #[schema(min_items = 1, max_items = 500)]
    pub postings: Vec<Posting>,
}

fn default_kind() -> TransactionKindDto {
    TransactionKindDto::Transfer
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReversalRequest {
    /// Business date of the reversal (default: the original's).
    #[schema(example = "2026-03-02", format = Date, max_length = 10)]
    pub effective_date: Option<String>,
    /// Why the transaction is reversed.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransactionPage {
    pub items: Vec<Transaction>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Cursor from the previous page's `next_cursor`.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// Earliest effective date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Latest effective date, inclusive (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
    /// Only transactions with a posting to or from this account.
    #[param(max_length = 200)]
    pub account: Option<String>,
    /// Only transactions of this kind.
    pub kind: Option<TransactionKindDto>,
}

impl CreateTransactionRequest {
    /// Parses the request into a domain transaction, collecting every invalid
    /// field. Units are resolved as stored (scale fixed on first use).
    fn parse(&self, units: &HashMap<String, Unit>) -> Result<NewTransaction, ApiError> {
        let mut errors = Vec::new();
        let kind = TransactionKind::from(self.kind);
        if !kind.is_generic() {
            errors.push(FieldError::new(
                "kind",
                FieldCode::KindReserved,
                format!(
                    "`{}` transactions are recorded through their own endpoint",
                    kind.as_str()
                ),
            ));
        }
        let effective_date = parse_date("effective_date", &self.effective_date)
            .map_err(|e| errors.push(e))
            .ok();
        if self.description.chars().count() > DESCRIPTION_LENGTH_MAX {
            errors.push(FieldError::new(
                "description",
                FieldCode::TooLong,
                format!("at most {DESCRIPTION_LENGTH_MAX} characters"),
            ));
        }
        let metadata = serde_json::Value::Object(self.metadata.clone()).to_string();
        if metadata.len() > METADATA_BYTES_MAX {
            errors.push(FieldError::new(
                "metadata",
                FieldCode::MetadataTooLarge,
                format!("at most {METADATA_BYTES_MAX} bytes of JSON"),
            ));
        }
        if self.postings.is_empty() {
            errors.push(FieldError::new(
                "postings",
                FieldCode::NoPostings,
                "a transaction needs at least one posting",
            ));
        }
        if self.postings.len() > POSTINGS_PER_TRANSACTION_MAX {
            errors.push(FieldError::new(
                "postings",
                FieldCode::TooManyPostings,
                format!("at most {POSTINGS_PER_TRANSACTION_MAX} postings per transaction"),
            ));
        }
        let mut postings = Vec::with_capacity(self.postings.len());
        for (index, posting) in self
            .postings
            .iter()
            .enumerate()
            .take(POSTINGS_PER_TRANSACTION_MAX)
        {
            if let Some(posting) = parse_posting(index, posting, units, &mut errors) {
                postings.push(posting);
            }
        }
        match effective_date {
            Some(effective_date) if errors.is_empty() => Ok(NewTransaction {
                kind,
                effective_date,
                description: self.description.clone(),
                metadata,
                postings,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

fn parse_posting(
    index: usize,
    posting: &Posting,
    units: &HashMap<String, Unit>,
    errors: &mut Vec<FieldError>,
) -> Option<NewPosting> {
    let field = |name: &str| format!("postings[{index}].{name}");
    let from = AccountName::parse(&posting.from)
        .map_err(|e| {
            errors.push(FieldError::new(
                field("from"),
                FieldCode::InvalidAccountName,
                e,
            ))
        })
        .ok();
    let to = AccountName::parse(&posting.to)
        .map_err(|e| {
            errors.push(FieldError::new(
                field("to"),
                FieldCode::InvalidAccountName,
                e,
            ))
        })
        .ok();
    let unit = super::resolve_unit(units, &posting.currency)
        .map_err(|e| {
            errors.push(FieldError::new(
                field("currency"),
                FieldCode::UnknownCurrency,
                e,
            ))
        })
        .ok()?;
    let amount = Amount::parse(&posting.amount, &unit)
        .map_err(|e| errors.push(FieldError::new(field("amount"), FieldCode::from(&e), &e)))
        .ok()?;
    Some(NewPosting {
        from: from?,
        to: to?,
        amount,
        unit: unit.code().to_owned(),
    })
}

fn reply_with(conn: &mut DbConnection, record: TransactionRecord) -> Result<Reply, ApiError> {
    let units = super::stored_units(conn)?;
    Reply::created(&to_transaction(&units, record))
}

/// Post a transaction: all postings or none.
#[utoipa::path(
    tag = "transactions",
    request_body = CreateTransactionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The posted transaction", body = Transaction),
        Forbidden, (status = 422, description = "`amount_precision`, `amount_not_positive`, `amount_too_large`, `unknown_account`, `currency_mismatch`, `insufficient_funds`, `same_account`, `kind_reserved`, `idempotency_key_reused`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/transactions")]
pub async fn create_transaction(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<String>,
    body: JsonBody<CreateTransactionRequest>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let project_id = path.into_inner();
    let request = body.value;
    write::run(
        &state,
        Some(project_id.clone()),
        access::idempotency_scope(&credentials),
        key.0,
        body.fingerprint,
        move |conn| {
            let project =
                access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?.1;
            let transaction = request.parse(&super::stored_units(conn)?)?;
            let record = db::transactions::post(conn, &project.id, &transaction, None)?;
            reply_with(conn, record)
        },
    )
    .await
}

/// List a project's transactions in ledger order.
#[utoipa::path(
    tag = "transactions",
    params(TransactionQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of transactions", body = TransactionPage),
        (status = 400, description = "`invalid_query` (a filter or `limit`) or `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/transactions")]
pub async fn list_transactions(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<String>,
    query: web::Query<TransactionQuery>,
) -> Result<web::Json<TransactionPage>, ApiError> {
    let project_id = path.into_inner();
    let query = query.into_inner();
    let limit = page_size(query.limit)?;
    let after = decode_number_cursor::<i64>(query.cursor.as_deref())?;
    let date = |text: Option<&str>, field: &str| {
        text.map(|t| parse_date(field, t).map_err(|e| ApiError::InvalidQuery(e.message)))
            .transpose()
    };
    let mut filter = TransactionFilter {
        from: date(query.from.as_deref(), "from")?,
        to: date(query.to.as_deref(), "to")?,
        account_id: None,
        kind: query
            .kind
            .map(|k| TransactionKind::from(k).as_str().to_owned()),
        until_sequence: None,
    };
    super::limits::check_query(
        "account",
        query.account.as_deref(),
        crate::domain::account::ACCOUNT_NAME_LENGTH_MAX,
    )?;
    let account = query.account;
    let (units, records) = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        if let Some(account) = account {
            match db::accounts::find(conn, &project_id, &account)? {
                Some(row) => filter.account_id = Some(row.id),
                None => return Ok((HashMap::new(), Vec::new())),
            }
        }
        let records = db::transactions::list(conn, &project_id, &filter, after, limit)?;
        Ok((super::stored_units(conn)?, records))
    })
    .await?;
    let next_cursor = next_cursor(&records, limit, |r| r.row.sequence.to_string());
    Ok(web::Json(TransactionPage {
        items: records
            .into_iter()
            .map(|r| to_transaction(&units, r))
            .collect(),
        next_cursor,
    }))
}

/// Get one transaction with its postings.
#[utoipa::path(
    tag = "transactions",
    params(
        ("transaction_id" = String, Path, format = Uuid, description = "Transaction id"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The transaction", body = Transaction),
        (status = 404, description = "`project_not_found` or `transaction_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project_id}/transactions/{transaction_id}")]
pub async fn get_transaction(
    state: web::Data<AppState>,
    credentials: Credentials,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Transaction>, ApiError> {
    let (project_id, transaction_id) = path.into_inner();
    let (units, record) = read(&state, move |conn| {
        access::project_for(conn, &credentials, &project_id, Action::ReadLedger)?;
        let record = db::transactions::find(conn, &project_id, &transaction_id)?
            .ok_or(ApiError::NotFound(Resource::Transaction))?;
        Ok((super::stored_units(conn)?, record))
    })
    .await?;
    Ok(web::Json(to_transaction(&units, record)))
}

/// Reverse a transaction: post its postings backwards, linked to it. A
/// transaction is reversed at most once; a reversal is not reversible.
#[utoipa::path(
    tag = "transactions",
    request_body(content = Option<CreateReversalRequest>, description = "Optional date and reason"),
    params(
        ("transaction_id" = String, Path, format = Uuid, description = "Transaction to reverse"),
        ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The reversal transaction", body = Transaction),
        Forbidden,
        (status = 404, description = "`project_not_found` or `transaction_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_reversed`, or idempotent request in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`insufficient_funds` (the money has moved on), `reversal_not_reversible`, `invalid_date`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project_id}/transactions/{transaction_id}/reversal")]
pub async fn create_reversal(
    state: web::Data<AppState>,
    Authenticated(credentials): Authenticated,
    path: web::Path<(String, String)>,
    body: JsonBody<CreateReversalRequest>,
    key: IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let (project_id, transaction_id) = path.into_inner();
    let request = body.value;
    let effective_date = request
        .effective_date
        .as_deref()
        .map(|text| parse_date("effective_date", text).map_err(|e| ApiError::Validation(vec![e])))
        .transpose()?;
    let description = request.description.unwrap_or_default();
    if description.chars().count() > DESCRIPTION_LENGTH_MAX {
        return Err(ApiError::field(
            "description",
            FieldCode::TooLong,
            format!("at most {DESCRIPTION_LENGTH_MAX} characters"),
        ));
    }
    write::run(
        &state,
        Some(project_id.clone()),
        access::idempotency_scope(&credentials),
        key.0,
        body.fingerprint,
        move |conn| {
            access::project_for(conn, &credentials, &project_id, Action::WriteLedger)?;
            db::projects::lock(conn, &project_id)?;
            let original = db::transactions::find(conn, &project_id, &transaction_id)?
                .ok_or(ApiError::NotFound(Resource::Transaction))?;
            let stored = StoredTransaction {
                id: &original.row.id,
                effective_date: original.row.effective_date,
                is_reversal: original.row.reverses_id.is_some(),
                reversed: original.reversed_by.is_some(),
                postings: original
                    .postings
                    .iter()
                    .map(|posting| StoredPosting {
                        from: &posting.from,
                        to: &posting.to,
                        amount: posting.amount,
                        unit: &posting.currency,
                    })
                    .collect(),
            };
            let reversal = reversal_of(&stored, effective_date, &description)?;
            let record =
                db::transactions::post(conn, &project_id, &reversal, Some(&original.row.id))?;
            reply_with(conn, record)
        },
    )
    .await
}
