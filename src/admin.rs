//! Operations shared by the command line and the tests: creating the first
//! instance administrator without any default password.

use crate::auth::password;
use crate::db::agents::{AgentRow, NewAgent};
use crate::db::{self, Database, StorageError};
use crate::domain::agent::{Email, Password};

/// Creates an administrator with `email` and `password`. Refuses an email
/// that already belongs to an agent, and a password outside the policy.
pub fn create_admin(
    db: &Database,
    email: &str,
    name: Option<&str>,
    password: &str,
) -> Result<AgentRow, String> {
    let email = Email::parse(email).map_err(|e| e.to_string())?;
    let password = Password::parse(password).map_err(|e| e.to_string())?;
    let hash = password::hash(&password)?;
    let name = name.unwrap_or(email.as_str()).to_owned();
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
