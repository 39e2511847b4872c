//! Contributions of time, equipment and data; their valuation from
//! effective-dated rates; licence policy; and review outcomes.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::money::{Amount, AmountError, Unit, UnitKind};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ContributionKind {
    Time,
    Equipment,
    Data,
}

impl ContributionKind {
    pub const ALL: [ContributionKind; 3] = [
        ContributionKind::Time,
        ContributionKind::Equipment,
        ContributionKind::Data,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContributionKind::Time => "time",
            ContributionKind::Equipment => "equipment",
            ContributionKind::Data => "data",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The units a quantity of this kind may be given in.
    pub fn accepts(self, unit: QuantityUnit) -> bool {
        match self {
            ContributionKind::Time => unit == QuantityUnit::Hour || unit == QuantityUnit::Day,
            ContributionKind::Equipment => unit == QuantityUnit::Hour || unit == QuantityUnit::Day,
            ContributionKind::Data => unit == QuantityUnit::Dataset,
        }
    }
}

/// What a quantity counts: hours or days (two decimals) or datasets (whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityUnit {
    Hour,
    Day,
    Dataset,
}

impl QuantityUnit {
    pub const ALL: [QuantityUnit; 3] =
        [QuantityUnit::Hour, QuantityUnit::Day, QuantityUnit::Dataset];

    pub fn as_str(self) -> &'static str {
        match self {
            QuantityUnit::Hour => "hour",
            QuantityUnit::Day => "day",
            QuantityUnit::Dataset => "dataset",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|unit| unit.as_str() == text)
    }

    /// The declared unit that measures this quantity.
    pub fn unit(self) -> Unit {
        let (code, scale) = match self {
            QuantityUnit::Hour => ("HOUR", 2),
            QuantityUnit::Day => ("DAY", 2),
            QuantityUnit::Dataset => ("ITEM", 0),
        };
        Unit::from_stored(code.to_owned(), scale, UnitKind::NonMonetary)
    }

    /// Parses a positive quantity such as `"12.5"` (hours) or `"1"` (dataset).
    pub fn parse_quantity(self, text: &str) -> Result<Amount, AmountError> {
        Amount::parse(text, &self.unit())
    }

    pub fn format_quantity(self, minor: i64) -> String {
        self.unit().format_minor(minor)
    }
}

/// A rate as the selection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCandidate {
    pub id: String,
    pub kind: ContributionKind,
    /// Narrowing scopes; `None` applies to every value.
    pub skill: Option<String>,
    pub equipment: Option<String>,
    pub agent: Option<String>,
    pub per: QuantityUnit,
    pub effective_from: NaiveDate,
}

/// What a contribution offers for rate selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionFacts<'a> {
    pub kind: ContributionKind,
    pub unit: QuantityUnit,
    pub date: NaiveDate,
    pub agent: &'a str,
    pub skill: Option<&'a str>,
    pub equipment: Option<&'a str>,
}

impl RateCandidate {
    /// Whether the rate can value the contribution at all.
    fn applies_to(&self, facts: &ContributionFacts<'_>) -> bool {
        let scope_matches = |scope: &Option<String>, value: Option<&str>| {
            scope.as_deref().is_none_or(|s| Some(s) == value)
        };
        self.kind == facts.kind
            && self.per == facts.unit
            && self.effective_from <= facts.date
            && scope_matches(&self.agent, Some(facts.agent))
            && scope_matches(&self.skill, facts.skill)
            && scope_matches(&self.equipment, facts.equipment)
    }

    /// How narrowly the rate is scoped: an agent's own rate is the most
    /// specific, then a named equipment item or skill, then the kind alone.
    fn specificity(&self) -> u8 {
        4 * u8::from(self.agent.is_some())
            + 2 * u8::from(self.equipment.is_some())
            + u8::from(self.skill.is_some())
    }
}

