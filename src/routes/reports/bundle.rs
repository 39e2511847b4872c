//! reports/bundle: one grant's report, the journal of its pool and the
//! whole hledger journal for a period, all read up to one snapshot, with a
//! manifest of their SHA-256 and both chain heads signed with the
//! instance's Ed25519 key, in one tar archive a funder checks offline
//! (docs/reports.md, "Signed bundles").

use actix_web::{HttpResponse, get, web};
use chrono::{SubsecRound, Utc};
use commons_ledger_macros::operation;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::grants::GrantExport;
use super::journal::{HledgerExport, write_journal_csv};
use super::{GRANT_COLUMNS, Halt, JOURNAL_COLUMNS, Period, collect, file_name, write_csv};
use crate::db::Database;
use crate::db::projects::Project;
use crate::db::transactions::TransactionFilter;
use crate::domain::access::Action;
use crate::domain::bundle::{self, ChainHead, InstanceKey, ManifestFacts};
use crate::http::call::ProjectCall;
use crate::http::limits::{ID_LENGTH_MAX, check_query};
use crate::http::openapi::GrantNotFound;
use crate::http::problem::{ApiError, Problem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_report_bundle);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BundleQuery {
    /// The grant the bundle reports on.
    #[param(format = Uuid, max_length = 36)]
    pub grant: String,
    /// Earliest date, inclusive (`YYYY-MM-DD`); by default the grant's
    /// period start.
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// Latest date, inclusive (`YYYY-MM-DD`); by default the grant's period end.
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
}

/// Download a signed report bundle
///
/// A signed report bundle: a POSIX tar archive of `grant.csv` (the grant
/// report), `journal.csv` (the journal of the grant's pool) for the period,
/// `journal.hledger` (the whole journal), each as its own download gives it,
/// all read up to the same ledger sequence; `manifest.txt` (each file's SHA-256
/// in `sha256sum` format, the period, the ledger's chain head, the key id),
/// `manifest.sig` (its raw Ed25519 signature) and `public-key.pem`.
/// `commons-ledger verify-bundle` checks it offline, as do `sha256sum` and
/// `openssl` (docs/reports.md).
#[operation(get "/projects/{project_id}/reports/bundle", tag = "reports", public,
    params(BundleQuery),
    responses(
        (status = 200, description = "A POSIX tar archive; its files in docs/reports.md", content_type = "application/x-tar", body = String),
        400 "No `grant`, or an invalid `from` or `to`, or a period that ends before it starts",
        GrantNotFound,
    ))]
pub async fn export_report_bundle(
    call: ProjectCall,
    query: web::Query<BundleQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    check_query("grant", Some(&query.grant), ID_LENGTH_MAX)?;
    let asked = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    let state = call.state.clone();
    let grant_id = query.grant;
    let plan = call
        .read(Action::ReadLedger, move |conn, _, project| {
            Ok(Plan {
                project: project.clone(),
                events: crate::db::events::head(conn, &project.id)?,
                grant: GrantExport::read(conn, project, &grant_id)?,
                hledger: HledgerExport::read(conn, project)?,
            })
        })
        .await?;
    let grant = &plan.grant.grant;
    let period = Period {
        from: asked.from.or(grant.period_start),
        to: asked.to.or(grant.period_end),
    };
    if period.is_empty() {
        return Err(ApiError::InvalidQuery(
            "the period ends before it starts (`from` after the grant's end, or `to` before its start)"
                .to_owned(),
        ));
    }
    let label = if grant.reference.is_empty() {
        &grant.id
    } else {
        &grant.reference
    };
    let name = file_name(
        &plan.project.name,
        &format!("bundle-{label}"),
        &period,
        "tar",
    );
    let (db, key) = (state.db.clone(), state.signing_key.clone());
    let archive = web::block(move || signed_archive(&db, &key, plan, &period)).await??;
    Ok(HttpResponse::Ok()
        .content_type("application/x-tar")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(archive))
}

