//! A project as the rest of the service sees it: its settings typed (flags
//! as booleans, the licence policy as an enum), read from storage once.

use chrono::NaiveDateTime;

use super::ids::ProjectId;
use super::licence::LicencePolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    /// The project's currency code (its managed accounts' default).
    pub currency: String,
    /// Whether anyone, signed in or not, may read its books.
    pub public: bool,
    pub created_at: NaiveDateTime,
    /// The head of the project's hash chain: the last transaction's
    /// sequence and hash.
    pub last_sequence: i64,
    pub last_hash: String,
    pub licence_policy: LicencePolicy,
    /// Whether a contribution with no applicable rate is accepted unvalued.
    pub allow_unvalued: bool,
    /// Reviews a contribution needs before it is approved (1 to 10).
    pub approvals_required: i32,
    /// Approvals a distribution run needs before it is executed (1 to 10).
    pub distribution_approvals_required: i32,
    /// Four eyes on large sums: an expense or a payout above this many
    /// minor units of the project's currency waits for a second person.
    pub four_eyes_above: Option<i64>,
    /// The books are closed through this date (`POST .../closings`):
    /// nothing dated on or before it is posted, recorded or reviewed.
    pub closed_through: Option<chrono::NaiveDate>,
    /// How contributors are named to readers of a public project's books.
    pub contributor_names: ContributorNames,
}

/// How a project names its contributors to everyone who may read its
/// books (the public, on a public project): by name, by initials, or not
/// at all. Hidden is the default: a contributor's name is personal data the
/// project publishes only by choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContributorNames {
    #[default]
    Hidden,
    Initials,
    Names,
}

impl ContributorNames {
    pub fn as_str(self) -> &'static str {
        match self {
            ContributorNames::Hidden => "hidden",
            ContributorNames::Initials => "initials",
            ContributorNames::Names => "names",
        }
    }

    /// The setting as stored; `None` for a value the service never writes.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Hidden, Self::Initials, Self::Names]
            .into_iter()
            .find(|names| names.as_str() == text)
    }

    /// What readers are shown of an agent named `name`: the name, its
    /// initials ("Camille Durand" is "C. D."), or nothing.
    pub fn shown(self, name: &str) -> Option<String> {
        match self {
            ContributorNames::Hidden => None,
            ContributorNames::Names => Some(name.to_owned()),
            ContributorNames::Initials => {
                let initials: Vec<String> = name
                    .split(|c: char| c.is_whitespace() || c == '-')
                    .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
                    .map(|first| format!("{}.", first.to_uppercase()))
                    .collect();
                (!initials.is_empty()).then(|| initials.join(" "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ContributorNames;

    #[test]
    fn hidden_shows_nothing_and_names_show_the_name() {
        assert_eq!(ContributorNames::Hidden.shown("Camille Durand"), None);
        assert_eq!(
            ContributorNames::Names.shown("Camille Durand").as_deref(),
            Some("Camille Durand")
        );
    }

    #[test]
    fn initials_take_each_word_s_first_letter() {
        let initials = |name| ContributorNames::Initials.shown(name);
        assert_eq!(initials("Camille Durand").as_deref(), Some("C. D."));
        assert_eq!(initials("jean-luc  picard").as_deref(), Some("J. L. P."));
        assert_eq!(initials("Émile (Lab)").as_deref(), Some("É. L."));
        assert_eq!(initials("  ").as_deref(), None);
    }

    #[test]
    fn every_setting_reads_back_from_its_stored_text() {
        for names in [
            ContributorNames::Hidden,
            ContributorNames::Initials,
            ContributorNames::Names,
        ] {
            assert_eq!(ContributorNames::parse(names.as_str()), Some(names));
        }
        assert_eq!(ContributorNames::parse("everyone"), None);
    }
}