/// The rate in force for a contribution: among the rates that apply on its
/// date, the most specific, then the most recent. Ties cannot happen: one
/// scope has one rate per start date.
pub fn select_rate<'a>(
    rates: &'a [RateCandidate],
    facts: &ContributionFacts<'_>,
) -> Option<&'a RateCandidate> {
    rates
        .iter()
        .filter(|rate| rate.applies_to(facts))
        .max_by(|a, b| {
            (a.specificity(), a.effective_from, &a.id).cmp(&(
                b.specificity(),
                b.effective_from,
                &b.id,
            ))
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValuationError {
    #[error("the value does not fit in the largest amount a posting may carry")]
    TooLarge,
}

/// Value = quantity x rate, in the currency's minor units. The product is
/// exact; only when it has more decimals than the currency is it rounded,
/// half to even (banker's rounding), which is stated with every value.
pub fn value(
    quantity: Amount,
    quantity_unit: QuantityUnit,
    rate_minor: i64,
    currency: &Unit,
) -> Result<i64, ValuationError> {
    let too_large = ValuationError::TooLarge;
    let quantity =
        Decimal::try_new(quantity.minor(), quantity_unit.unit().scale()).map_err(|_| too_large)?;
    let rate = Decimal::try_new(rate_minor, currency.scale()).map_err(|_| too_large)?;
    // A product past the 96 bits of a decimal (which `checked_mul` refuses,
    // or rounds only when it is already some 10^22 units) is far above the
    // largest amount either way, so both are the same refusal.
    let exact = quantity.checked_mul(rate).ok_or(too_large)?;
    let rounded =
        exact.round_dp_with_strategy(currency.scale(), RoundingStrategy::MidpointNearestEven);
    // In minor units, from the mantissa: rounded holds at most the
    // currency's decimals, so this is exact.
    let shift = currency
        .scale()
        .checked_sub(rounded.scale())
        .ok_or(too_large)?;
    let minor = 10_i128
        .checked_pow(shift)
        .and_then(|factor| rounded.mantissa().checked_mul(factor))
        .and_then(|minor| i64::try_from(minor).ok())
        .ok_or(too_large)?;
    if minor > super::money::AMOUNT_MINOR_MAX {
        return Err(too_large);
    }
    Ok(minor)
}

/// Where a contribution stands after its reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributionStatus {
    Pending,
    Approved,
    Rejected,
}

impl ContributionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContributionStatus::Pending => "pending",
            ContributionStatus::Approved => "approved",
            ContributionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ContributionStatus::Pending,
            ContributionStatus::Approved,
            ContributionStatus::Rejected,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One rejection rejects; `required` distinct approvals approve.
pub fn status_after(approvals: usize, rejections: usize, required: usize) -> ContributionStatus {
    if rejections > 0 {
        ContributionStatus::Rejected
    } else if approvals >= required.max(1) {
        ContributionStatus::Approved
    } else {
        ContributionStatus::Pending
    }
}

/// A reviewer's decision on a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Decision::Approve),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::AMOUNT_MINOR_MAX;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn rate(id: &str, kind: ContributionKind, from: &str) -> RateCandidate {
        RateCandidate {
            id: id.to_owned(),
            kind,
            skill: None,
            equipment: None,
            agent: None,
            per: QuantityUnit::Hour,
            effective_from: date(from),
        }
    }

    fn facts(on: &str) -> ContributionFacts<'static> {
        ContributionFacts {
            kind: ContributionKind::Time,
            unit: QuantityUnit::Hour,
            date: date(on),
            agent: "alice",
            skill: Some("calibration"),
            equipment: None,
        }
    }

    #[test]
    fn the_rate_in_force_on_the_date_applies() {
        let rates = [
            rate("2026", ContributionKind::Time, "2026-01-01"),
            rate("june", ContributionKind::Time, "2026-06-01"),
        ];
        assert_eq!(
            select_rate(&rates, &facts("2026-05-31")).map(|r| r.id.as_str()),
            Some("2026")
        );
        assert_eq!(
            select_rate(&rates, &facts("2026-06-01")).map(|r| r.id.as_str()),
            Some("june")
        );
        assert_eq!(
            select_rate(&rates, &facts("2025-12-31")),
            None,
            "no rate before the first"
        );
    }

    #[test]
    fn the_most_specific_rate_wins_then_the_latest() {
        let mut skill = rate("skill", ContributionKind::Time, "2026-01-01");
        skill.skill = Some("calibration".to_owned());
        let mut other_skill = rate("other-skill", ContributionKind::Time, "2026-03-01");
        other_skill.skill = Some("soldering".to_owned());
        let mut alice = rate("alice", ContributionKind::Time, "2025-01-01");
        alice.agent = Some("alice".to_owned());
        let general = rate("general", ContributionKind::Time, "2026-02-01");
        let equipment = rate("equipment", ContributionKind::Equipment, "2026-01-01");
        let mut rates = vec![general.clone(), skill.clone(), other_skill, equipment];
        assert_eq!(
            select_rate(&rates, &facts("2026-04-01")).map(|r| r.id.as_str()),
            Some("skill"),
            "skill beats general"
        );
        rates.push(alice);
        assert_eq!(
            select_rate(&rates, &facts("2026-04-01")).map(|r| r.id.as_str()),
            Some("alice"),
            "the agent's own rate beats all"
        );
        let mut bob = facts("2026-04-01");
        bob.agent = "bob";
        bob.skill = None;
        assert_eq!(
            select_rate(&rates, &bob).map(|r| r.id.as_str()),
            Some("general"),
            "narrow rates apply only to their scope"
        );
        let mut days = facts("2026-04-01");
        days.unit = QuantityUnit::Day;
        assert_eq!(
            select_rate(&rates, &days),
            None,
            "a rate per hour does not value days"
        );
    }

    #[test]
    fn values_of_the_story() {
        let eur = Unit::lookup("EUR").expect("EUR");
        let hours = |text: &str| QuantityUnit::Hour.parse_quantity(text).expect("quantity");
        // (hours, rate in cents, value in cents, why)
        let cases = [
            ("12.5", 2_500, 31_250, "12.5 h at 25.00 = 312.50"),
            ("40", 300, 12_000, "40 h at 3.00 = 120.00"),
            ("0.01", 250, 2, "0.025 rounds half to even: 0.02"),
            ("0.03", 250, 8, "0.075 rounds half to even: 0.08"),
        ];
        for (quantity, rate, expected, why) in cases {
            assert_eq!(
                value(hours(quantity), QuantityUnit::Hour, rate, &eur),
                Ok(expected),
                "{why}"
            );
        }
        let one = QuantityUnit::Dataset
            .parse_quantity("1")
            .expect("one dataset");
        assert_eq!(
            value(one, QuantityUnit::Dataset, 50_000, &eur),
            Ok(50_000),
            "a dataset at 500.00"
        );
        assert!(
            value(
                hours("1000000"),
                QuantityUnit::Hour,
                100_000_000_000_000,
                &eur
            )
            .is_err(),
            "overflow is refused"
        );
    }

    #[test]
    fn valuations_beyond_a_decimal_are_refused_not_a_panic() {
        let jpy = Unit::lookup("JPY").expect("JPY");
        let most = Amount::from_minor(AMOUNT_MINOR_MAX).expect("the largest amount");
        // 10^15 datasets at 10^15 yen: 10^30 has no room in 96 bits at scale 0.
        assert_eq!(
            value(most, QuantityUnit::Dataset, AMOUNT_MINOR_MAX, &jpy),
            Err(ValuationError::TooLarge)
        );
        assert_eq!(
            value(most, QuantityUnit::Dataset, i64::MAX, &jpy),
            Err(ValuationError::TooLarge),
            "a rate of any i64"
        );
        let clf = Unit::from_stored("CLF".to_owned(), 4, UnitKind::Currency);
        assert_eq!(
            value(most, QuantityUnit::Hour, i64::MAX, &clf),
            Err(ValuationError::TooLarge),
            "a product rounded to fit a decimal is far above the limit too"
        );
        let one = Amount::from_minor(1).expect("one");
        assert_eq!(
            value(one, QuantityUnit::Dataset, AMOUNT_MINOR_MAX, &jpy),
            Ok(AMOUNT_MINOR_MAX),
            "the largest value is accepted"
        );
    }

    proptest::proptest! {
        /// Quantities and rates up to the largest amount, in currencies of
        /// scale 0, 2, 3 and 4: the valuation never panics, and is the exact
        /// product rounded half to even, or refused when that passes the
        /// largest amount.
        #[test]
        fn valuation_is_exact_or_too_large(
            quantity in proptest::prop_oneof![1..=AMOUNT_MINOR_MAX, 1..=100_000_i64, proptest::strategy::Just(AMOUNT_MINOR_MAX)],
            rate in proptest::prop_oneof![1..=AMOUNT_MINOR_MAX, 1..=100_000_i64, proptest::strategy::Just(AMOUNT_MINOR_MAX)],
            unit in proptest::sample::select(QuantityUnit::ALL.to_vec()),
            scale in proptest::sample::select(vec![0_u32, 2, 3, 4]),
        ) {
            let currency = Unit::from_stored("XTS".to_owned(), scale, UnitKind::Currency);
            let amount = Amount::from_minor(quantity).expect("in range");
            // quantity x 10^-q units x rate minor units: divide by 10^q, half to even.
            let product = i128::from(quantity) * i128::from(rate);
            let divisor = 10_i128.pow(unit.unit().scale());
            let (floor, remainder) = (product / divisor, product % divisor);
            let expected = match (2 * remainder).cmp(&divisor) {
                std::cmp::Ordering::Greater => floor + 1,
                std::cmp::Ordering::Equal if floor % 2 == 1 => floor + 1,
                _ => floor,
            };
            match value(amount, unit, rate, &currency) {
                Ok(minor) => proptest::prop_assert_eq!(i128::from(minor), expected),
                Err(ValuationError::TooLarge) => {
                    proptest::prop_assert!(expected > i128::from(AMOUNT_MINOR_MAX), "refused {expected}")
                }
            }
        }
    }

    #[test]
    fn value_accounts_count_what_stands() {
        let entry =
            |id: &str, kind, on: &str, status, minor: i64, supersedes: Option<&str>| ValueEntry {
                id: id.to_owned(),
                kind,
                date: date(on),
                status,
                value: Some((minor, "EUR".to_owned())),
                supersedes: supersedes.map(str::to_owned),
            };
        use ContributionKind::{Data, Time};
        use ContributionStatus::{Approved, Pending, Rejected};
        let entries = [
            entry("a", Time, "2026-03-02", Approved, 31_250, None),
            entry("b", Time, "2026-03-20", Pending, 5_000, None),
            entry("c", Data, "2026-04-01", Approved, 50_000, None),
            entry("d", Time, "2026-04-02", Rejected, 9_999, None),
            entry("e", Data, "2026-04-03", Approved, 10_000, None),
            entry("f", Data, "2026-04-03", Approved, 12_000, Some("e")),
        ];
        let summary = summarize(&entries);
        let time = summary.by_kind[&(Time, "EUR".to_owned())];
        assert_eq!(
            (
                time.approved,
                time.pending,
                time.approved_count,
                time.pending_count
            ),
            (31_250, 5_000, 1, 1)
        );
        let data = summary.by_kind[&(Data, "EUR".to_owned())];
        assert_eq!(
            data.approved, 62_000,
            "the approved correction replaces what it supersedes"
        );
        assert_eq!(
            summary.totals["EUR"].approved, 93_250,
            "rejected work counts nowhere"
        );
        assert_eq!(
            summary.by_period[&("2026-03".to_owned(), Time, "EUR".to_owned())].pending,
            5_000
        );
    }

    #[test]
    fn reviews_decide_the_status() {
        assert_eq!(status_after(0, 0, 1), ContributionStatus::Pending);
        assert_eq!(status_after(1, 0, 1), ContributionStatus::Approved);
        assert_eq!(status_after(1, 0, 2), ContributionStatus::Pending);
        assert_eq!(status_after(2, 0, 2), ContributionStatus::Approved);
        assert_eq!(status_after(1, 1, 1), ContributionStatus::Rejected);
    }
}

