//! Signed report bundles: what a funder checks offline. A bundle is a plain
//! POSIX tar archive of report files, a manifest listing each file's SHA-256
//! (in `sha256sum`'s own format) with the ledger's and the event log's chain
//! heads, the manifest's raw Ed25519 signature, and the signing key's public
//! half. This module renders and signs the manifest, packs and unpacks the
//! archive in memory, and checks a bundle: all pure functions over bytes, so
//! the service, the command line and the tests share one check.

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The manifest's format; a checker refuses any other.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;
/// The manifest's first comment line, which names the format.
const FORMAT_LINE: &str = "# commons-ledger report bundle, format 1";
/// The signed manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.txt";
/// The manifest's raw 64-byte Ed25519 signature.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// The signing key's public half, SPKI PEM.
pub const PUBLIC_KEY_FILE: &str = "public-key.pem";
/// Longest file name a bundle carries (a tar ustar name holds 100 bytes).
const FILE_NAME_LENGTH_MAX: usize = 100;
/// Files a bundle may hold, content and signature files together: far more
/// than the service writes, few enough that a crafted archive stays small work.
const FILES_MAX: usize = 64;

/// A hash chain's last link as of the bundle's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub sequence: i64,
    pub hash: String,
}

/// What a manifest says besides its files' digests.
#[derive(Debug, Clone)]
pub struct ManifestFacts {
    pub project_id: String,
    pub grant_id: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub generated_at: DateTime<Utc>,
    /// The ledger's head at the snapshot every file was read up to.
    pub ledger: ChainHead,
    /// The event log's head, once the bundle carries events.
    pub events: Option<ChainHead>,
}

/// The instance's signing key, with what is published of it.
pub struct InstanceKey {
    signing: SigningKey,
    public_key_pem: String,
    key_id: String,
}

impl std::fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl InstanceKey {
    /// The key in `pem` (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it).
    pub fn from_pkcs8_pem(pem: &str) -> Result<InstanceKey, BundleError> {
        let signing = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| BundleError::PrivateKey(e.to_string()))?;
        InstanceKey::new(signing)
    }

    /// A key from 32 secret bytes (fresh randomness when generating one).
    pub fn from_secret(secret: &[u8; 32]) -> Result<InstanceKey, BundleError> {
        InstanceKey::new(SigningKey::from_bytes(secret))
    }

    fn new(signing: SigningKey) -> Result<InstanceKey, BundleError> {
        let public_key_pem = public_key_pem(&signing.verifying_key())?;
        let key_id = key_id(&signing.verifying_key())?;
        Ok(InstanceKey {
            signing,
            public_key_pem,
            key_id,
        })
    }

    /// The private key as PKCS#8 PEM, for storing it.
    pub fn to_pkcs8_pem(&self) -> Result<String, BundleError> {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| BundleError::PrivateKey(e.to_string()))?;
        Ok(pem.to_string())
    }

    /// The public key as SPKI PEM, as published and as carried by bundles.
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The key's id: the SHA-256 of its SPKI DER encoding, in hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The raw 64-byte Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

fn public_key_pem(key: &VerifyingKey) -> Result<String, BundleError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| BundleError::PublicKey(e.to_string()))
}

