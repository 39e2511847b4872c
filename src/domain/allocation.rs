//! Redistribution rule sets and their apportionment: an ordered waterfall of
//! steps, each taking a share of the total or of what remains, paid to a
//! named account, pro rata to weighted contribution value, or equally among
//! active contributors. Money is apportioned in minor units by the
//! largest-remainder (Hamilton) method with a stable tie-break, using exact
//! integer arithmetic: the same inputs, in any order, give the same lines,
//! and lines plus residue always equal the amount.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::{AMOUNT_MINOR_MAX, Overflow, format_minor_wide};

/// Decimals kept in percentages and kind weights (e.g. `12.5`, `0.25`).
pub const FRACTION_SCALE: u32 = 4;
/// Most steps one rule set may hold.
pub const STEPS_MAX: usize = 20;
/// Largest percentage of a share or a cap: a step takes at most the whole of its base.
pub const PERCENT_MAX: i64 = 100;
/// Largest weight of a kind of contribution. Weights are relative: a
/// thousand to one between kinds is more than any rule needs, and the bound
/// keeps a weighted basis (value x weight x 10^4) small enough that the
/// products of the apportionment stay far inside 128-bit arithmetic for
/// ordinary figures.
pub const WEIGHT_MAX: i64 = 1_000;

/// Which base a step takes its share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// The run's whole amount.
    Total,
    /// What the earlier steps left.
    Remaining,
}

/// How much a step takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Share {
    /// A percentage (0 to 100) of the base.
    Percentage { percent: Decimal, of: Base },
    /// A fixed amount (a decimal string in the pool's currency), capped by what remains.
    Fixed { amount: Decimal },
}

/// A per-person cap on a step's lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Cap {
    /// At most this percentage of the step's amount.
    Percentage { percent: Decimal },
    /// At most this amount.
    Amount { amount: Decimal },
}

/// Who receives a step's amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Recipients {
    /// One named account of the project (e.g. `reserve`).
    Account { account: String },
    /// Contributors, pro rata to approved contribution value in the run's
    /// period, each kind weighted (a missing kind weighs 0).
    ProRata {
        weights: BTreeMap<String, Decimal>,
        cap: Option<Cap>,
        minimum: Option<Decimal>,
    },
    /// Contributors active in the period (an approved contribution), equally.
    EqualSplit {
        cap: Option<Cap>,
        minimum: Option<Decimal>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub share: Share,
    pub to: Recipients,
}

/// Where caps, minimums and rounding leave what they do not place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Residue {
    /// It stays in the pool.
    Pool,
    /// It goes to an account (usually the reserve).
    Account { account: String },
    /// It stays in the pool, marked to be carried into the next run.
    NextRun,
}

/// An immutable version of a project's redistribution rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    pub steps: Vec<Step>,
    pub residue: Residue,
}

/// A problem with a rule set, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleError {
    pub field: String,
    pub reason: String,
}

fn rule_error(field: String, reason: &str) -> RuleError {
    RuleError {
        field,
        reason: reason.to_owned(),
    }
}

/// Checks a percentage or a weight: between 0 and `max`, with at most
/// [`FRACTION_SCALE`] decimals.
fn check_fraction(field: String, value: Decimal, max: i64, errors: &mut Vec<RuleError>) {
    if value.is_sign_negative() || value > Decimal::from(max) {
        errors.push(rule_error(field, &format!("must be between 0 and {max}")));
    } else if value.scale() > FRACTION_SCALE && value.normalize().scale() > FRACTION_SCALE {
        errors.push(rule_error(
            field,
            &format!("at most {FRACTION_SCALE} decimals"),
        ));
    }
}

/// Checks an amount of a rule set (a fixed share, a cap, a minimum) in a
/// currency of `scale` decimals: positive, at most `scale` decimals, and at
/// most [`AMOUNT_MINOR_MAX`] minor units, the largest amount a posting may carry.
fn check_money(field: String, amount: Decimal, scale: u32, errors: &mut Vec<RuleError>) {
    if amount.is_sign_negative() || amount.is_zero() {
        errors.push(rule_error(field, "must be positive"));
    } else if amount.normalize().scale() > scale {
        errors.push(rule_error(
            field,
            &format!("has more decimals than the currency's {scale}"),
        ));
    } else if scaled(amount, scale).is_none_or(|minor| minor > i128::from(AMOUNT_MINOR_MAX)) {
        errors.push(rule_error(
            field,
            &format!(
                "must be at most {} ({AMOUNT_MINOR_MAX} minor units, the largest amount)",
                format_minor_wide(i128::from(AMOUNT_MINOR_MAX), scale)
            ),
        ));
    }
}