/// One contribution as a value account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueEntry {
    pub id: String,
    pub kind: ContributionKind,
    pub date: NaiveDate,
    pub status: ContributionStatus,
    /// Value in minor units and its currency; `None` when unvalued.
    pub value: Option<(i64, String)>,
    pub supersedes: Option<String>,
}

/// Sums of approved and pending value, with counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValueSums {
    pub approved: i128,
    pub pending: i128,
    pub approved_count: u64,
    pub pending_count: u64,
}

/// A value account's figures: per (kind, currency), per (period, kind,
/// currency) where the period is the calendar month, and per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueSummary {
    pub by_kind: std::collections::BTreeMap<(ContributionKind, String), ValueSums>,
    pub by_period: std::collections::BTreeMap<(String, ContributionKind, String), ValueSums>,
    pub totals: std::collections::BTreeMap<String, ValueSums>,
}

/// Sums contributions for a value account. Rejected ones do not count, nor
/// does an approved one once an approved correction supersedes it.
pub fn summarize(entries: &[ValueEntry]) -> ValueSummary {
    let replaced: std::collections::HashSet<&str> = entries
        .iter()
        .filter(|e| e.status == ContributionStatus::Approved)
        .filter_map(|e| e.supersedes.as_deref())
        .collect();
    let mut summary = ValueSummary::default();
    for entry in entries {
        let Some((minor, currency)) = &entry.value else {
            continue;
        };
        if entry.status == ContributionStatus::Rejected || replaced.contains(entry.id.as_str()) {
            continue;
        }
        let period = entry.date.format("%Y-%m").to_string();
        add(
            summary
                .by_kind
                .entry((entry.kind, currency.clone()))
                .or_default(),
            entry.status,
            *minor,
        );
        add(
            summary
                .by_period
                .entry((period, entry.kind, currency.clone()))
                .or_default(),
            entry.status,
            *minor,
        );
        add(
            summary.totals.entry(currency.clone()).or_default(),
            entry.status,
            *minor,
        );
    }
    summary
}

fn add(sums: &mut ValueSums, status: ContributionStatus, minor: i64) {
    match status {
        ContributionStatus::Approved => {
            sums.approved += i128::from(minor);
            sums.approved_count += 1;
        }
        ContributionStatus::Pending => {
            sums.pending += i128::from(minor);
            sums.pending_count += 1;
        }
        ContributionStatus::Rejected => {}
    }
}