/// The SHA-256 of the key's SPKI DER encoding, in hex: what
/// `openssl pkey -pubin -in public-key.pem -outform DER | sha256sum` prints.
fn key_id(key: &VerifyingKey) -> Result<String, BundleError> {
    let der = key
        .to_public_key_der()
        .map_err(|e| BundleError::PublicKey(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(der.as_bytes())))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn date_or(date: Option<NaiveDate>, open: &str) -> String {
    date.map_or(open.to_owned(), |d| d.to_string())
}

/// The manifest: `<sha256>  <name>` for each content file, in order (what
/// `sha256sum` writes, so `sha256sum -c` checks it, skipping the `#` lines),
/// then one `# key: value` line per fact.
pub fn manifest(facts: &ManifestFacts, key_id: &str, files: &[(&str, &[u8])]) -> String {
    let mut out = String::new();
    for (name, bytes) in files {
        out.push_str(&format!("{}  {name}\n", sha256_hex(bytes)));
    }
    let head = |head: &Option<ChainHead>| match head {
        Some(head) => format!("sequence {} hash {}", head.sequence, head.hash),
        None => "none".to_owned(),
    };
    out.push_str(FORMAT_LINE);
    out.push('\n');
    for (key, value) in [
        ("project", facts.project_id.clone()),
        ("grant", facts.grant_id.clone()),
        ("from", date_or(facts.from, "start")),
        ("to", date_or(facts.to, "end")),
        (
            "generated_at",
            facts
                .generated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        ("ledger", head(&Some(facts.ledger.clone()))),
        ("events", head(&facts.events)),
        ("key_id", key_id.to_owned()),
    ] {
        out.push_str(&format!("# {key}: {value}\n"));
    }
    out
}

/// A signed bundle's files, in archive order: the content files, the
/// manifest, its signature and the public key.
pub fn sign(
    key: &InstanceKey,
    facts: &ManifestFacts,
    files: Vec<(&'static str, Vec<u8>)>,
) -> Vec<(String, Vec<u8>)> {
    let listed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| (*name, bytes.as_slice()))
        .collect();
    let manifest = manifest(facts, key.key_id(), &listed);
    let signature = key.sign(manifest.as_bytes());
    let mut out: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect();
    out.push((MANIFEST_FILE.to_owned(), manifest.into_bytes()));
    out.push((SIGNATURE_FILE.to_owned(), signature.to_vec()));
    out.push((
        PUBLIC_KEY_FILE.to_owned(),
        key.public_key_pem().as_bytes().to_vec(),
    ));
    out
}

/// A plain POSIX (ustar) tar archive of `files`, folder-less, each a regular
/// file with mode 0644, owner 0 and modification time `modified`.
pub fn pack(files: &[(String, Vec<u8>)], modified: DateTime<Utc>) -> Result<Vec<u8>, BundleError> {
    let mut builder = tar::Builder::new(Vec::new());
    let mtime = u64::try_from(modified.timestamp()).unwrap_or(0);
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .map_err(|e| BundleError::Archive(e.to_string()))?;
    }
    builder
        .into_inner()
        .map_err(|e| BundleError::Archive(e.to_string()))
}

/// The files of a tar archive, in order. Only regular files without a
/// folder are accepted: a bundle has no other kind of entry.
pub fn unpack(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    use std::io::Read;
    let archive_error = |e: std::io::Error| BundleError::Archive(e.to_string());
    let mut reader = tar::Archive::new(archive);
    let mut files = Vec::new();
    for entry in reader.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(BundleError::Archive(format!(
                "`{name}` is not a regular file"
            )));
        }
        if files.len() >= FILES_MAX {
            return Err(BundleError::Archive(format!("more than {FILES_MAX} files")));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(archive_error)?;
        files.push((name, bytes));
    }
    Ok(files)
}

/// What a bundle that verifies says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The content files, checked, in manifest order.
    pub files: Vec<String>,
    pub key_id: String,
    /// The manifest's `# key: value` facts, in order (project, grant, period,
    /// generation time, chain heads, key id).
    pub facts: Vec<(String, String)>,
}

/// Why a bundle does not verify: the first failure found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a readable bundle archive: {0}")]
    Archive(String),
    #[error("`{0}` appears twice in the archive")]
    DuplicateFile(String),
    #[error("`{0}` is missing from the archive")]
    MissingFile(String),
    #[error("`{0}` is in the archive but not in the manifest")]
    UnlistedFile(String),
    #[error("manifest.txt line {line}: {reason}")]
    MalformedManifest { line: usize, reason: String },
    #[error("manifest.txt is not a format {BUNDLE_FORMAT_VERSION} bundle manifest")]
    UnsupportedFormat,
    #[error("public-key.pem is not an Ed25519 public key in SPKI PEM: {0}")]
    PublicKey(String),
    #[error("not an Ed25519 private key in PKCS#8 PEM: {0}")]
    PrivateKey(String),
    #[error("manifest.txt names key {manifest}, but public-key.pem is key {found}")]
    KeyIdMismatch { manifest: String, found: String },
    #[error("the bundle is signed with key {found}, not the expected key {expected}")]
    UnexpectedKey { expected: String, found: String },
    #[error("manifest.sig is not a valid signature of manifest.txt by public-key.pem")]
    BadSignature,
    #[error("`{0}` does not match its SHA-256 in the manifest")]
    DigestMismatch(String),
}