impl RuleSet {
    /// Checks the rule set against the currency's scale and the accounts
    /// that exist: every offending field is reported.
    pub fn validate(
        &self,
        scale: u32,
        account_exists: impl Fn(&str) -> bool,
    ) -> Result<(), Vec<RuleError>> {
        let mut errors = Vec::new();
        if self.steps.is_empty() {
            errors.push(rule_error(
                "steps".to_owned(),
                "a waterfall has at least one step",
            ));
        }
        if self.steps.len() > STEPS_MAX {
            errors.push(rule_error(
                "steps".to_owned(),
                &format!("at most {STEPS_MAX} steps"),
            ));
        }
        let mut total_percent = Decimal::ZERO;
        let money = |field: String, amount: Decimal, errors: &mut Vec<RuleError>| {
            check_money(field, amount, scale, errors)
        };
        for (index, step) in self.steps.iter().enumerate() {
            let at = |name: &str| format!("steps[{index}].{name}");
            match &step.share {
                Share::Percentage { percent, of } => {
                    check_fraction(at("share.percent"), *percent, PERCENT_MAX, &mut errors);
                    if *of == Base::Total {
                        // Only compared with 100: a sum past what a decimal
                        // holds is above it all the same, so saturating is exact.
                        total_percent = total_percent.saturating_add(*percent);
                    }
                }
                Share::Fixed { amount } => money(at("share.amount"), *amount, &mut errors),
            }
            let (cap, minimum) = match &step.to {
                Recipients::Account { account } => {
                    if !account_exists(account) {
                        errors.push(rule_error(
                            at("to.account"),
                            &format!("no account `{account}` in this project"),
                        ));
                    }
                    (None, None)
                }
                Recipients::ProRata {
                    weights,
                    cap,
                    minimum,
                } => {
                    if weights.is_empty() || weights.values().all(Decimal::is_zero) {
                        errors.push(rule_error(
                            at("to.weights"),
                            "give at least one kind a positive weight",
                        ));
                    }
                    for (kind, weight) in weights {
                        if !matches!(kind.as_str(), "time" | "equipment" | "data") {
                            errors.push(rule_error(
                                at(&format!("to.weights.{kind}")),
                                "kinds are time, equipment and data",
                            ));
                        }
                        check_fraction(
                            at(&format!("to.weights.{kind}")),
                            *weight,
                            WEIGHT_MAX,
                            &mut errors,
                        );
                    }
                    (cap.as_ref(), minimum.as_ref())
                }
                Recipients::EqualSplit { cap, minimum } => (cap.as_ref(), minimum.as_ref()),
            };
            match cap {
                Some(Cap::Percentage { percent }) => {
                    check_fraction(at("to.cap.percent"), *percent, PERCENT_MAX, &mut errors);
                }
                Some(Cap::Amount { amount }) => money(at("to.cap.amount"), *amount, &mut errors),
                None => {}
            }
            if let Some(minimum) = minimum {
                money(at("to.minimum"), *minimum, &mut errors);
            }
        }
        if total_percent > Decimal::from(PERCENT_MAX) {
            errors.push(rule_error(
                "steps".to_owned(),
                "percentages of the total add up to more than 100",
            ));
        }
        if let Residue::Account { account } = &self.residue
            && !account_exists(account)
        {
            errors.push(rule_error(
                "residue.account".to_owned(),
                &format!("no account `{account}` in this project"),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A contributor's basis for one run: approved value per kind, in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    pub agent: String,
    pub value_by_kind: BTreeMap<String, i64>,
}

/// One recipient line of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub agent: String,
    /// Weighted basis in minor units x 10^4 (pro rata), or 1 (equal split).
    pub weight: i128,
    /// Exact share as `numerator / denominator` minor units.
    pub share_numerator: i128,
    pub share_denominator: i128,
    /// The line's amount in minor units after rounding, caps and minimums.
    pub amount: i64,
    /// +1 when the largest-remainder method gave this line the extra unit.
    pub rounding_adjustment: i64,
    /// What the cap took off (to residue).
    pub capped_by: i64,
    /// Whether the line fell below the minimum payout and went to residue.
    pub dropped: bool,
}

/// What one step placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub index: usize,
    /// The step's amount in minor units.
    pub amount: i64,
    /// For an account step: the account paid.
    pub account: Option<String>,
    pub lines: Vec<Line>,
    /// What caps, minimums and a lack of recipients left unplaced.
    pub residue: i64,
}

/// A whole run's apportionment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub amount: i64,
    pub steps: Vec<StepResult>,
    /// Unplaced: step residues plus what no step took.
    pub residue: i64,
}

impl Plan {
    /// Each agent's total over all steps, in minor units (only non-zero).
    pub fn payments(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for line in self.steps.iter().flat_map(|s| &s.lines) {
            if line.amount > 0 {
                *out.entry(line.agent.clone()).or_insert(0) += line.amount;
            }
        }
        out
    }

