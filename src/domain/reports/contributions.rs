//! contributions.csv, and the contribution facts every report shares: one
//! line per contribution with its valuation as it was recorded, its
//! reviews, and the funder cost category of its kind.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Column, Units, columns, money};
use crate::domain::contribution::QuantityUnit;

/// The header row of contributions.csv, in order.
pub const CONTRIBUTION_COLUMNS: [Column; 22] = columns(
    "contribution_id,contributor,date,kind,quantity,unit,description,skill,equipment,rate,rate_per,method,source,value,currency,status,reviewers,licence,evidence,funder_category,supersedes,recorded_at",
);

/// The expense category whose funder category an in-kind contribution of
/// `kind` reports under: `in-kind-time`, `in-kind-equipment`, `in-kind-data`.
pub fn in_kind_category(kind: &str) -> String {
    format!("in-kind-{kind}")
}

/// The rate a contribution was valued with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedRate {
    /// Minor units of `currency` per `per`.
    pub amount: i64,
    pub currency: String,
    pub per: String,
    pub method: String,
    pub source: String,
}

/// A recorded contribution as the reports read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContributionEntry {
    pub id: String,
    pub agent_id: String,
    pub kind: String,
    pub date: NaiveDate,
    /// Minor units of `unit`.
    pub quantity: i64,
    pub unit: String,
    pub description: String,
    pub skill: Option<String>,
    pub equipment: Option<String>,
    pub dataset_title: Option<String>,
    pub dataset_uri: Option<String>,
    pub dataset_checksum: Option<String>,
    pub licence: Option<String>,
    pub rate: Option<AppliedRate>,
    /// Minor units of `currency`; none when unvalued.
    pub value: Option<i64>,
    pub currency: Option<String>,
    pub status: String,
    /// Each review as `<reviewer id>:<decision>`, in order.
    pub reviews: Vec<String>,
    pub supersedes: Option<String>,
    /// Whether an approved correction replaced it.
    pub replaced: bool,
    /// RFC 3339 UTC.
    pub recorded_at: String,
}

impl ContributionEntry {
    /// The quantity at its unit's scale (a unit unknown to the service, whole).
    pub fn quantity_text(&self) -> String {
        QuantityUnit::parse(&self.unit).map_or_else(
            || self.quantity.to_string(),
            |unit| unit.format_quantity(self.quantity),
        )
    }

    /// Whether it counts in the approved totals: approved, and not replaced
    /// by a correction (which counts in its place).
    pub fn counts(&self) -> bool {
        self.status == "approved" && !self.replaced
    }

    /// Its value with its currency, when valued.
    pub fn valued(&self) -> Option<(i64, &str)> {
        self.value.zip(self.currency.as_deref())
    }
}

/// One line of contributions.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionLine<'a> {
    pub entry: &'a ContributionEntry,
    pub date: String,
    pub quantity: String,
    pub description: String,
    pub rate: String,
    pub value: String,
    pub reviewers: String,
    pub evidence: String,
    pub funder_category: String,
}

impl<'a> ContributionLine<'a> {
    /// The line of `entry`, with the funder categories of the project's
    /// expense categories (by name).
    pub fn of(
        entry: &'a ContributionEntry,
        categories: &HashMap<String, String>,
        units: &Units,
    ) -> Self {
        let currency = entry.currency.as_deref().unwrap_or_default();
        let description = match &entry.dataset_title {
            Some(title) if entry.description.is_empty() => title.clone(),
            Some(title) => format!("{title}: {}", entry.description),
            None => entry.description.clone(),
        };
        let evidence = [
            entry.dataset_uri.as_deref(),
            entry.dataset_checksum.as_deref(),
        ];
        ContributionLine {
            entry,
            date: entry.date.to_string(),
            quantity: entry.quantity_text(),
            description,
            rate: entry
                .rate
                .as_ref()
                .map(|r| money(units, &r.currency, i128::from(r.amount)))
                .unwrap_or_default(),
            value: entry
                .value
                .map(|v| money(units, currency, i128::from(v)))
                .unwrap_or_default(),
            reviewers: entry.reviews.join(" "),
            evidence: evidence.into_iter().flatten().collect::<Vec<_>>().join(" "),
            funder_category: categories
                .get(&in_kind_category(&entry.kind))
                .cloned()
                .unwrap_or_default(),
        }
    }