/// The manifest's lines: the listed files with their digests, and the facts.
struct ParsedManifest {
    files: Vec<(String, String)>,
    facts: Vec<(String, String)>,
}

fn parse_manifest(bytes: &[u8]) -> Result<ParsedManifest, BundleError> {
    let malformed = |line: usize, reason: &str| BundleError::MalformedManifest {
        line,
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| malformed(0, "not UTF-8"))?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err(malformed(0, "does not end with a line break"));
    };
    let mut parsed = ParsedManifest {
        files: Vec::new(),
        facts: Vec::new(),
    };
    let mut format_seen = false;
    for (index, line) in body.split('\n').enumerate() {
        let number = index + 1;
        if line == FORMAT_LINE {
            format_seen = true;
        } else if let Some(fact) = line.strip_prefix("# ") {
            let (key, value) = fact
                .split_once(": ")
                .ok_or_else(|| malformed(number, "a `#` line that is not `# key: value`"))?;
            parsed.facts.push((key.to_owned(), value.to_owned()));
        } else if line.starts_with('#') {
            return Err(BundleError::UnsupportedFormat);
        } else {
            let (digest, name) = line
                .split_once("  ")
                .ok_or_else(|| malformed(number, "not `<sha256>  <file name>`"))?;
            let hex_digest = digest.len() == 64
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_digest {
                return Err(malformed(number, "not a lower-case hex SHA-256"));
            }
            if !plain_file_name(name) || is_signature_file(name) {
                return Err(malformed(number, "not a content file name"));
            }
            parsed.files.push((name.to_owned(), digest.to_owned()));
        }
    }
    if !format_seen {
        return Err(BundleError::UnsupportedFormat);
    }
    Ok(parsed)
}

/// Letters, digits, `.`, `-` and `_`, not starting with a dot: a file
/// name with no folder and nothing a shell or `sha256sum` reads otherwise.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= FILE_NAME_LENGTH_MAX
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn is_signature_file(name: &str) -> bool {
    [MANIFEST_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE].contains(&name)
}

/// Checks a bundle's files: no name twice; the manifest, its signature and
/// the public key present, the key in its canonical SPKI PEM and named by
/// the manifest's key id (and, given `expected_key_pem`, that very key); the
/// signature valid over the manifest's exact bytes; every listed file
/// present with its SHA-256; no file the manifest does not list.
pub fn verify(
    files: &[(String, Vec<u8>)],
    expected_key_pem: Option<&str>,
) -> Result<VerifiedBundle, BundleError> {
    let mut by_name = std::collections::BTreeMap::new();
    for (name, bytes) in files {
        if by_name.insert(name.as_str(), bytes.as_slice()).is_some() {
            return Err(BundleError::DuplicateFile(name.clone()));
        }
    }
    let file = |name: &str| {
        by_name
            .get(name)
            .copied()
            .ok_or_else(|| BundleError::MissingFile(name.to_owned()))
    };
    let manifest_bytes = file(MANIFEST_FILE)?;
    let manifest = parse_manifest(manifest_bytes)?;
    let key = checked_public_key(file(PUBLIC_KEY_FILE)?)?;
    let found = key_id(&key)?;
    let named = manifest
        .facts
        .iter()
        .find(|(k, _)| k == "key_id")
        .map(|(_, v)| v.clone())
        .ok_or(BundleError::MalformedManifest {
            line: 0,
            reason: "no `# key_id:` line".to_owned(),
        })?;
    if named != found {
        return Err(BundleError::KeyIdMismatch {
            manifest: named,
            found,
        });
    }
    if let Some(expected) = expected_key_pem {
        let expected = VerifyingKey::from_public_key_pem(expected.trim())
            .map_err(|e| BundleError::PublicKey(format!("the expected key: {e}")))?;
        if expected != key {
            return Err(BundleError::UnexpectedKey {
                expected: key_id(&expected)?,
                found,
            });
        }
    }
    let signature =
        Signature::from_slice(file(SIGNATURE_FILE)?).map_err(|_| BundleError::BadSignature)?;
    key.verify_strict(manifest_bytes, &signature)
        .map_err(|_| BundleError::BadSignature)?;
    for (name, digest) in &manifest.files {
        if sha256_hex(file(name)?) != *digest {
            return Err(BundleError::DigestMismatch(name.clone()));
        }
    }
    if let Some((name, _)) = files.iter().find(|(name, _)| {
        !is_signature_file(name) && !manifest.files.iter().any(|(listed, _)| listed == name)
    }) {
        return Err(BundleError::UnlistedFile(name.clone()));
    }
    Ok(VerifiedBundle {
        files: manifest.files.into_iter().map(|(name, _)| name).collect(),
        key_id: found,
        facts: manifest.facts,
    })
}

