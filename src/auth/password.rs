//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB,
//! two passes, one lane, as OWASP recommends). Only PHC hash strings are stored.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::domain::agent::Password;

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &Password) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| format!("password hashing failed: {error}"))
}

/// Whether `candidate` matches the stored hash. With no stored hash (unknown
/// email, or an agent without credentials) a dummy hash is checked anyway,
/// so the answer takes as long and reveals nothing.
pub fn verify(stored: Option<&str>, candidate: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Password::parse("dummy password for timing")
            .ok()
            .and_then(|password| hash(&password).ok())
            .unwrap_or_default()
    });
    let (hash_text, real) = match stored {
        Some(stored) => (stored, true),
        None => (dummy.as_str(), false),
    };
    let matches = PasswordHash::new(hash_text)
        .map(|parsed| {
            Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    real && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verifiable() {
        let password = Password::parse("correct horse battery staple").expect("valid");
        let first = hash(&password).expect("hash");
        let second = hash(&password).expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "salted");
        assert!(!first.contains("horse"));
        assert!(verify(Some(&first), "correct horse battery staple"));
        assert!(!verify(Some(&first), "correct horse battery stapler"));
        assert!(!verify(None, "correct horse battery staple"));
    }
}
