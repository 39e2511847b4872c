//! Projects and the units their ledgers use.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use diesel::result::Error::DeserializationError;

use super::agents::AgentRow;
use super::schema::{memberships, project_revisions, projects, units};
use super::{DbConnection, StorageError};
use crate::domain::Unit;
use crate::domain::access::Role;
use crate::domain::hash::GENESIS_HASH;
use crate::domain::ids::ProjectId;
use crate::domain::licence::LicencePolicy;
use crate::domain::project::ContributorNames;
pub use crate::domain::project::Project;

/// A project's row as stored; read through [`Project::try_from`], once.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
struct ProjectRow {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub public: i32,
    pub created_at: NaiveDateTime,
    pub last_sequence: i64,
    pub last_hash: String,
    pub licence_policy: String,
    pub allow_unvalued: i32,
    pub approvals_required: i32,
    pub distribution_approvals_required: i32,
    pub four_eyes_above: Option<i64>,
    pub closed_through: Option<chrono::NaiveDate>,
    pub contributor_names: String,
}

impl TryFrom<ProjectRow> for Project {
    type Error = StorageError;

    /// Fails on a value the service never writes (a flag other than 0 or
    /// 1, an unknown licence policy), rather than read it as a default.
    fn try_from(row: ProjectRow) -> Result<Project, StorageError> {
        let flag = |name: &str, value: i32| match value {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(StorageError::Corrupt(format!(
                "project {}: `{name}` is {other}",
                row.id
            ))),
        };
        let licence_policy = LicencePolicy::parse(&row.licence_policy).ok_or_else(|| {
            StorageError::Corrupt(format!(
                "project {}: licence policy `{}`",
                row.id, row.licence_policy
            ))
        })?;
        let contributor_names =
            ContributorNames::parse(&row.contributor_names).ok_or_else(|| {
                StorageError::Corrupt(format!(
                    "project {}: contributor names `{}`",
                    row.id, row.contributor_names
                ))
            })?;
        Ok(Project {
            contributor_names,
            public: flag("public", row.public)?,
            allow_unvalued: flag("allow_unvalued", row.allow_unvalued)?,
            licence_policy,
            id: ProjectId::stored(row.id),
            name: row.name,
            currency: row.currency,
            created_at: row.created_at,
            last_sequence: row.last_sequence,
            last_hash: row.last_hash,
            approvals_required: row.approvals_required,
            distribution_approvals_required: row.distribution_approvals_required,
            four_eyes_above: row.four_eyes_above,
            closed_through: row.closed_through,
        })
    }
}

/// Rows made into projects; a row that cannot be is a query error (a
/// logged 500), carrying what was wrong with it.
fn typed(rows: Vec<ProjectRow>) -> QueryResult<Vec<Project>> {
    rows.into_iter()
        .map(|row| Project::try_from(row).map_err(|e| DeserializationError(Box::new(e))))
        .collect()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = projects)]
struct NewProjectRow<'a> {
    id: &'a str,
    name: &'a str,
    currency: &'a str,
    public: i32,
    created_at: NaiveDateTime,
    last_sequence: i64,
    last_hash: &'a str,
}

/// Records `unit` on first use and returns it as stored: once a unit is used
/// its scale is fixed, whatever later currency tables say.
pub fn ensure_unit(conn: &mut DbConnection, unit: &Unit) -> QueryResult<Unit> {
    diesel::sql_query(
        "INSERT INTO units (code, scale, kind) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
    )
    .bind::<Text, _>(unit.code())
    .bind::<Integer, _>(i32::try_from(unit.scale()).unwrap_or(i32::MAX))
    .bind::<Text, _>(unit.kind().as_str())
    .execute(conn)?;
    stored_unit(conn, unit.code())?.ok_or(diesel::result::Error::NotFound)
}

