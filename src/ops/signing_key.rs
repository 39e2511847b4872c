//! The instance's Ed25519 signing key, which signs report bundles: read from
//! a PKCS#8 PEM file when one is configured, otherwise generated once and
//! kept in the database, so every instance on the same database signs with
//! the same key (docs/security.md says what each choice means).

use std::path::Path;

use crate::db::{Database, StorageError};
use crate::domain::bundle::{BundleError, InstanceKey};

/// Why the instance's key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("cannot read the signing key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the signing key file {path} is not usable: {source}")]
    Unusable { path: String, source: BundleError },
    #[error("the signing key stored in the database is not usable: {0}")]
    Stored(BundleError),
    #[error("cannot generate a signing key: {0}")]
    Generate(BundleError),
    #[error(
        "no signing key is stored yet, and a read-only instance cannot store one: start an \
         instance over the primary database once, or set --signing-key-file"
    )]
    NoneStored,
    #[error("cannot read or store the signing key: {0}")]
    Storage(#[from] StorageError),
}

/// The key in `file` if given, else the database's (generated and stored
/// first if there is none yet).
pub fn instance_key(db: &Database, file: Option<&Path>) -> Result<InstanceKey, SigningKeyError> {
    match file {
        Some(path) => from_file(path),
        None => stored_or_generated(db),
    }
}

/// The key in `file` if given, else the one stored in the database; never
/// generates one (a read-only instance's database cannot store it).
pub fn existing_key(db: &Database, file: Option<&Path>) -> Result<InstanceKey, SigningKeyError> {
    if let Some(path) = file {
        return from_file(path);
    }
    let pem = db
        .read(|conn| -> Result<_, StorageError> { Ok(crate::db::signing_keys::find(conn)?) })?
        .ok_or(SigningKeyError::NoneStored)?;
    InstanceKey::from_pkcs8_pem(&pem).map_err(SigningKeyError::Stored)
}

fn from_file(path: &Path) -> Result<InstanceKey, SigningKeyError> {
    let shown = path.display().to_string();
    let pem = std::fs::read_to_string(path).map_err(|source| SigningKeyError::File {
        path: shown.clone(),
        source,
    })?;
    InstanceKey::from_pkcs8_pem(&pem).map_err(|source| SigningKeyError::Unusable {
        path: shown,
        source,
    })
}

/// The stored key; when there is none, a fresh one is inserted, and the
/// row is read again, so that of instances starting together, all use
/// the one that was stored first.
fn stored_or_generated(db: &Database) -> Result<InstanceKey, SigningKeyError> {
    if let Some(pem) =
        db.read(|conn| -> Result<_, StorageError> { Ok(crate::db::signing_keys::find(conn)?) })?
    {
        return InstanceKey::from_pkcs8_pem(&pem).map_err(SigningKeyError::Stored);
    }
    let mut secret = [0u8; 32];
    argon2::password_hash::rand_core::RngCore::fill_bytes(
        &mut argon2::password_hash::rand_core::OsRng,
        &mut secret,
    );
    let generated = InstanceKey::from_secret(&secret).map_err(SigningKeyError::Generate)?;
    let pem = generated
        .to_pkcs8_pem()
        .map_err(SigningKeyError::Generate)?;
    let now = chrono::Utc::now().naive_utc();
    let inserted = db.write(|conn| -> Result<_, StorageError> {
        Ok(crate::db::signing_keys::insert(conn, &pem, now)?)
    });
    match inserted {
        Ok(()) => tracing::info!(key_id = generated.key_id(), "generated the signing key"),
        Err(StorageError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => {}
        Err(other) => return Err(other.into()),
    }
    let stored = db
        .read(|conn| -> Result<_, StorageError> { Ok(crate::db::signing_keys::find(conn)?) })?
        .ok_or_else(|| {
            StorageError::Corrupt("the signing key was stored, then not found".to_owned())
        })?;
    InstanceKey::from_pkcs8_pem(&stored).map_err(SigningKeyError::Stored)
}