    pub fn cells(&self) -> [&str; 22] {
        let entry = self.entry;
        let rate = entry.rate.as_ref();
        let rate_text = |field: fn(&AppliedRate) -> &str| rate.map_or("", field);
        [
            &entry.id,
            &entry.agent_id,
            &self.date,
            &entry.kind,
            &self.quantity,
            &entry.unit,
            &self.description,
            entry.skill.as_deref().unwrap_or(""),
            entry.equipment.as_deref().unwrap_or(""),
            &self.rate,
            rate_text(|r| &r.per),
            rate_text(|r| &r.method),
            rate_text(|r| &r.source),
            &self.value,
            entry.currency.as_deref().unwrap_or(""),
            &entry.status,
            &self.reviewers,
            entry.licence.as_deref().unwrap_or(""),
            &self.evidence,
            &self.funder_category,
            entry.supersedes.as_deref().unwrap_or(""),
            &entry.recorded_at,
        ]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::reports::test_support::{day, units};

    pub fn contribution(id: &str, status: &str, value: Option<i64>) -> ContributionEntry {
        ContributionEntry {
            id: id.to_owned(),
            agent_id: "agent-a".to_owned(),
            kind: "time".to_owned(),
            date: day("2026-02-10"),
            quantity: 750,
            unit: "hour".to_owned(),
            description: "sensor calibration".to_owned(),
            value,
            currency: value.map(|_| "EUR".to_owned()),
            status: status.to_owned(),
            ..ContributionEntry::default()
        }
    }

    #[test]
    fn a_line_carries_the_valuation_reviews_and_funder_category() {
        let mut entry = contribution("c1", "approved", Some(30_000));
        entry.rate = Some(AppliedRate {
            amount: 4_000,
            currency: "EUR".to_owned(),
            per: "hour".to_owned(),
            method: "replacement cost".to_owned(),
            source: "collective agreement".to_owned(),
        });
        entry.reviews = vec!["r1:approve".to_owned(), "r2:approve".to_owned()];
        let categories =
            HashMap::from([("in-kind-time".to_owned(), "A personnel costs".to_owned())]);
        let units = units();
        let line = ContributionLine::of(&entry, &categories, &units);
        let cells = line.cells();
        assert_eq!(
            &cells[..6],
            &["c1", "agent-a", "2026-02-10", "time", "7.50", "hour"]
        );
        assert_eq!(
            &cells[9..15],
            &[
                "40.00",
                "hour",
                "replacement cost",
                "collective agreement",
                "300.00",
                "EUR"
            ]
        );
        assert_eq!(cells[16], "r1:approve r2:approve");
        assert_eq!(cells[19], "A personnel costs");
    }

    #[test]
    fn a_dataset_is_described_by_its_title_first() {
        let mut entry = contribution("c2", "pending", None);
        entry.dataset_title = Some("Air 2025".to_owned());
        entry.dataset_uri = Some("https://data.example/air".to_owned());
        entry.dataset_checksum = Some("sha256:ab".to_owned());
        let units = units();
        let line = ContributionLine::of(&entry, &HashMap::new(), &units);
        assert_eq!(line.description, "Air 2025: sensor calibration");
        assert_eq!(line.evidence, "https://data.example/air sha256:ab");
        assert_eq!(line.value, "", "unvalued");
        entry.description.clear();
        assert_eq!(
            ContributionLine::of(&entry, &HashMap::new(), &units).description,
            "Air 2025"
        );
    }

    #[test]
    fn only_approved_unreplaced_contributions_count() {
        assert!(contribution("c", "approved", Some(1)).counts());
        assert!(!contribution("c", "pending", Some(1)).counts());
        let mut replaced = contribution("c", "approved", Some(1));
        replaced.replaced = true;
        assert!(!replaced.counts());
    }
}