/// What a bundle is made from, read with the caller's authorization: the
/// project as of the snapshot (its last sequence and hash), the grant
/// report's and the hledger journal's beginnings.
struct Plan {
    project: Project,
    /// The audit trail's head as of the snapshot: its sequence and hash.
    events: (i64, String),
    grant: GrantExport,
    hledger: HledgerExport,
}

/// The bundle, assembled in memory: its content files, the manifest over
/// them, its signature and the public key, in one tar archive.
fn signed_archive(
    db: &Database,
    key: &InstanceKey,
    plan: Plan,
    period: &Period,
) -> Result<Vec<u8>, ApiError> {
    let facts = ManifestFacts {
        project_id: plan.project.id.to_string(),
        grant_id: plan.grant.grant.id.clone(),
        from: period.from,
        to: period.to,
        generated_at: Utc::now().trunc_subsecs(0),
        ledger: ChainHead {
            sequence: plan.project.last_sequence,
            hash: plan.project.last_hash.clone(),
        },
        events: Some(ChainHead {
            sequence: plan.events.0,
            hash: plan.events.1.clone(),
        }),
    };
    let files = content_files(db, plan, period).map_err(|halt| match halt {
        Halt::Failed(error) => ApiError::internal(format!("report bundle: {error}")),
        Halt::Gone => ApiError::internal("report bundle: the report was cut short"),
    })?;
    let signed = bundle::sign(key, &facts, files);
    bundle::pack(&signed, facts.generated_at)
        .map_err(|error| ApiError::internal_from("report bundle: packing the archive", error))
}

/// The bundle's content files, in manifest order. Each is byte for byte
/// what its own download gives for the bundle's grant and period (the
/// journal narrowed with `grant`), and all read the ledger up to the same
/// sequence, the one the manifest's chain head names.
fn content_files(
    db: &Database,
    plan: Plan,
    period: &Period,
) -> Result<Vec<(&'static str, Vec<u8>)>, Halt> {
    let Plan {
        project,
        events,
        grant,
        hledger,
    } = plan;
    let snapshot = project.last_sequence;
    let journal = TransactionFilter {
        from: period.from,
        to: period.to,
        account_id: Some(grant.pool_id().to_owned()),
        until_sequence: Some(snapshot),
        ..TransactionFilter::default()
    };
    Ok(vec![
        (
            "grant.csv",
            collect(|sink| {
                write_csv(sink, &GRANT_COLUMNS, |out| {
                    grant.write(db, out, (period, None), snapshot)
                })
            })?,
        ),
        (
            "journal.csv",
            collect(|sink| {
                write_csv(sink, &JOURNAL_COLUMNS, |out| {
                    write_journal_csv(db, out, &project.id, &journal)
                })
            })?,
        ),
        (
            "journal.hledger",
            collect(|sink| hledger.write(db, sink, snapshot))?,
        ),
        (
            "events.jsonl",
            events_of(db, &project.id, period, events.0)?,
        ),
    ])
}

/// The audit trail's events recorded within the period (UTC days), up to
/// the sequence `head`: one JSON object a line, each as
/// `GET .../events` shows it.
fn events_of(db: &Database, project_id: &str, period: &Period, head: i64) -> Result<Vec<u8>, Halt> {
    let filter = crate::db::events::Filter {
        from: period.from.and_then(|day| day.and_hms_opt(0, 0, 0)),
        until: period
            .to
            .and_then(|day| day.succ_opt())
            .and_then(|day| day.and_hms_opt(0, 0, 0)),
        ..crate::db::events::Filter::default()
    };
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let rows = db.read(|conn| -> Result<_, ApiError> {
            Ok(crate::db::events::list(
                conn, project_id, &filter, after, 1_000,
            )?)
        })?;
        let Some(last) = rows.last() else {
            return Ok(out);
        };
        after = last.sequence;
        for row in rows {
            if row.sequence > head {
                return Ok(out);
            }
            let event = crate::routes::events::to_event(row)?;
            serde_json::to_writer(&mut out, &event)
                .map_err(|e| ApiError::internal_from("encoding an event", e))?;
            out.push(b'\n');
        }
    }
}