/// A unit as first recorded, if it has been used.
pub fn stored_unit(conn: &mut DbConnection, code: &str) -> QueryResult<Option<Unit>> {
    let row: Option<(String, i32, String)> = units::table
        .find(code)
        .select((units::code, units::scale, units::kind))
        .first(conn)
        .optional()?;
    row.map(super::units::unit_of).transpose()
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    currency: &Unit,
    public: bool,
) -> QueryResult<Project> {
    ensure_unit(conn, currency)?;
    diesel::insert_into(projects::table)
        .values(NewProjectRow {
            id,
            name,
            currency: currency.code(),
            public: i32::from(public),
            created_at: super::now(),
            last_sequence: 0,
            last_hash: GENESIS_HASH,
        })
        .execute(conn)?;
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Project>> {
    let row = projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?;
    Ok(typed(row.into_iter().collect())?.pop())
}

/// The project and the role `agent_id` holds in it (None: not a member),
/// read in one statement: what authorizing a request to a project needs.
pub fn find_with_role(
    conn: &mut DbConnection,
    id: &str,
    agent_id: &str,
) -> QueryResult<Option<(Project, Option<Role>)>> {
    let row: Option<(ProjectRow, Option<String>)> = projects::table
        .left_join(
            memberships::table.on(memberships::project_id
                .eq(projects::id)
                .and(memberships::agent_id.eq(agent_id))),
        )
        .filter(projects::id.eq(id))
        .select((ProjectRow::as_select(), memberships::role.nullable()))
        .first(conn)
        .optional()?;
    let Some((row, role)) = row else {
        return Ok(None);
    };
    let role = role_of(role)?;
    Ok(typed(vec![row])?.pop().map(|project| (project, role)))
}

/// A membership's stored role; one the service never writes is an error.
fn role_of(stored: Option<String>) -> QueryResult<Option<Role>> {
    stored
        .map(Role::try_from)
        .transpose()
        .map_err(|e| DeserializationError(e.to_string().into()))
}

/// What authorizing a signed-in caller on a project reads, in one
/// statement: the project, the role of the agent `agent_id` in it, and that
/// agent with whether its token `token_id` has been revoked (`None` for
/// the agent when there is no such agent). `None` when there is no such
/// project.
pub fn find_with_caller(
    conn: &mut DbConnection,
    id: &str,
    agent_id: &str,
    token_id: Option<&str>,
) -> QueryResult<Option<ProjectWithCaller>> {
    use super::schema::{agents, revoked_tokens};
    // A token without an id was never revocable: no revocation has the
    // empty id.
    let revoked =
        diesel::dsl::exists(revoked_tokens::table.find(token_id.unwrap_or_default().to_owned()));
    let row: Option<(ProjectRow, Option<String>, Option<AgentRow>, bool)> = projects::table
        .left_join(
            memberships::table.on(memberships::project_id
                .eq(projects::id)
                .and(memberships::agent_id.eq(agent_id.to_owned()))),
        )
        .left_join(agents::table.on(agents::id.eq(agent_id.to_owned())))
        .filter(projects::id.eq(id))
        .select((
            ProjectRow::as_select(),
            memberships::role.nullable(),
            Option::<AgentRow>::as_select(),
            revoked,
        ))
        .first(conn)
        .optional()?;
    let Some((row, role, agent, revoked)) = row else {
        return Ok(None);
    };
    let role = role_of(role)?;
    Ok(typed(vec![row])?.pop().map(|project| ProjectWithCaller {
        project,
        role,
        agent: agent.map(|agent| (agent, revoked)),
    }))
}

/// A project as [`find_with_caller`] reads it for a signed-in caller.
#[derive(Debug)]
pub struct ProjectWithCaller {
    pub project: Project,
    /// The caller's role in it, if they are a member.
    pub role: Option<Role>,
    /// The agent the token names, and whether the token is revoked.
    pub agent: Option<(AgentRow, bool)>,
}

/// Which projects a listing may show.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Every project (instance administrators).
    All,
    /// Public projects and those the agent is a member of.
    MemberOrPublic(String),
    /// Public projects only (no token).
    Public,
}

/// Projects ordered by id (UUIDv7, so by creation), after `after` if given.
pub fn list(
    conn: &mut DbConnection,
    visibility: &Visibility,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Project>> {
    use super::schema::memberships;
    let mut query = projects::table
        .select(ProjectRow::as_select())
        .order(projects::id)
        .limit(limit)
        .into_boxed();
    match visibility {
        Visibility::All => {}
        Visibility::Public => query = query.filter(projects::public.eq(1)),
        Visibility::MemberOrPublic(agent_id) => {
            let mine = memberships::table
                .filter(memberships::agent_id.eq(agent_id.clone()))
                .select(memberships::project_id);
            query = query.filter(projects::public.eq(1).or(projects::id.eq_any(mine)));
        }
    }
    if let Some(after) = after {
        query = query.filter(projects::id.gt(after.to_owned()));
    }
    typed(query.load(conn)?)
}

/// Renames a project or changes its visibility.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    name: Option<&str>,
    public: Option<bool>,
) -> QueryResult<Project> {
    if let Some(name) = name {
        diesel::update(projects::table.find(id))
            .set(projects::name.eq(name))
            .execute(conn)?;
    }
    if let Some(public) = public {
        diesel::update(projects::table.find(id))
            .set(projects::public.eq(i32::from(public)))
            .execute(conn)?;
    }
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}