/// The public key in `bytes`, which must be exactly its canonical SPKI PEM
/// (so no byte of the file can change without the check failing).
fn checked_public_key(bytes: &[u8]) -> Result<VerifyingKey, BundleError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| BundleError::PublicKey("not UTF-8".to_owned()))?;
    let key = VerifyingKey::from_public_key_pem(text)
        .map_err(|e| BundleError::PublicKey(e.to_string()))?;
    if public_key_pem(&key)? != text {
        return Err(BundleError::PublicKey(
            "not in its canonical form (LF line breaks, 64-column base64)".to_owned(),
        ));
    }
    Ok(key)
}

/// Checks a bundle archive, as [`verify`] does its files.
pub fn verify_archive(
    archive: &[u8],
    expected_key_pem: Option<&str>,
) -> Result<VerifiedBundle, BundleError> {
    verify(&unpack(archive)?, expected_key_pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> InstanceKey {
        InstanceKey::from_secret(&[seed; 32]).expect("key")
    }

    fn facts() -> ManifestFacts {
        ManifestFacts {
            project_id: "0193a000-0000-7000-8000-000000000001".to_owned(),
            grant_id: "0193a000-0000-7000-8000-000000000002".to_owned(),
            from: NaiveDate::from_ymd_opt(2026, 1, 1),
            to: None,
            generated_at: DateTime::from_timestamp(1_780_000_000, 0).expect("time"),
            ledger: ChainHead {
                sequence: 7,
                hash: "ab".repeat(32),
            },
            events: None,
        }
    }

    fn bundle(key: &InstanceKey) -> Vec<(String, Vec<u8>)> {
        sign(
            key,
            &facts(),
            vec![
                ("grant.csv", b"section,cash\nreceived,10.00\n".to_vec()),
                ("journal.hledger", b"2026-02-01 * grant\n".to_vec()),
            ],
        )
    }

    #[test]
    fn the_manifest_is_sha256sum_lines_then_the_facts() {
        let files = bundle(&key(1));
        let manifest = String::from_utf8(files[2].1.clone()).expect("text");
        let lines: Vec<&str> = manifest.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{}  grant.csv",
                sha256_hex(b"section,cash\nreceived,10.00\n")
            )
        );
        assert!(lines[1].ends_with("  journal.hledger"));
        assert_eq!(lines[2], FORMAT_LINE);
        assert_eq!(lines[3], "# project: 0193a000-0000-7000-8000-000000000001");
        assert_eq!(lines[5], "# from: 2026-01-01");
        assert_eq!(lines[6], "# to: end");
        assert_eq!(lines[7], "# generated_at: 2026-05-28T20:26:40Z");
        assert_eq!(
            lines[8],
            format!("# ledger: sequence 7 hash {}", "ab".repeat(32))
        );
        assert_eq!(lines[9], "# events: none");
        assert_eq!(lines[10], format!("# key_id: {}", key(1).key_id()));
        assert_eq!(files[3].1.len(), 64, "a raw Ed25519 signature");
        assert!(files[4].1.starts_with(b"-----BEGIN PUBLIC KEY-----\n"));
    }

    #[test]
    fn a_signed_bundle_verifies_through_its_archive() {
        let files = bundle(&key(1));
        let archive = pack(&files, facts().generated_at).expect("archive");
        assert_eq!(unpack(&archive).expect("files"), files);
        let verified = verify_archive(&archive, Some(key(1).public_key_pem())).expect("verifies");
        assert_eq!(verified.files, ["grant.csv", "journal.hledger"]);
        assert_eq!(verified.key_id, key(1).key_id());
        assert!(
            verified
                .facts
                .contains(&("events".to_owned(), "none".to_owned()))
        );
    }

    #[test]
    fn any_byte_altered_in_any_file_fails_the_check() {
        let files = bundle(&key(1));
        for (index, (name, bytes)) in files.iter().enumerate() {
            for position in 0..bytes.len() {
                let mut altered = files.clone();
                altered[index].1[position] ^= 0x01;
                assert!(
                    verify(&altered, None).is_err(),
                    "{name}: byte {position} altered and the bundle still verifies"
                );
            }
        }
    }

    #[test]
    fn each_failure_is_named() {
        let files = bundle(&key(1));
        let without = |name: &str| -> Vec<(String, Vec<u8>)> {
            files.iter().filter(|(n, _)| n != name).cloned().collect()
        };
        assert_eq!(
            verify(&without("grant.csv"), None),
            Err(BundleError::MissingFile("grant.csv".to_owned()))
        );
        assert_eq!(
            verify(&without(SIGNATURE_FILE), None),
            Err(BundleError::MissingFile(SIGNATURE_FILE.to_owned()))
        );
        let mut extra = files.clone();
        extra.push(("notes.txt".to_owned(), b"hello".to_vec()));
        assert_eq!(
            verify(&extra, None),
            Err(BundleError::UnlistedFile("notes.txt".to_owned()))
        );
        let mut twice = files.clone();
        twice.push(files[0].clone());
        assert_eq!(
            verify(&twice, None),
            Err(BundleError::DuplicateFile("grant.csv".to_owned()))
        );
        let mut content = files.clone();
        content[1].1.push(b'\n');
        assert_eq!(
            verify(&content, None),
            Err(BundleError::DigestMismatch("journal.hledger".to_owned()))
        );
        assert!(matches!(
            verify(&files, Some(key(2).public_key_pem())),
            Err(BundleError::UnexpectedKey { .. })
        ));
        // Another key signing the same manifest: the manifest names the first.
        let mut resigned = files.clone();
        resigned[3].1 = key(2).sign(&files[2].1).to_vec();
        resigned[4].1 = key(2).public_key_pem().as_bytes().to_vec();
        assert!(matches!(
            verify(&resigned, None),
            Err(BundleError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn archives_with_folders_links_or_garbage_are_refused() {
        assert!(verify_archive(b"not a tar archive at all, just some bytes", None).is_err());
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "manifest.txt", "/etc/passwd")
            .expect("link");
        let archive = builder.into_inner().expect("archive");
        assert!(matches!(unpack(&archive), Err(BundleError::Archive(_))));
        let files = vec![("../grant.csv".to_owned(), b"x".to_vec())];
        let mut manifest = format!("{}  ../grant.csv\n{FORMAT_LINE}\n", sha256_hex(b"x"));
        manifest.push_str("# key_id: 00\n");
        assert!(matches!(
            parse_manifest(manifest.as_bytes()),
            Err(BundleError::MalformedManifest { line: 1, .. })
        ));
        assert!(verify(&files, None).is_err());
    }

    #[test]
    fn a_stored_key_reads_back_as_the_same_key() {
        let original = key(9);
        let pem = original.to_pkcs8_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let read = InstanceKey::from_pkcs8_pem(&pem).expect("read");
        assert_eq!(read.key_id(), original.key_id());
        assert_eq!(read.sign(b"m"), original.sign(b"m"));
        assert!(
            InstanceKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
    }
}
