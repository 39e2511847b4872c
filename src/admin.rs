//! Operations shared by the command line and the tests: creating the first
//! instance administrator without any default password.

use crate::auth::password;
use crate::db::agents::{AgentRow, NewAgent};
use crate::db::{self, Database, StorageError};
use crate::domain::agent::{AGENT_NAME_LENGTH_MAX, Email, Password};

/// Creates an administrator with `email`, display `name` and `password`.
/// Refuses an email that already belongs to an agent, a name that is empty
/// or longer than [`AGENT_NAME_LENGTH_MAX`], and a password outside the
/// policy. The name is the administrator's own: the email is never used in
/// its place, since names are shown to other members and emails are not.
pub fn create_admin(
    db: &Database,
    email: &str,
    name: &str,
    password: &str,
) -> Result<AgentRow, String> {
    let email = Email::parse(email).map_err(|e| e.to_string())?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > AGENT_NAME_LENGTH_MAX {
        return Err(format!(
            "a display name (--name) is 1 to {AGENT_NAME_LENGTH_MAX} characters"
        ));
    }
    let password = Password::parse(password).map_err(|e| e.to_string())?;
    let hash = password::hash(&password)?;
    db.write(|conn| -> Result<AgentRow, AdminError> {
        if db::agents::find_by_email(conn, email.as_str())?.is_some() {
            return Err(AdminError::Exists(email.as_str().to_owned()));
        }
        Ok(db::agents::insert(
            conn,
            &NewAgent {
                kind: "person",
                name: &name,
                email: Some(email.as_str()),
                password_hash: Some(&hash),
                is_admin: true,
                created_by: None,
            },
        )?)
    })
    .map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
enum AdminError {
    #[error("an agent with the email {0} already exists; nothing was changed")]
    Exists(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl crate::db::Transient for AdminError {
    fn is_transient(&self) -> bool {
        match self {
            AdminError::Storage(error) => error.is_transient(),
            AdminError::Query(error) => error.is_transient(),
            AdminError::Exists(_) => false,
        }
    }
}