    /// Amounts paid to named accounts by account steps.
    pub fn account_payments(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for step in &self.steps {
            if let Some(account) = &step.account {
                *out.entry(account.clone()).or_insert(0) += step.amount;
            }
        }
        out
    }
}

/// `value` (a decimal) as an integer count of 10^-scale, truncated toward
/// zero. Computed from the decimal's mantissa (at most 96 bits) and a power
/// of ten, never by multiplying decimals, so no input can make it panic.
fn scaled(value: Decimal, scale: u32) -> Option<i128> {
    let mantissa = value.mantissa();
    let own = value.scale();
    if scale >= own {
        mantissa.checked_mul(10_i128.checked_pow(scale - own)?)
    } else {
        Some(mantissa / 10_i128.checked_pow(own - scale)?)
    }
}

/// A rule set's amount in minor units of a currency with `scale` decimals.
fn to_minor(value: Decimal, scale: u32) -> Result<i64, Overflow> {
    scaled(value, scale)
        .and_then(|minor| i64::try_from(minor).ok())
        .ok_or(Overflow("an amount of the rule set in minor units"))
}

/// `percent` % of `base` minor units, truncated.
fn percent_of(base: i64, percent: Decimal) -> Result<i64, Overflow> {
    let overflow = Overflow("a percentage of an amount");
    let basis_points = scaled(percent, FRACTION_SCALE).ok_or(overflow)?;
    let taken = i128::from(base).checked_mul(basis_points).ok_or(overflow)?
        / (i128::from(PERCENT_MAX) * 10_i128.pow(FRACTION_SCALE));
    i64::try_from(taken).map_err(|_| overflow)
}

/// The sum of the weights of a split.
fn total_weight(weights: &[(String, i128)]) -> Result<i128, Overflow> {
    weights.iter().try_fold(0_i128, |total, (_, weight)| {
        total
            .checked_add(*weight)
            .ok_or(Overflow("the sum of the weights"))
    })
}

/// `amount` x `weight`: the numerator of an exact share (over the total weight).
fn share_numerator(amount: i64, weight: i128) -> Result<i128, Overflow> {
    i128::from(amount).checked_mul(weight).ok_or(Overflow(
        "a share (the amount x a contributor's weighted value)",
    ))
}

/// Splits `amount` minor units among `weights` by the largest-remainder
/// method: each gets the floor of its exact share, and the units left go to
/// the largest remainders, ties broken by larger weight, then agent id.
pub fn largest_remainder(
    amount: i64,
    weights: &[(String, i128)],
) -> Result<Vec<(i64, i64)>, Overflow> {
    let total = total_weight(weights)?;
    if total <= 0 || amount <= 0 {
        return Ok(weights.iter().map(|_| (0, 0)).collect());
    }
    let mut floors = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (_, weight) in weights {
        let numerator = share_numerator(amount, *weight)?;
        floors.push(
            i64::try_from(numerator / total).map_err(|_| Overflow("a share in minor units"))?,
        );
        remainders.push(numerator % total);
    }
    let placed = floors.iter().try_fold(0_i64, |sum, floor| {
        sum.checked_add(*floor)
            .ok_or(Overflow("the sum of the lines"))
    })?;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        remainders[b]
            .cmp(&remainders[a])
            .then(weights[b].1.cmp(&weights[a].1))
            .then(weights[a].0.cmp(&weights[b].0))
    });
    let left = amount
        .checked_sub(placed)
        .ok_or(Overflow("the units left after the floors"))?;
    let mut adjustments = vec![0_i64; weights.len()];
    // Fewer units are left than there are lines, so each index is in range.
    for &i in order.iter().take(usize::try_from(left).unwrap_or(0)) {
        floors[i] += 1;
        adjustments[i] = 1;
    }
    Ok(floors.into_iter().zip(adjustments).collect())
}

/// Applies the rule set to `amount` minor units of a currency with `scale`
/// decimals, for contributors with the given bases. Every product and sum is
/// checked: a figure too large for exact arithmetic is an [`Overflow`], never
/// a wrapped, saturated or rounded result.
pub fn apportion(
    rules: &RuleSet,
    amount: i64,
    scale: u32,
    bases: &[Basis],
) -> Result<Plan, Overflow> {
    // Sorted by agent so the input order never matters.
    let mut bases: Vec<&Basis> = bases.iter().collect();
    bases.sort_by(|a, b| a.agent.cmp(&b.agent));
    bases.dedup_by(|a, b| a.agent == b.agent);
    let mut remaining = amount;
    let mut residue = 0_i64;
    let mut steps = Vec::with_capacity(rules.steps.len());
    for (index, step) in rules.steps.iter().enumerate() {
        let step_amount = match &step.share {
            Share::Percentage { percent, of } => {
                let base = if *of == Base::Total {
                    amount
                } else {
                    remaining
                };
                percent_of(base, *percent)?.min(remaining)
            }
            Share::Fixed { amount: fixed } => to_minor(*fixed, scale)?.min(remaining),
        };
        remaining = remaining
            .checked_sub(step_amount)
            .ok_or(Overflow("what remains of the amount"))?;
        let (account, lines, step_residue) = match &step.to {
            Recipients::Account { account } => (Some(account.clone()), Vec::new(), 0),
            Recipients::ProRata {
                weights,
                cap,
                minimum,
            } => {
                let weighted = weighted_bases(&bases, weights)?;
                let minimum = minimum.map(|m| to_minor(m, scale)).transpose()?;
                let (lines, residue) = split(step_amount, &weighted, cap.as_ref(), minimum, scale)?;
                (None, lines, residue)
            }
            Recipients::EqualSplit { cap, minimum } => {
                let active: Vec<(String, i128)> = bases
                    .iter()
                    .filter(|basis| basis.value_by_kind.values().any(|v| *v > 0))
                    .map(|basis| (basis.agent.clone(), 1))
                    .collect();
                let minimum = minimum.map(|m| to_minor(m, scale)).transpose()?;
                let (lines, residue) = split(step_amount, &active, cap.as_ref(), minimum, scale)?;
                (None, lines, residue)
            }
        };
        residue = residue
            .checked_add(step_residue)
            .ok_or(Overflow("the residue"))?;
        steps.push(StepResult {
            index,
            amount: step_amount,
            account,
            lines,
            residue: step_residue,
        });
    }
    Ok(Plan {
        amount,
        steps,
        residue: residue
            .checked_add(remaining)
            .ok_or(Overflow("the residue"))?,
    })
}

/// Each contributor's weighted basis for a pro-rata step: the sum over kinds
/// of value (minor units) x weight (in 10^-4), leaving out those at zero.
fn weighted_bases(
    bases: &[&Basis],
    weights: &BTreeMap<String, Decimal>,
) -> Result<Vec<(String, i128)>, Overflow> {
    let overflow = Overflow("a contributor's weighted value");
    let weights: BTreeMap<&str, i128> = weights
        .iter()
        .map(|(kind, weight)| {
            Ok((
                kind.as_str(),
                scaled(*weight, FRACTION_SCALE).ok_or(overflow)?,
            ))
        })
        .collect::<Result<_, Overflow>>()?;
    let mut weighted = Vec::with_capacity(bases.len());
    for basis in bases {
        let mut weight = 0_i128;
        for (kind, value) in &basis.value_by_kind {
            let kind_weight = weights.get(kind.as_str()).copied().unwrap_or(0);
            let term = i128::from(*value)
                .checked_mul(kind_weight)
                .ok_or(overflow)?;
            weight = weight.checked_add(term).ok_or(overflow)?;
        }
        if weight > 0 {
            weighted.push((basis.agent.clone(), weight));
        }
    }
    Ok(weighted)
}

