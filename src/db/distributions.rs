//! Rule set versions, distribution runs and their approvals.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::{distribution_approvals, distribution_contributions, distributions, rule_sets};
use super::{DbConnection, StorageError};
use crate::domain::allocation::{Base, Cap, Plan, Recipients, Residue, RuleSet, Share, Step};
use crate::domain::distribution::RunStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rule_sets)]
pub struct RuleSetRow {
    pub project_id: String,
    pub version: i32,
    pub definition: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = distributions)]
pub struct DistributionRow {
    pub id: String,
    pub project_id: String,
    pub rule_set_version: i32,
    pub pool_account: String,
    pub currency: String,
    pub amount: i64,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub status: String,
    pub inputs: String,
    pub plan: String,
    pub residue: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub transaction_id: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
}

/// A rule set version as stored (`rule_sets.definition`, JSON), separate
/// from the API's request type: the decimal texts as they were given, so a
/// version reads back exactly as it was written, and read by the rules it
/// was accepted under (plain decimals), whatever the API checks today.
///
/// Version 1 (no `version` field) has the shape the API took when rule
/// sets were introduced; a later shape would add `"version": 2` and keep
/// reading this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRuleSet {
    pub steps: Vec<StoredStep>,
    pub residue: StoredResidue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredStep {
    pub share: StoredShare,
    pub to: StoredRecipients,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum StoredShare {
    Percentage { percent: String, of: Base },
    Fixed { amount: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum StoredCap {
    Percentage { percent: String },
    Amount { amount: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum StoredRecipients {
    Account {
        account: String,
    },
    ProRata {
        weights: BTreeMap<String, String>,
        cap: Option<StoredCap>,
        minimum: Option<String>,
    },
    EqualSplit {
        cap: Option<StoredCap>,
        minimum: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum StoredResidue {
    Pool,
    Account { account: String },
    NextRun,
}

impl StoredRuleSet {
    pub fn parse(text: &str) -> Result<Self, StorageError> {
        serde_json::from_str(text).map_err(|e| StorageError::Corrupt(format!("a rule set: {e}")))
    }

    pub fn to_json(&self) -> Result<String, StorageError> {
        serde_json::to_string(self).map_err(|e| StorageError::Corrupt(e.to_string()))
    }

    /// The domain rule set; a decimal text that is not plain digits with at
    /// most one point is unreadable (the API never accepted one).
    pub fn rules(&self) -> Result<RuleSet, StorageError> {
        let cap = |cap: &Option<StoredCap>| -> Result<Option<Cap>, StorageError> {
            cap.as_ref()
                .map(|cap| {
                    Ok::<_, StorageError>(match cap {
                        StoredCap::Percentage { percent } => Cap::Percentage {
                            percent: decimal(percent)?,
                        },
                        StoredCap::Amount { amount } => Cap::Amount {
                            amount: decimal(amount)?,
                        },
                    })
                })
                .transpose()
        };
        let minimum = |minimum: &Option<String>| minimum.as_deref().map(decimal).transpose();
        let steps = self
            .steps
            .iter()
            .map(|step| {
                let share = match &step.share {
                    StoredShare::Percentage { percent, of } => Share::Percentage {
                        percent: decimal(percent)?,
                        of: *of,
                    },
                    StoredShare::Fixed { amount } => Share::Fixed {
                        amount: decimal(amount)?,
                    },
                };
                let to = match &step.to {
                    StoredRecipients::Account { account } => Recipients::Account {
                        account: account.clone(),
                    },
                    StoredRecipients::ProRata {
                        weights,
                        cap: c,
                        minimum: m,
                    } => Recipients::ProRata {
                        weights: weights
                            .iter()
                            .map(|(kind, weight)| Ok((kind.clone(), decimal(weight)?)))
                            .collect::<Result<_, StorageError>>()?,
                        cap: cap(c)?,
                        minimum: minimum(m)?,
                    },
                    StoredRecipients::EqualSplit { cap: c, minimum: m } => Recipients::EqualSplit {
                        cap: cap(c)?,
                        minimum: minimum(m)?,
                    },
                };
                Ok(Step { share, to })
            })
            .collect::<Result<_, StorageError>>()?;
        let residue = match &self.residue {
            StoredResidue::Pool => Residue::Pool,
            StoredResidue::Account { account } => Residue::Account {
                account: account.clone(),
            },
            StoredResidue::NextRun => Residue::NextRun,
        };
        Ok(RuleSet { steps, residue })
    }
}

/// A stored decimal text, read as it was accepted.
fn decimal(text: &str) -> Result<rust_decimal::Decimal, StorageError> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.matches('.').count() <= 1;
    text.parse()
        .ok()
        .filter(|_| plain)
        .ok_or_else(|| StorageError::Corrupt(format!("a rule set's decimal `{text}`")))
}

/// The rules of version `version` of the project's rule set, if any.
pub fn rules(
    conn: &mut DbConnection,
    project_id: &str,
    version: i32,
) -> Result<Option<RuleSet>, StorageError> {
    rule_set(conn, project_id, version)?
        .map(|row| StoredRuleSet::parse(&row.definition)?.rules())
        .transpose()
}

/// What a run was computed from, as stored with it (`inputs`, JSON).
///
/// Version 1 (runs drafted before project revisions) listed the ids of the
/// contributions counted; version 2 records the project revision they were
/// read at instead; version 3 also has its selection recorded in the
/// `distribution_contributions` table, version 4 by number in
/// `distribution_selections` and `distribution_selected` ([`selection`]).
/// All load; only version 4 is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInputs {
    #[serde(default = "StoredInputs::first_version")]
    pub version: u32,
    pub rules_residue: Residue,
    /// Per agent, per kind: approved value in minor units.
    pub bases: BTreeMap<String, BTreeMap<String, i64>>,
    /// The project revision the approved contributions were read at (2 to 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributions_revision: Option<i64>,
    /// The approved contributions the bases were summed from (1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contribution_ids: Vec<String>,
}

impl StoredInputs {
    /// The version written now.
    pub const VERSION: u32 = 4;

    fn first_version() -> u32 {
        1
    }

    /// Inputs of a run drafted now.
    pub fn new(
        rules_residue: Residue,
        bases: BTreeMap<String, BTreeMap<String, i64>>,
        contributions_revision: i64,
    ) -> Self {
        StoredInputs {
            version: Self::VERSION,
            rules_residue,
            bases,
            contributions_revision: Some(contributions_revision),
            contribution_ids: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, StorageError> {
        let inputs: StoredInputs = serde_json::from_str(text)
            .map_err(|e| StorageError::Corrupt(format!("a run's inputs: {e}")))?;
        if !(1..=Self::VERSION).contains(&inputs.version) {
            return Err(StorageError::Corrupt(format!(
                "a run's inputs of unknown version {}",
                inputs.version
            )));
        }
        Ok(inputs)
    }

    pub fn to_json(&self) -> Result<String, StorageError> {
        serde_json::to_string(self).map_err(|e| StorageError::Corrupt(e.to_string()))
    }
}

/// The ids of the contributions `run` counted, in id order: from its
/// selection's array on PostgreSQL or its rows of `distribution_selected`
/// (version 4), from `distribution_contributions` (version 3), or as
/// listed in its inputs (version 1). `None` for a run of version 2, which
/// recorded only the project revision it read them at.
pub fn selection(conn: &mut DbConnection, run: &Run) -> QueryResult<Option<Vec<String>>> {
    #[derive(QueryableByName)]
    struct Selected {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    match run.inputs.version {
        1 => {
            let mut ids = run.inputs.contribution_ids.clone();
            ids.sort();
            Ok(Some(ids))
        }
        2 => Ok(None),
        3 => distribution_contributions::table
            .filter(distribution_contributions::distribution_id.eq(&run.id))
            .select(distribution_contributions::contribution_id)
            .order(distribution_contributions::contribution_id)
            .load(conn)
            .map(Some),
        // On PostgreSQL a selection recorded since the migration
        // `selection_in_one_row` is an array in its row, one recorded
        // before has rows, as on SQLite.
        _ => diesel::sql_query(if matches!(conn, DbConnection::Postgresql(_)) {
            "SELECT c.id AS id FROM distribution_selections s \
             CROSS JOIN LATERAL (SELECT x.contribution_seq AS seq FROM distribution_selected x \
             WHERE x.selection_seq = s.seq UNION ALL SELECT unnest(s.contribution_seqs)) x \
             JOIN contributions c ON c.seq = x.seq \
             WHERE s.distribution_id = $1 ORDER BY c.id"
        } else {
            "SELECT c.id AS id FROM distribution_selections s \
             JOIN distribution_selected x ON x.selection_seq = s.seq \
             JOIN contributions c ON c.seq = x.contribution_seq \
             WHERE s.distribution_id = $1 ORDER BY c.id"
        })
        .bind::<diesel::sql_types::Text, _>(&run.id)
        .load::<Selected>(conn)
        .map(|rows| Some(rows.into_iter().map(|row| row.id).collect())),
    }
}

/// A run's plan as stored (`plan`, JSON): the domain's [`Plan`], whose
/// shape has not changed since the first release (a test loads the
/// previous release's runs).
pub fn parse_plan(text: &str) -> Result<Plan, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt(format!("a run's plan: {e}")))
}

/// A run as the rest of the service sees it: its row read once, with a
/// known status, its inputs and its plan, or an error.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub project_id: String,
    pub rule_set_version: i32,
    pub pool_account: String,
    pub currency: String,
    pub amount: i64,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub status: RunStatus,
    pub inputs: StoredInputs,
    pub plan: Plan,
    pub residue: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub transaction_id: Option<String>,
}

impl TryFrom<DistributionRow> for Run {
    type Error = StorageError;

    fn try_from(row: DistributionRow) -> Result<Self, StorageError> {
        Ok(Run {
            status: RunStatus::parse(&row.status)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            inputs: StoredInputs::parse(&row.inputs)?,
            plan: parse_plan(&row.plan)?,
            id: row.id,
            project_id: row.project_id,
            rule_set_version: row.rule_set_version,
            pool_account: row.pool_account,
            currency: row.currency,
            amount: row.amount,
            period_from: row.period_from,
            period_to: row.period_to,
            residue: row.residue,
            created_by: row.created_by,
            created_at: row.created_at,
            transaction_id: row.transaction_id,
        })
    }
}

/// One run, typed.
pub fn run(
    conn: &mut DbConnection,
    project_id: &str,
    id: &str,
) -> Result<Option<Run>, StorageError> {
    find(conn, project_id, id)?.map(Run::try_from).transpose()
}

/// A page of runs, typed.
pub fn runs(
    conn: &mut DbConnection,
    project_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Run>, StorageError> {
    list(conn, project_id, after, limit)?
        .into_iter()
        .map(Run::try_from)
        .collect()
}

pub fn latest_version(conn: &mut DbConnection, project_id: &str) -> QueryResult<i32> {
    let versions: Vec<i32> = rule_sets::table
        .filter(rule_sets::project_id.eq(project_id))
        .select(rule_sets::version)
        .order(rule_sets::version.desc())
        .limit(1)
        .load(conn)?;
    Ok(versions.first().copied().unwrap_or(0))
}

insert_row!(insert_rule_set, rule_sets, RuleSetRow);

row_by_key!(rule_set, rule_sets, RuleSetRow, project_id: &str, version: i32);

project_page!(rule_sets, rule_sets, RuleSetRow, by version: i32);

insert_row!(insert, distributions, DistributionRow);

project_row!(find, distributions, DistributionRow, id);

project_page!(list, distributions, DistributionRow);

/// Moves a run to `status`, with its transaction once executed.
pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    status: RunStatus,
    transaction_id: Option<&str>,
) -> QueryResult<()> {
    diesel::update(distributions::table.find(id))
        .set((
            distributions::status.eq(status.as_str()),
            distributions::transaction_id.eq(transaction_id),
            distributions::decided_at.eq(Some(super::now())),
        ))
        .execute(conn)
        .map(drop)
}

pub fn approvers(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    distribution_approvals::table
        .filter(distribution_approvals::distribution_id.eq(id))
        .select((
            distribution_approvals::approver_id,
            distribution_approvals::created_at,
        ))
        .order(distribution_approvals::created_at)
        .load(conn)
}

pub fn insert_approval(conn: &mut DbConnection, id: &str, approver: &str) -> QueryResult<()> {
    diesel::insert_into(distribution_approvals::table)
        .values((
            distribution_approvals::distribution_id.eq(id),
            distribution_approvals::approver_id.eq(approver),
            distribution_approvals::created_at.eq(super::now()),
        ))
        .execute(conn)
        .map(drop)
}

/// What approved runs (neither executed nor cancelled) reserve in each of
/// `pools`, leaving out the run `except` (the one being executed, which
/// uses its own reservation). Pools nothing reserves are absent.
pub fn reserved(
    conn: &mut DbConnection,
    project_id: &str,
    pools: &[&str],
    except: Option<&str>,
) -> QueryResult<std::collections::HashMap<String, i64>> {
    let mut query = distributions::table
        .filter(distributions::project_id.eq(project_id.to_owned()))
        .filter(distributions::status.eq(RunStatus::Approved.as_str()))
        .filter(
            distributions::pool_account
                .eq_any(pools.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>()),
        )
        .select((distributions::pool_account, distributions::amount))
        .into_boxed();
    if let Some(except) = except {
        query = query.filter(distributions::id.ne(except.to_owned()));
    }
    let mut by_pool: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for (pool, amount) in query.load::<(String, i64)>(conn)? {
        by_pool.entry(pool).or_default().push(amount);
    }
    Ok(by_pool
        .into_iter()
        .map(|(pool, amounts)| (pool, crate::domain::funds::reserved(amounts)))
        .collect())
}

/// Locks a run's row on PostgreSQL while it changes state.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    lock_row!(conn, distributions, id);
    Ok(())
}

by_transactions!(
    /// The runs executed by the given transactions.
    by_transactions,
    distributions,
    DistributionRow
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_version_of_a_runs_inputs_loads() {
        // As the release before project revisions wrote them.
        let v1 = r#"{"rules_residue":{"type":"pool"},"bases":{"a":{"time":20000}},"contribution_ids":["c1"]}"#;
        let inputs = StoredInputs::parse(v1).expect("version 1");
        assert_eq!((inputs.version, inputs.contribution_ids.len()), (1, 1));
        assert_eq!(inputs.bases["a"]["time"], 20_000);
        let v2 = StoredInputs::new(Residue::NextRun, BTreeMap::new(), 7)
            .to_json()
            .expect("JSON");
        let inputs = StoredInputs::parse(&v2).expect("version 4");
        assert_eq!(
            (inputs.version, inputs.contributions_revision),
            (4, Some(7))
        );
        assert!(!v2.contains("contribution_ids"), "{v2}");
        // As the release before the selection table wrote them.
        let v2 = r#"{"version":2,"rules_residue":{"type":"next_run"},"bases":{"a":{"data":5}},"contributions_revision":4}"#;
        let inputs = StoredInputs::parse(v2).expect("version 2");
        assert_eq!(
            (inputs.version, inputs.contributions_revision),
            (2, Some(4))
        );
        assert_eq!(inputs.bases["a"]["data"], 5);
        // As the release before selections by number wrote them.
        let v3 = r#"{"version":3,"rules_residue":{"type":"pool"},"bases":{"a":{"time":7}},"contributions_revision":9}"#;
        let inputs = StoredInputs::parse(v3).expect("version 3");
        assert_eq!(
            (inputs.version, inputs.contributions_revision),
            (3, Some(9))
        );
    }

    #[test]
    fn a_stored_rule_set_reads_back_as_written() {
        // As the first release wrote it (the request's JSON, nulls included).
        let v1 = r#"{"steps":[{"share":{"type":"percentage","percent":"10","of":"total"},"to":{"type":"account","account":"reserve"}},{"share":{"type":"percentage","percent":"100","of":"remaining"},"to":{"type":"pro_rata","weights":{"time":"1"},"cap":{"type":"percentage","percent":"40"},"minimum":null}}],"residue":{"type":"pool"}}"#;
        let stored = StoredRuleSet::parse(v1).expect("version 1");
        assert_eq!(
            stored.to_json().expect("JSON"),
            v1,
            "written back byte for byte"
        );
        let rules = stored.rules().expect("rules");
        assert_eq!(rules.steps.len(), 2);
        assert_eq!(rules.residue, Residue::Pool);
        let weird = v1.replace(r#""percent":"40""#, r#""percent":"4e1""#);
        assert!(matches!(
            StoredRuleSet::parse(&weird).and_then(|s| s.rules()),
            Err(StorageError::Corrupt(_))
        ));
    }

    #[test]
    fn inputs_of_an_unknown_version_are_an_error_not_a_default() {
        let v9 = r#"{"version":9,"rules_residue":{"type":"pool"},"bases":{}}"#;
        assert!(matches!(
            StoredInputs::parse(v9),
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            StoredInputs::parse("{}"),
            Err(StorageError::Corrupt(_))
        ));
    }
}