/// Takes the project's row lock on PostgreSQL so that writers to one
/// project's ledger queue in order (the hash chain is one sequence per
/// project). SQLite writers are already serialised by the write gate.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    // A project that does not exist has nothing to lock; the request is
    // refused by what reads it next.
    lock_row!(conn, projects, id);
    Ok(())
}

/// The project, its row locked on PostgreSQL in the same statement (see
/// [`lock`]): what posting to its ledger reads before extending the chain.
pub fn find_locked(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Project>> {
    // `as_select()` is bound to one backend where it is built, so each arm
    // builds its own query.
    let row = match conn {
        DbConnection::Postgresql(pg) => projects::table
            .find(id)
            .select(ProjectRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        _ => projects::table
            .find(id)
            .select(ProjectRow::as_select())
            .first(conn)
            .optional()?,
    };
    Ok(typed(row.into_iter().collect())?.pop())
}

/// The project's ledger sequence so far, its row locked on PostgreSQL in
/// the same statement (see [`lock`]); `None` if there is no such project.
pub fn lock_sequence(conn: &mut DbConnection, id: &str) -> QueryResult<Option<i64>> {
    let query = projects::table.find(id).select(projects::last_sequence);
    match conn {
        DbConnection::Postgresql(pg) => query.for_update().first(pg).optional(),
        _ => query.first(conn).optional(),
    }
}

/// The project's revision: how many changes its database triggers have
/// counted to what long computations read outside the writer (decisions
/// and corrections of contributions, rates, memberships, settings, members'
/// emails). See `migrations/*/2026-12-06-000001_project_revisions`.
pub fn revision(conn: &mut DbConnection, id: &str) -> QueryResult<i64> {
    project_revisions::table
        .find(id)
        .select(project_revisions::revision)
        .first(conn)
}

/// The project's revision, read for a write that depends on it: on
/// PostgreSQL the row is share-locked until the write commits, so no change
/// it counts can commit in between (SQLite has one writer anyway).
pub fn revision_locked(conn: &mut DbConnection, id: &str) -> QueryResult<i64> {
    match conn {
        DbConnection::Postgresql(pg) => project_revisions::table
            .find(id)
            .select(project_revisions::revision)
            .for_share()
            .first(pg),
        sqlite => revision(sqlite, id),
    }
}

/// Project settings a request may change.
#[derive(Debug, Default, Clone)]
pub struct SettingsChange {
    pub licence_policy: Option<LicencePolicy>,
    pub allow_unvalued: Option<bool>,
    pub approvals_required: Option<i32>,
    pub distribution_approvals_required: Option<i32>,
    /// `Some(None)` clears it.
    pub four_eyes_above: Option<Option<i64>>,
    pub contributor_names: Option<ContributorNames>,
}

/// Applies the settings a request changes.
pub fn update_settings(
    conn: &mut DbConnection,
    id: &str,
    change: &SettingsChange,
) -> QueryResult<Project> {
    if let Some(policy) = change.licence_policy {
        diesel::update(projects::table.find(id))
            .set(projects::licence_policy.eq(policy.as_str()))
            .execute(conn)?;
    }
    if let Some(names) = change.contributor_names {
        diesel::update(projects::table.find(id))
            .set(projects::contributor_names.eq(names.as_str()))
            .execute(conn)?;
    }
    if let Some(allow) = change.allow_unvalued {
        diesel::update(projects::table.find(id))
            .set(projects::allow_unvalued.eq(i32::from(allow)))
            .execute(conn)?;
    }
    if let Some(required) = change.approvals_required {
        diesel::update(projects::table.find(id))
            .set(projects::approvals_required.eq(required))
            .execute(conn)?;
    }
    if let Some(required) = change.distribution_approvals_required {
        diesel::update(projects::table.find(id))
            .set(projects::distribution_approvals_required.eq(required))
            .execute(conn)?;
    }
    if let Some(above) = change.four_eyes_above {
        diesel::update(projects::table.find(id))
            .set(projects::four_eyes_above.eq(above))
            .execute(conn)?;
    }
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}
