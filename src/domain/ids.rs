//! Identifiers of the main entities, each its own type, so that a project's
//! id cannot be passed where an agent's is wanted. Every id the service
//! makes is a UUIDv7, hyphenated and lower-case, and is stored as that text;
//! each type reads as `&str` (through `Deref`) wherever text is wanted.

use std::fmt;
use std::ops::Deref;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id: a UUIDv7, so ids sort by creation.
            pub fn generate() -> Self {
                $name(uuid::Uuid::now_v7().to_string())
            }

            /// An id as the service writes them (a hyphenated lower-case
            /// UUID), or `None`.
            pub fn parse(text: &str) -> Option<Self> {
                uuid::Uuid::try_parse(text)
                    .ok()
                    .filter(|id| id.hyphenated().to_string() == text)
                    .map(|_| $name(text.to_owned()))
            }

            /// An id read back from storage, where only ids the service
            /// wrote are found.
            pub fn stored(text: String) -> Self {
                $name(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// An id read back from storage (see [`Self::stored`]).
        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A project's id.
    ProjectId
);
id_type!(
    /// An agent's id (a person or an organisation with a login).
    AgentId
);
id_type!(
    /// A contribution's id.
    ContributionId
);
id_type!(
    /// A distribution run's id.
    DistributionId
);
id_type!(
    /// A ledger transaction's id.
    TransactionId
);
id_type!(
    /// A grant's id.
    GrantId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_creation() {
        let first = ProjectId::generate();
        let second = ProjectId::generate();
        assert_eq!(ProjectId::parse(&first), Some(first.clone()));
        assert!(first < second);
    }

    #[test]
    fn only_the_form_the_service_writes_parses() {
        let id = AgentId::generate();
        assert!(AgentId::parse(&id.to_uppercase()).is_none());
        assert!(AgentId::parse(&id.replace('-', "")).is_none());
        assert!(AgentId::parse("").is_none());
        assert!(AgentId::parse("not-an-id").is_none());
    }

    #[test]
    fn an_id_reads_as_its_text() {
        let id = GrantId::parse("0190f4a0-0000-7000-8000-000000000000").expect("a valid id");
        let text: &str = &id;
        assert_eq!(text, "0190f4a0-0000-7000-8000-000000000000");
        assert_eq!(id, "0190f4a0-0000-7000-8000-000000000000");
        assert_eq!(
            serde_json::to_string(&id).expect("serialised"),
            "\"0190f4a0-0000-7000-8000-000000000000\""
        );
    }
}
