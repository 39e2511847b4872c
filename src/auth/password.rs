//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB,
//! two passes, one lane, as OWASP recommends). Only PHC hash strings are stored.
//!
//! Every hash runs in memory the caller lends ([`Memory`]), so the 19 MiB
//! working area of argon2 is allocated once per hasher and reused, instead
//! of once per sign-in (allocations that size, freed and re-made on many
//! threads, are what made the process grow and keep its memory). The
//! service's hashers live in [`super::hashers`], which also bounds how many
//! run at once.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::domain::agent::Password;

/// The working memory of one argon2 computation with the default parameters.
pub struct Memory(Vec<Block>);

impl Memory {
    /// Memory of one hasher, in MiB (argon2's default `m_cost`, in KiB).
    pub const MIB: u64 = Params::DEFAULT_M_COST as u64 / 1024;

    /// Allocates the working memory (and touches it: RSS grows by [`Memory::MIB`]).
    pub fn new() -> Self {
        Memory(vec![Block::default(); Params::DEFAULT.block_count()])
    }
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

/// Hashes `password` with a fresh random salt, in a memory of its own (for
/// the command line, which hashes once; the service uses its hashers).
pub fn hash(password: &Password) -> Result<String, String> {
    hash_in(&mut Memory::new(), password)
}

/// Hashes `password` with a fresh random salt in `memory`.
pub fn hash_in(memory: &mut Memory, password: &Password) -> Result<String, String> {
    let failed = |error: &dyn std::fmt::Display| format!("password hashing failed: {error}");
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let params = Params::DEFAULT;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_bytes,
            &mut output,
            &mut memory.0,
        )
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `candidate` matches the stored hash, computed in `memory`. With
/// no stored hash (unknown email, or an agent without credentials) a dummy
/// hash is checked anyway, so the answer takes as long and reveals nothing.
/// A stored hash whose parameters need more memory than a hasher has is
/// refused (and logged): this service only ever stores default-cost hashes.
pub fn verify_in(memory: &mut Memory, stored: Option<&str>, candidate: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let (hash_text, real) = match stored {
        Some(stored) => (stored, true),
        None => {
            let dummy = match DUMMY.get() {
                Some(dummy) => dummy,
                None => {
                    let made = Password::parse("dummy password for timing")
                        .ok()
                        .and_then(|password| hash_in(memory, &password).ok())
                        .unwrap_or_default();
                    DUMMY.get_or_init(|| made)
                }
            };
            (dummy.as_str(), false)
        }
    };
    let matches = matches_in(memory, hash_text, candidate).unwrap_or_else(|error| {
        if real {
            tracing::warn!(%error, "a stored password hash could not be checked");
        }
        false
    });
    real && matches
}

/// Recomputes the hash of `candidate` with the stored hash's algorithm,
/// parameters and salt, and compares the outputs in constant time (as
/// `argon2`'s own verifier does, but in the lent memory).
fn matches_in(memory: &mut Memory, stored: &str, candidate: &str) -> Result<bool, String> {
    let parsed = PasswordHash::new(stored).map_err(|e| e.to_string())?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| e.to_string())?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| e.to_string())?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err("the stored hash has no salt or no output".to_owned());
    };
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| e.to_string())?;
    let mut output = [0u8; Output::MAX_LENGTH];
    let output = output
        .get_mut(..expected.len())
        .ok_or("the stored hash is too long")?;
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(candidate.as_bytes(), salt_bytes, output, &mut memory.0)
        .map_err(|e| e.to_string())?;
    let computed = Output::new(output).map_err(|e| e.to_string())?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_are_argon2id_salted_and_verifiable() {
        let mut memory = Memory::new();
        let password = Password::parse("correct horse battery staple").expect("valid");
        let first = hash_in(&mut memory, &password).expect("hash");
        let second = hash_in(&mut memory, &password).expect("hash");
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(first, second, "salted");
        assert!(!first.contains("horse"));
        assert!(verify_in(
            &mut memory,
            Some(&first),
            "correct horse battery staple"
        ));
        assert!(!verify_in(
            &mut memory,
            Some(&first),
            "correct horse battery stapler"
        ));
        assert!(!verify_in(
            &mut memory,
            None,
            "correct horse battery staple"
        ));
        assert!(!verify_in(&mut memory, Some("not a hash"), "anything"));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        let mut memory = Memory::new();
        let password = Password::parse("correct horse battery staple").expect("valid");
        let ours = hash_in(&mut memory, &password).expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC string");
        assert!(
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            "the crate's verifier accepts our hash"
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .expect("hash")
            .to_string();
        assert!(verify_in(&mut memory, Some(&theirs), password.expose()));
    }

    #[test]
    fn a_hash_needing_more_memory_than_a_hasher_has_is_refused() {
        let params = Params::new(Params::DEFAULT_M_COST * 2, 1, 1, None).expect("params");
        let salt = SaltString::generate(&mut OsRng);
        let costly = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery staple", &salt)
            .expect("hash")
            .to_string();
        assert!(!verify_in(
            &mut Memory::new(),
            Some(&costly),
            "correct horse battery staple"
        ));
    }
}
