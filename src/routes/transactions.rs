//! `/v1/projects/{project_id}/transactions`: posting to the ledger, reading it
//! back, and reversing a transaction (once).

use commons_ledger_macros::operation;
use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::call::{ItemWrite, ProjectCall, ProjectPage, ProjectWrite};
use super::codes::{FieldCode, Resource};
use super::dto::{PageQuery, page_type};
use super::dto::{Posting, Transaction, TransactionKindDto, to_transaction};
use super::extract::{account_name, date_field, decode_number_cursor, optional_date, query_date};
use super::limits::check_length;
use super::openapi::Forbidden;
use super::problem::{ApiError, FieldError, Problem};
use super::write::Reply;
use crate::db::projects::Project;
use crate::db::transactions::{Poster, TransactionFilter, TransactionRecord};
use crate::db::{self, DbConnection};
use crate::domain::access::Action;
use crate::domain::transaction::{
    DESCRIPTION_LENGTH_MAX, METADATA_BYTES_MAX, POSTINGS_PER_TRANSACTION_MAX,
};
use crate::domain::transaction::{StoredPosting, StoredTransaction, reversal_of};
use crate::domain::{Amount, NewPosting, NewTransaction, TransactionKind, Unit};
use crate::http::reply::in_project;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_transaction)
        .service(list_transactions)
        .service(get_transaction)
        .service(create_reversal);
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "transfer", "effective_date": "2026-03-01", "description": "move the reserve to the general pool", "postings": [{"from": "reserve", "to": "pool:general", "amount": "100.00", "currency": "EUR"}], "metadata": {"bank_reference": "SEPA-2026-0017"}}))]
pub struct CreateTransactionRequest {
    /// `transfer` (default) or `adjustment`; other kinds are posted by their own endpoints.
    #[serde(default = "default_kind")]
    #[schema(schema_with = postable_kinds)]
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

/// The kinds this endpoint posts: every other kind has an endpoint of its
/// own, and is refused here (422 `kind_reserved`).
fn postable_kinds() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["transfer", "adjustment"]))
        .default(Some(serde_json::json!("transfer")))
        .description(Some(
            "`transfer` (default) or `adjustment`; other kinds are posted by their own endpoints.",
        ))
        .build()
}

fn default_kind() -> TransactionKindDto {
    TransactionKindDto::Transfer
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"effective_date": "2026-03-02", "description": "posted twice by mistake"}))]
pub struct CreateReversalRequest {
    /// Business date of the reversal (default: today, or the original's
    /// date if that is later); never in a closed period.
    #[schema(example = "2026-03-02", format = Date, max_length = 10)]
    pub effective_date: Option<String>,
    /// Why the transaction is reversed.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

page_type!(TransactionPage, Transaction);

/// A list of transactions' filter (besides its page, [`PageQuery`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionQuery {
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
    pub(super) fn parse(&self, units: &HashMap<String, Unit>) -> Result<NewTransaction, ApiError> {
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
        let effective_date = date_field("effective_date", &self.effective_date, &mut errors);
        check_length(
            "description",
            &self.description,
            DESCRIPTION_LENGTH_MAX,
            &mut errors,
        );
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
    let from = account_name(field("from"), &posting.from, errors);
    let to = account_name(field("to"), &posting.to, errors);
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

/// The transaction posted, at its own path in `project`, its amounts in
/// `units` (stored units never change, and posting adds none).
fn reply_with(
    units: &HashMap<String, Unit>,
    project: &Project,
    record: TransactionRecord,
) -> Result<Reply, ApiError> {
    created(&project.id, &to_transaction(units, record))
}

/// The 201 of `transaction`, posted at its own path in project `project_id`.
pub(super) fn created(project_id: &str, transaction: &Transaction) -> Result<Reply, ApiError> {
    let location = in_project(project_id, format_args!("transactions/{}", transaction.id));
    Reply::created(location, transaction)
}

/// Post a transaction
///
/// Posts a `transfer` or an `adjustment` between accounts (owners and
/// treasurers): all postings or none, balanced per currency, never leaving a
/// non-negative account below zero on any date.
#[operation(post "/projects/{project_id}/transactions", tag = "transactions",
    request_body = CreateTransactionRequest, signed_in,
    responses(
        201 Transaction "The posted transaction",
        Forbidden,
        422 "`amount_precision`, `amount_not_positive`, `amount_too_large`, `unknown_account`, `currency_mismatch`, `insufficient_funds`, `same_account`, `kind_reserved`, `restricted_funds` (money out of a restricted grant's pool), `idempotency_key_reused`, ...",
    ))]
pub async fn create_transaction(
    ProjectWrite { body, call }: ProjectWrite<CreateTransactionRequest>,
) -> Result<HttpResponse, ApiError> {
    let db = call.state.db.clone();
    call.run(Action::WriteLedger, move |conn, caller, project| {
        let codes = body.postings.iter().map(|p| p.currency.as_str());
        let units = db.units_covering(conn, codes)?;
        let transaction = body.parse(&units)?;
        let mut poster = Poster::from_head_of(project, &caller.signed_in()?.id);
        let record = crate::ops::funds::post_transaction(conn, &mut poster, &transaction)?;
        reply_with(&units, project, record)
    })
    .await
}