/// `numerator` x 10^-`numerator_scale` / `denominator`, rounded half to
/// even to `numerator_scale` + `decimals` places, as a draft's explanation
/// shows it. Where a `Decimal` holds both numbers this is `Decimal` division
/// then `round_dp`, exactly as drafts always showed it; beyond (a share's
/// numerator may use 127 bits where a `Decimal` holds 96) it is exact long
/// division. `None` when the denominator is not positive or the quotient
/// itself does not fit a `Decimal`.
pub fn decimal_ratio(
    numerator: i128,
    numerator_scale: u32,
    denominator: i128,
    decimals: u32,
) -> Option<Decimal> {
    let places = numerator_scale.checked_add(decimals)?;
    if denominator <= 0 {
        return None;
    }
    let held = Decimal::try_from_i128_with_scale(numerator, numerator_scale)
        .ok()
        .zip(Decimal::try_from_i128_with_scale(denominator, 0).ok());
    if let Some(quotient) = held.and_then(|(n, d)| n.checked_div(d)) {
        return Some(quotient.round_dp(places));
    }
    long_division(numerator, numerator_scale, denominator, decimals)
}

/// [`decimal_ratio`] for any `i128`, by long division with each remainder
/// kept below the denominator: the quotient keeps only the decimals it
/// needs up to `decimals` (`25`, `12.5`), else is rounded half to even to
/// exactly that many.
fn long_division(
    numerator: i128,
    numerator_scale: u32,
    denominator: i128,
    decimals: u32,
) -> Option<Decimal> {
    let divisor = u128::try_from(denominator).ok().filter(|d| *d > 0)?;
    let dividend = numerator.unsigned_abs();
    let mut mantissa = dividend / divisor;
    let mut remainder = dividend % divisor;
    let mut places = 0;
    while remainder != 0 && places < decimals {
        let (digit, rest) = ten_times(remainder, divisor);
        mantissa = mantissa.checked_mul(10)?.checked_add(digit)?;
        remainder = rest;
        places += 1;
    }
    // remainder < divisor <= i128::MAX, so twice it still fits a u128.
    let twice = remainder * 2;
    if twice > divisor || (twice == divisor && mantissa % 2 == 1) {
        mantissa = mantissa.checked_add(1)?;
    }
    let magnitude = i128::try_from(mantissa).ok()?;
    let signed = if numerator < 0 { -magnitude } else { magnitude };
    Decimal::try_from_i128_with_scale(signed, numerator_scale.checked_add(places)?).ok()
}

/// `10 x remainder` divided by `divisor`: the next digit of a long division
/// and the new remainder, for `remainder < divisor`, without overflowing
/// even when the divisor is close to `u128::MAX / 2`.
fn ten_times(remainder: u128, divisor: u128) -> (u128, u128) {
    if let Some(product) = remainder.checked_mul(10) {
        return (product / divisor, product % divisor);
    }
    let (mut digit, mut rest) = (0, 0_u128);
    for _ in 0..10 {
        // rest < divisor and remainder < divisor <= 2^127: no overflow.
        let sum = rest + remainder;
        if sum >= divisor {
            rest = sum - divisor;
            digit += 1;
        } else {
            rest = sum;
        }
    }
    (digit, rest)
}

