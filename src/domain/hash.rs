//! The tamper-evident chain: each transaction's hash covers a canonical,
//! versioned encoding of its content and the hash of the project's previous
//! transaction.

use sha2::{Digest, Sha256};

/// The hash that precedes a project's first transaction.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything a transaction's hash covers.
#[derive(Debug, Clone)]
pub struct HashedTransaction<'a> {
    pub project_id: &'a str,
    pub sequence: i64,
    pub id: &'a str,
    pub kind: &'a str,
    pub effective_date: &'a str,
    pub recorded_at: &'a str,
    pub description: &'a str,
    pub metadata: &'a str,
    pub reverses: Option<&'a str>,
    /// `(from, to, minor units, unit)` in posting order.
    pub postings: Vec<(&'a str, &'a str, i64, &'a str)>,
    pub previous_hash: &'a str,
}

impl HashedTransaction<'_> {
    /// Canonical encoding, version 1: one `field:value` line per field in a
    /// fixed order; free text is JSON-escaped so no value can forge a line.
    pub fn canonical(&self) -> String {
        let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
        let mut out = String::from("commons-ledger:transaction:v1\n");
        out.push_str(&format!("project:{}\n", self.project_id));
        out.push_str(&format!("sequence:{}\n", self.sequence));
        out.push_str(&format!("id:{}\n", self.id));
        out.push_str(&format!("kind:{}\n", self.kind));
        out.push_str(&format!("effective_date:{}\n", self.effective_date));
        out.push_str(&format!("recorded_at:{}\n", self.recorded_at));
        out.push_str(&format!("description:{}\n", quote(self.description)));
        out.push_str(&format!("metadata:{}\n", self.metadata));
        out.push_str(&format!("reverses:{}\n", self.reverses.unwrap_or("-")));
        for (from, to, minor, unit) in &self.postings {
            out.push_str(&format!("posting:{from}|{to}|{minor}|{unit}\n"));
        }
        out.push_str(&format!("previous:{}\n", self.previous_hash));
        out
    }

    /// Lower-case hex SHA-256 of the canonical encoding.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HashedTransaction<'static> {
        HashedTransaction {
            project_id: "p",
            sequence: 1,
            id: "t",
            kind: "transfer",
            effective_date: "2026-03-01",
            recorded_at: "2026-03-01T10:00:00.000000Z",
            description: "line\nbreak",
            metadata: "{}",
            reverses: None,
            postings: vec![("a", "b", 100, "EUR")],
            previous_hash: GENESIS_HASH,
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let base = sample().hash();
        assert_eq!(base.len(), 64);
        let mut altered = sample();
        altered.postings = vec![("a", "b", 101, "EUR")];
        assert_ne!(altered.hash(), base, "amount is covered");
        let mut altered = sample();
        altered.previous_hash = "1";
        assert_ne!(altered.hash(), base, "the chain is covered");
        assert_eq!(sample().hash(), base, "hashing is deterministic");
    }
}
