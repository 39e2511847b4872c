//! Who may join a project: the check an addition and an invitation share.

use super::{Error, Refusal};
use crate::db::agents::AgentRow;
use crate::db::{self, DbConnection};

/// The agent `agent_id`, who is not yet a member of the project: 422
/// `unknown_agent` if there is none, 409 `member_exists` if they are one.
pub fn newcomer(
    conn: &mut DbConnection,
    project_id: &str,
    agent_id: &str,
) -> Result<AgentRow, Error> {
    let agent = db::agents::find(conn, agent_id)?
        .ok_or_else(|| Error::UnknownAgent(agent_id.to_owned()))?;
    if db::memberships::find(conn, project_id, &agent.id)?.is_some() {
        return Err(Error::Refused(Refusal::MemberExists(
            agent.id.into_string(),
        )));
    }
    Ok(agent)
}