/// Apportions one step among weighted recipients, then applies the cap and
/// the minimum; what they remove is the step's residue.
fn split(
    amount: i64,
    weights: &[(String, i128)],
    cap: Option<&Cap>,
    minimum: Option<i64>,
    scale: u32,
) -> Result<(Vec<Line>, i64), Overflow> {
    if weights.is_empty() {
        return Ok((Vec::new(), amount));
    }
    let total = total_weight(weights)?;
    let cap_minor = cap
        .map(|cap| match cap {
            Cap::Percentage { percent } => percent_of(amount, *percent),
            Cap::Amount { amount } => to_minor(*amount, scale),
        })
        .transpose()?;
    let mut residue = 0_i64;
    let mut lines = Vec::with_capacity(weights.len());
    let overflow = Overflow("the residue of a step");
    for ((agent, weight), (rounded, adjustment)) in
        weights.iter().zip(largest_remainder(amount, weights)?)
    {
        let capped = cap_minor.map_or(rounded, |cap| rounded.min(cap));
        let dropped = minimum.is_some_and(|minimum| capped < minimum);
        let paid = if dropped { 0 } else { capped };
        let unpaid = rounded.checked_sub(paid).ok_or(overflow)?;
        residue = residue.checked_add(unpaid).ok_or(overflow)?;
        lines.push(Line {
            agent: agent.clone(),
            weight: *weight,
            share_numerator: share_numerator(amount, *weight)?,
            share_denominator: total,
            amount: paid,
            rounding_adjustment: adjustment,
            capped_by: rounded.checked_sub(capped).ok_or(overflow)?,
            dropped,
        });
    }
    Ok((lines, residue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).expect("decimal")
    }

    fn basis(agent: &str, kind: &str, value: i64) -> Basis {
        Basis {
            agent: agent.to_owned(),
            value_by_kind: BTreeMap::from([(kind.to_owned(), value)]),
        }
    }

    /// Rule set v1 of the story.
    fn story_rules() -> RuleSet {
        RuleSet {
            steps: vec![
                Step {
                    share: Share::Percentage {
                        percent: d("10"),
                        of: Base::Total,
                    },
                    to: Recipients::Account {
                        account: "reserve".to_owned(),
                    },
                },
                Step {
                    share: Share::Percentage {
                        percent: d("100"),
                        of: Base::Remaining,
                    },
                    to: Recipients::ProRata {
                        weights: BTreeMap::from([
                            ("time".to_owned(), d("1")),
                            ("equipment".to_owned(), d("1")),
                            ("data".to_owned(), d("1")),
                        ]),
                        cap: Some(Cap::Percentage { percent: d("40") }),
                        minimum: None,
                    },
                },
            ],
            residue: Residue::Pool,
        }
    }

    #[test]
    fn the_story_distribution_places_every_cent() {
        let bases = [
            basis("time", "time", 31_250),
            basis("equipment", "equipment", 12_000),
            basis("data", "data", 50_000),
        ];
        let plan = apportion(&story_rules(), 450_000, 2, &bases).expect("apportioned");
        assert_eq!(plan.account_payments()["reserve"], 45_000);
        let payments = plan.payments();
        assert_eq!(payments["time"], 135_724);
        assert_eq!(payments["equipment"], 52_118);
        assert_eq!(payments["data"], 162_000, "capped at 40 % of 4,050.00");
        assert_eq!(plan.residue, 55_158);
        assert_eq!(45_000 + 135_724 + 52_118 + 162_000 + 55_158, 450_000);
    }

    #[test]
    fn ties_go_to_the_larger_weight_then_the_agent_id() {
        assert_eq!(
            largest_remainder(10, &[("b".into(), 1), ("a".into(), 1), ("c".into(), 1)]),
            Ok(vec![(3, 0), (4, 1), (3, 0)])
        );
        assert_eq!(
            largest_remainder(2, &[("a".into(), 1), ("b".into(), 3)]),
            Ok(vec![(0, 0), (2, 1)]),
            "equal remainders (2 of 4 each): the larger weight wins"
        );
    }

    #[test]
    fn invalid_rule_sets_name_the_field() {
        let mut rules = story_rules();
        rules.steps[0].share = Share::Percentage {
            percent: d("101"),
            of: Base::Total,
        };
        rules.steps[0].to = Recipients::Account {
            account: "nowhere".to_owned(),
        };
        let errors = rules
            .validate(2, |account| account == "reserve")
            .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"steps[0].share.percent"), "{errors:?}");
        assert!(fields.contains(&"steps[0].to.account"), "{errors:?}");
        assert!(
            fields.contains(&"steps"),
            "more than 100 % of the total: {errors:?}"
        );
        let empty = RuleSet {
            steps: Vec::new(),
            residue: Residue::Pool,
        };
        assert!(
            empty.validate(2, |_| true).is_err(),
            "an empty waterfall is refused"
        );
        assert!(
            story_rules()
                .validate(2, |account| account == "reserve")
                .is_ok()
        );
    }

    proptest! {
        #[test]
        fn apportionment_properties(
            amount in 0i64..10_000_000,
            values in prop::collection::vec(0i64..1_000_000, 0..12),
            cap_percent in prop::option::of(1u32..=100),
            minimum in prop::option::of(1i64..5_000),
            seed in any::<u64>(),
        ) {
            let bases: Vec<Basis> = values.iter().enumerate().map(|(i, v)| basis(&format!("agent-{i:02}"), "time", *v)).collect();
            let rules = RuleSet {
                steps: vec![Step {
                    share: Share::Percentage { percent: Decimal::ONE_HUNDRED, of: Base::Total },
                    to: Recipients::ProRata {
                        weights: BTreeMap::from([("time".to_owned(), Decimal::ONE)]),
                        cap: cap_percent.map(|p| Cap::Percentage { percent: Decimal::from(p) }),
                        minimum: minimum.map(|m| Decimal::new(m, 2)),
                    },
                }],
                residue: Residue::Pool,
            };
            let plan = apportion(&rules, amount, 2, &bases).expect("ordinary figures apportion");
            let lines = &plan.steps[0].lines;
            let placed: i64 = lines.iter().map(|l| l.amount).sum();
            prop_assert_eq!(placed + plan.residue, amount, "lines plus residue equal the amount");
            let cap = cap_percent.map(|p| i128::from(amount) * i128::from(p) / 100);
            for line in lines {
                prop_assert!(line.amount >= 0);
                if let Some(cap) = cap {
                    prop_assert!(i128::from(line.amount) <= cap, "caps are respected");
                }
                if line.capped_by == 0 && !line.dropped {
                    // |amount - exact share| < 1 minor unit, in integers.
                    let error = (i128::from(line.amount) * line.share_denominator - line.share_numerator).abs();
                    prop_assert!(error < line.share_denominator, "within one minor unit of the exact share");
                }
            }
            // Any order of the same inputs gives the same lines.
            let mut shuffled = bases.clone();
            let len = shuffled.len().max(1);
            shuffled.rotate_left(usize::try_from(seed % len as u64).unwrap_or(0));
            shuffled.reverse();
            prop_assert_eq!(apportion(&rules, amount, 2, &shuffled), Ok(plan));
        }

        /// Rule sets within the stated limits, in currencies of scale 0, 2,
        /// 3 and 4, over amounts up to the largest and many contributors
        /// with values up to many times the largest: the apportionment never
        /// panics; when it answers, every minor unit is placed and no line is
        /// negative; it refuses only when a share really passes 128 bits.
        #[test]
        fn apportionment_at_the_limits_is_exact_or_an_overflow(
            (scale, rules) in rules_strategy(),
            amount in prop_oneof![0..=AMOUNT_MINOR_MAX, Just(AMOUNT_MINOR_MAX), 0..10_000_i64],
            values in prop::collection::vec(
                prop::collection::vec(value_strategy(), 3),
                0..=60,
            ),
        ) {
            prop_assert_eq!(rules.validate(scale, |_| true), Ok(()), "the strategy makes valid rule sets");
            let kinds = ["time", "equipment", "data"];
            let bases: Vec<Basis> = values
                .iter()
                .enumerate()
                .map(|(i, values)| Basis {
                    agent: format!("agent-{i:02}"),
                    value_by_kind: kinds.iter().map(|k| (*k).to_owned()).zip(values.iter().copied()).collect(),
                })
                .collect();
            match apportion(&rules, amount, scale, &bases) {
                Ok(plan) => {
                    let mut placed = 0_i128;
                    for step in &plan.steps {
                        prop_assert!(step.amount >= 0 && step.residue >= 0);
                        let lines: i128 = step.lines.iter().map(|l| i128::from(l.amount)).sum();
                        for line in &step.lines {
                            prop_assert!(line.amount >= 0, "no line is negative");
                        }
                        if step.account.is_some() {
                            placed += i128::from(step.amount);
                        } else {
                            prop_assert_eq!(lines + i128::from(step.residue), i128::from(step.amount), "a step places its amount");
                            placed += lines;
                        }
                    }
                    prop_assert!(plan.residue >= 0);
                    prop_assert_eq!(placed + i128::from(plan.residue), i128::from(amount), "lines plus residue equal the amount");
                }
                Err(overflow) => {
                    prop_assert!(
                        some_share_passes_128_bits(&rules, amount, &bases),
                        "refused without a share past 128 bits: {}", overflow
                    );
                }
            }
        }

        /// Long division, used where a `Decimal` cannot hold a share's
        /// numerator, gives the value `Decimal` division gives where it can:
        /// for a share (at most the step's amount, so at most the largest
        /// amount) or a percentage (at most 100) over a denominator up to 10^21.
        #[test]
        fn long_division_agrees_with_decimal_division(
            denominator in prop_oneof![1_i128..1_000, 1_i128..10_i128.pow(21)],
            quotient in prop_oneof![0_i128..=100, 0_i128..=i128::from(AMOUNT_MINOR_MAX)],
            remainder_seed in any::<u128>(),
            scale in prop::sample::select(vec![0_u32, 2, 3, 4]),
        ) {
            let remainder = i128::try_from(remainder_seed % denominator.unsigned_abs()).expect("below the denominator");
            let numerator = quotient * denominator + remainder;
            // Only where the old computation could hold the numerator.
            prop_assume!(numerator < 79_228_162_514_264_337_593_543_950_335);
            let before = (Decimal::from_i128_with_scale(numerator, scale)
                / Decimal::from_i128_with_scale(denominator, 0))
            .round_dp(scale + 4);
            let long = long_division(numerator, scale, denominator, 4).expect("fits");
            prop_assert_eq!(long.normalize(), before.normalize());
            prop_assert!(long.scale() <= before.scale().max(scale), "no more decimals than shown before");
            prop_assert_eq!(decimal_ratio(numerator, scale, denominator, 4), Some(before), "as drafts always showed it");
        }

        #[test]
        fn decimal_ratio_never_panics(
            numerator in any::<i128>(),
            denominator in any::<i128>(),
            scale in 0_u32..=4,
        ) {
            if let Some(ratio) = decimal_ratio(numerator, scale, denominator, 4) {
                prop_assert!(denominator > 0);
                prop_assert!(ratio.scale() <= scale + 4);
            }
        }
    }

    /// A pro-rata step whose rules are valid draws a share numerator of at
    /// most `amount` x a contributor's weighted value: whether that passes
    /// `i128`, computed independently of the apportionment.
    fn some_share_passes_128_bits(rules: &RuleSet, amount: i64, bases: &[Basis]) -> bool {
        rules.steps.iter().any(|step| match &step.to {
            Recipients::ProRata { weights, .. } => bases.iter().any(|basis| {
                let weight = basis
                    .value_by_kind
                    .iter()
                    .try_fold(0_i128, |sum, (kind, value)| {
                        let basis_points = weights
                            .get(kind)
                            .map_or(0, |w| (w * Decimal::from(10_000)).trunc().mantissa());
                        sum.checked_add(i128::from(*value).checked_mul(basis_points)?)
                    });
                weight
                    .and_then(|w| i128::from(amount).checked_mul(w))
                    .is_none()
            }),
            _ => false,
        })
    }

    /// Values of one contributor and kind: ordinary, up to the largest value
    /// of one contribution, or sums of many of those.
    fn value_strategy() -> impl Strategy<Value = i64> {
        prop_oneof![
            0..1_000_000_i64,
            0..=AMOUNT_MINOR_MAX,
            Just(AMOUNT_MINOR_MAX),
            (1..=9_000_i64).prop_map(|n| n * AMOUNT_MINOR_MAX),
        ]
    }

    /// A fraction with at most four decimals, between 0 and `max`.
    fn fraction(max: i64) -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (0..=max * 10_000).prop_map(|n| Decimal::new(n, FRACTION_SCALE)),
            Just(Decimal::from(max)),
            Just(Decimal::new(1, FRACTION_SCALE)),
        ]
    }

    /// An amount of a rule set in a currency of `scale` decimals, up to the largest.
    fn amount_of(minor: i64, scale: u32) -> Decimal {
        Decimal::new(minor, scale)
    }

    /// A valid step in a currency of `scale` decimals.
    fn step_strategy(scale: u32) -> impl Strategy<Value = Step> {
        let money = move || {
            prop_oneof![1..=AMOUNT_MINOR_MAX, Just(AMOUNT_MINOR_MAX), 1..=100_i64]
                .prop_map(move |minor| amount_of(minor, scale))
        };
        let share = prop_oneof![
            // At most 25 % of the total per step: four steps stay within 100 %.
            fraction(25).prop_map(|percent| Share::Percentage {
                percent,
                of: Base::Total
            }),
            fraction(100).prop_map(|percent| Share::Percentage {
                percent,
                of: Base::Remaining
            }),
            money().prop_map(|amount| Share::Fixed { amount }),
        ];
        let cap = prop::option::of(prop_oneof![
            fraction(100).prop_map(|percent| Cap::Percentage { percent }),
            money().prop_map(|amount| Cap::Amount { amount }),
        ]);
        let minimum = prop::option::of(money());
        let weights = (
            fraction(WEIGHT_MAX),
            fraction(WEIGHT_MAX),
            fraction(WEIGHT_MAX),
        );
        (share, 0..3_u8, cap, minimum, weights).prop_map(
            |(share, to, cap, minimum, (time, equipment, data))| {
                let to = match to {
                    0 => Recipients::Account {
                        account: "reserve".to_owned(),
                    },
                    1 => Recipients::ProRata {
                        weights: BTreeMap::from([
                            ("time".to_owned(), time.max(Decimal::ONE)),
                            ("equipment".to_owned(), equipment),
                            ("data".to_owned(), data),
                        ]),
                        cap,
                        minimum,
                    },
                    _ => Recipients::EqualSplit { cap, minimum },
                };
                Step { share, to }
            },
        )
    }

    /// A currency scale and a valid rule set in it.
    fn rules_strategy() -> impl Strategy<Value = (u32, RuleSet)> {
        prop::sample::select(vec![0_u32, 2, 3, 4]).prop_flat_map(|scale| {
            (
                Just(scale),
                prop::collection::vec(step_strategy(scale), 1..=4).prop_map(|steps| RuleSet {
                    steps,
                    residue: Residue::Pool,
                }),
            )
        })
    }

    #[test]
    fn amounts_beyond_64_bits_are_an_overflow_not_a_panic() {
        // The reproduction: the largest decimal as a fixed share used to
        // panic in `value * 10^scale`.
        let largest = Decimal::MAX;
        for scale in [0, 2, 3, 4] {
            assert_eq!(
                to_minor(largest, scale),
                Err(Overflow("an amount of the rule set in minor units")),
                "scale {scale}"
            );
        }
        let fixed = RuleSet {
            steps: vec![Step {
                share: Share::Fixed { amount: largest },
                to: Recipients::Account {
                    account: "reserve".to_owned(),
                },
            }],
            residue: Residue::Pool,
        };
        assert!(apportion(&fixed, 100, 2, &[]).is_err(), "a fixed share");
        let mut capped = story_rules();
        capped.steps[1].to = Recipients::ProRata {
            weights: BTreeMap::from([("time".to_owned(), Decimal::ONE)]),
            cap: Some(Cap::Amount { amount: largest }),
            minimum: None,
        };
        let bases = [basis("a", "time", 100)];
        assert!(apportion(&capped, 100, 2, &bases).is_err(), "a cap amount");
        capped.steps[1].to = Recipients::EqualSplit {
            cap: None,
            minimum: Some(largest),
        };
        assert!(apportion(&capped, 100, 2, &bases).is_err(), "a minimum");
    }

    #[test]
    fn a_percentage_beyond_its_range_is_an_overflow_not_a_panic() {
        let rules = RuleSet {
            steps: vec![Step {
                share: Share::Percentage {
                    percent: Decimal::MAX,
                    of: Base::Total,
                },
                to: Recipients::Account {
                    account: "reserve".to_owned(),
                },
            }],
            residue: Residue::Pool,
        };
        assert_eq!(
            apportion(&rules, AMOUNT_MINOR_MAX, 2, &[]),
            Err(Overflow("a percentage of an amount"))
        );
        assert_eq!(percent_of(i64::MAX, Decimal::ONE_HUNDRED), Ok(i64::MAX));
    }

    #[test]
    fn a_weighted_value_beyond_128_bits_is_an_overflow() {
        let rules = |weight: Decimal| RuleSet {
            steps: vec![Step {
                share: Share::Percentage {
                    percent: Decimal::ONE_HUNDRED,
                    of: Base::Total,
                },
                to: Recipients::ProRata {
                    weights: BTreeMap::from([("time".to_owned(), weight)]),
                    cap: None,
                    minimum: None,
                },
            }],
            residue: Residue::Pool,
        };
        let bases = [basis("a", "time", i64::MAX)];
        assert_eq!(
            apportion(&rules(Decimal::MAX), 1, 2, &bases),
            Err(Overflow("a contributor's weighted value")),
            "value x weight"
        );
        // The IDR case: 18 contributions of the largest value, weight 1000,
        // over ten trillion rupiah.
        let bases = [
            basis("a", "time", 18 * AMOUNT_MINOR_MAX),
            basis("b", "time", 1),
        ];
        assert_eq!(
            apportion(
                &rules(Decimal::from(WEIGHT_MAX)),
                AMOUNT_MINOR_MAX,
                2,
                &bases
            ),
            Err(Overflow(
                "a share (the amount x a contributor's weighted value)"
            )),
            "amount x weight"
        );
        let bases = [
            basis("a", "time", 17 * AMOUNT_MINOR_MAX),
            basis("b", "time", 1),
        ];
        let plan = apportion(
            &rules(Decimal::from(WEIGHT_MAX)),
            AMOUNT_MINOR_MAX,
            2,
            &bases,
        )
        .expect("17 contributions of the largest value fit");
        assert_eq!(
            plan.payments(),
            BTreeMap::from([("a".to_owned(), AMOUNT_MINOR_MAX)]),
            "b's share is far below a cent; the unit left goes to a"
        );
        assert_eq!(plan.residue, 0);
    }

    #[test]
    fn a_sum_of_weights_beyond_128_bits_is_an_overflow() {
        let weights = [("a".to_owned(), i128::MAX), ("b".to_owned(), 1)];
        assert_eq!(
            largest_remainder(1, &weights),
            Err(Overflow("the sum of the weights"))
        );
        let weights = [("a".to_owned(), i128::MAX / 2), ("b".to_owned(), 1)];
        assert_eq!(
            largest_remainder(3, &weights),
            Err(Overflow(
                "a share (the amount x a contributor's weighted value)"
            ))
        );
        assert_eq!(largest_remainder(1, &weights), Ok(vec![(1, 1), (0, 0)]));
    }

    #[test]
    fn rule_set_amounts_are_bounded_by_the_largest_amount() {
        for (scale, largest) in [
            (0, "1000000000000000"),
            (2, "10000000000000.00"),
            (3, "1000000000000.000"),
            (4, "100000000000.0000"),
        ] {
            let with = |amount: Decimal| RuleSet {
                steps: vec![
                    Step {
                        share: Share::Fixed { amount },
                        to: Recipients::Account {
                            account: "reserve".to_owned(),
                        },
                    },
                    Step {
                        share: Share::Fixed { amount },
                        to: Recipients::EqualSplit {
                            cap: Some(Cap::Amount { amount }),
                            minimum: Some(amount),
                        },
                    },
                ],
                residue: Residue::Pool,
            };
            assert_eq!(with(d(largest)).validate(scale, |_| true), Ok(()));
            let one_more = d(largest) + Decimal::new(1, scale);
            for amount in [one_more, Decimal::MAX] {
                let errors = with(amount)
                    .validate(scale, |_| true)
                    .expect_err("beyond the largest amount");
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(
                    fields,
                    [
                        "steps[0].share.amount",
                        "steps[1].share.amount",
                        "steps[1].to.cap.amount",
                        "steps[1].to.minimum"
                    ],
                    "{amount} at scale {scale}"
                );
                assert!(errors[0].reason.contains(largest), "{}", errors[0].reason);
            }
        }
    }

    #[test]
    fn percentages_too_large_for_a_decimal_sum_are_refused_without_a_panic() {
        let step = Step {
            share: Share::Percentage {
                percent: Decimal::MAX,
                of: Base::Total,
            },
            to: Recipients::Account {
                account: "reserve".to_owned(),
            },
        };
        let rules = RuleSet {
            steps: vec![step.clone(), step],
            residue: Residue::Pool,
        };
        let errors = rules.validate(2, |_| true).expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["steps[0].share.percent", "steps[1].share.percent", "steps"]
        );
    }

    #[test]
    fn decimal_ratio_divides_any_i128_exactly() {
        let ratio = |n: i128, s: u32, d: i128| decimal_ratio(n, s, d, 4).map(|r| r.to_string());
        assert_eq!(
            long_division(2, 0, 4, 4).map(|r| r.to_string()),
            Some("0.5".to_owned())
        );
        // (numerator, its scale, denominator, the ratio, why)
        let cases: [(i128, u32, i128, Option<&str>, &str); 15] = [
            (2, 0, 4, Some("0.50"), "as Decimal division shows it"),
            (25, 0, 100, Some("0.25"), ""),
            (100, 0, 3, Some("33.3333"), ""),
            (200, 0, 3, Some("66.6667"), ""),
            (5, 0, 100_000, Some("0.0000"), "half to even: down"),
            (15, 0, 100_000, Some("0.0002"), "half to even: up"),
            (999_995, 0, 1_000_000, Some("1.0000"), ""),
            (150, 2, 1, Some("1.50"), "the numerator's scale is kept"),
            (
                10_i128.pow(37),
                2,
                4 * 10_i128.pow(22),
                Some("2500000000000.00"),
                "a numerator past 96 bits: 10^37 / 4 x 10^22 in cents",
            ),
            (
                i128::MAX - 1,
                0,
                i128::MAX,
                Some("1.0000"),
                "a denominator so large that ten times a remainder passes u128",
            ),
            (i128::MAX / 3, 0, i128::MAX, Some("0.3333"), ""),
            (-1, 0, 3, Some("-0.3333"), ""),
            (1, 0, 0, None, "no division by zero"),
            (1, 0, -1, None, ""),
            (i128::MAX, 0, 1, None, "a quotient past a decimal"),
        ];
        for (numerator, scale, denominator, expected, why) in cases {
            assert_eq!(
                ratio(numerator, scale, denominator).as_deref(),
                expected,
                "{numerator} (scale {scale}) / {denominator}: {why}"
            );
        }
    }
}