/// List transactions
///
/// A project's transactions in ledger order with their postings; filter by
/// `account`, `kind`, `from` and `to`.
#[operation(get "/projects/{project_id}/transactions", tag = "transactions", public,
    params(PageQuery, TransactionQuery),
    responses(
        200 TransactionPage "A page of transactions",
        400 "`invalid_query` (a filter or `limit`) or `invalid_cursor`",
    ))]
pub async fn list_transactions(
    page: ProjectPage,
    query: web::Query<TransactionQuery>,
) -> Result<web::Json<TransactionPage>, ApiError> {
    let query = query.into_inner();
    let page = page.check(decode_number_cursor::<i64>)?;
    let mut filter = TransactionFilter {
        from: query_date("from", query.from.as_deref())?,
        to: query_date("to", query.to.as_deref())?,
        account_id: None,
        kind: query
            .kind
            .map(|k| TransactionKind::from(k).as_str().to_owned()),
        until_sequence: None,
        adjusting: None,
    };
    super::limits::check_query(
        "account",
        query.account.as_deref(),
        crate::domain::account::ACCOUNT_NAME_LENGTH_MAX,
    )?;
    let account = query.account;
    let fetch = move |conn: &mut DbConnection, project: &Project, after, limit| {
        if let Some(account) = account {
            match db::accounts::find(conn, &project.id, &account)? {
                Some(row) => filter.account_id = Some(row.id),
                None => return Ok(Vec::new()),
            }
        }
        let records = db::transactions::list(conn, &project.id, &filter, after, limit)?;
        let units = super::stored_units(conn)?;
        Ok(records
            .into_iter()
            .map(|r| to_transaction(&units, r))
            .collect())
    };
    let page = page
        .read(Action::ReadLedger, fetch, |t| t.sequence.to_string())
        .await?;
    Ok(web::Json(page.into()))
}

/// Get a transaction
///
/// One transaction with its postings, its hash and, if reversed, its reversal.
#[operation(get "/projects/{project_id}/transactions/{transaction_id}", tag = "transactions",
    public, params(id "transaction_id" "Transaction id"),
    responses(
        200 Transaction "The transaction",
        404 "`project_not_found` or `transaction_not_found`",
    ))]
pub async fn get_transaction(
    call: ProjectCall,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Transaction>, ApiError> {
    call.read_item(path, |conn, project, transaction_id: String| {
        let record = db::transactions::find(conn, &project.id, &transaction_id)?
            .ok_or(ApiError::NotFound(Resource::Transaction))?;
        Ok(to_transaction(&super::stored_units(conn)?, record))
    })
    .await
}

/// Reverse a transaction
///
/// Posts a transaction's postings backwards, linked to it (owners and
/// treasurers). A transaction is reversed at most once; a reversal is not
/// reversible.
#[operation(post "/projects/{project_id}/transactions/{transaction_id}/reversal",
    tag = "transactions",
    request_body(content = Option<CreateReversalRequest>, description = "Optional date and reason"),
    signed_in, params(id "transaction_id" "Transaction to reverse"),
    responses(
        201 Transaction "The reversal transaction",
        Forbidden,
        404 "`project_not_found` or `transaction_not_found`",
        409 "`already_reversed`, or idempotent request in flight",
        422 "`insufficient_funds` (the money has moved on), `reversal_not_reversible`, `invalid_date`, `idempotency_key_reused`",
    ))]
pub async fn create_reversal(
    ItemWrite {
        body,
        call,
        id: transaction_id,
    }: ItemWrite<CreateReversalRequest>,
) -> Result<HttpResponse, ApiError> {
    let effective_date = optional_date("effective_date", body.effective_date.as_deref())?;
    let description = body.description.unwrap_or_default();
    let mut errors = Vec::new();
    if !check_length(
        "description",
        &description,
        DESCRIPTION_LENGTH_MAX,
        &mut errors,
    ) {
        return Err(ApiError::Validation(errors));
    }
    call.run(Action::WriteLedger, move |conn, caller, project| {
        db::projects::lock(conn, &project.id)?;
        let original = db::transactions::find(conn, &project.id, &transaction_id)?
            .ok_or(ApiError::NotFound(Resource::Transaction))?;
        // Dated today by default (never before what it undoes): a
        // correction is made in the open period, not back in the original's.
        let date = effective_date.unwrap_or_else(|| db::today().max(original.row.effective_date));
        let reversal = reversal_of(&stored(&original), Some(date), &description)?;
        let record = db::transactions::post(
            conn,
            (&project.id, &caller.signed_in()?.id),
            &reversal,
            Some(&original.row.id),
        )?;
        reply_with(&super::stored_units(conn)?, project, record)
    })
    .await
}

/// A stored transaction as the domain reverses it.
fn stored(record: &TransactionRecord) -> StoredTransaction<'_> {
    StoredTransaction {
        id: &record.row.id,
        effective_date: record.row.effective_date,
        is_reversal: record.row.reverses_id.is_some(),
        reversed: record.reversed_by.is_some(),
        postings: record
            .postings
            .iter()
            .map(|posting| StoredPosting {
                from: &posting.from,
                to: &posting.to,
                amount: posting.amount,
                unit: &posting.currency,
            })
            .collect(),
    }
}
