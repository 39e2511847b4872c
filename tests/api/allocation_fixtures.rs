//! Table tests from files: every case in fixtures/distributions/ gives a
//! rule set, a pool amount and approved contribution values, and the lines
//! and residue it must produce.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

use commons_ledger::domain::allocation::{Basis, RuleSet, apportion};

#[derive(Deserialize)]
struct Case {
    description: String,
    scale: u32,
    amount: String,
    rule_set: RuleSet,
    contributions: Vec<Contribution>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Contribution {
    agent: String,
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct Expected {
    payments: BTreeMap<String, String>,
    accounts: BTreeMap<String, String>,
    residue: String,
}

fn minor(text: &str, scale: u32) -> i64 {
    let value = Decimal::from_str(text).expect("decimal") * Decimal::from(10_i64.pow(scale));
    i64::try_from(value.trunc().mantissa() / 10_i128.pow(value.trunc().scale())).expect("fits")
}

#[test]
fn every_fixture_case_apportions_as_expected() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/distributions");
    let mut files: Vec<_> = std::fs::read_dir(&directory)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "the table covers ties, caps, minimums, no and one contributor, JPY and KWD"
    );
    for file in files {
        let case: Case =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("case");
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut bases: BTreeMap<String, Basis> = BTreeMap::new();
        for c in &case.contributions {
            let basis = bases.entry(c.agent.clone()).or_insert_with(|| Basis {
                agent: c.agent.clone(),
                value_by_kind: BTreeMap::new(),
            });
            *basis.value_by_kind.entry(c.kind.clone()).or_insert(0) += minor(&c.value, case.scale);
        }
        let bases: Vec<Basis> = bases.into_values().collect();
        let amount = minor(&case.amount, case.scale);
        let plan = apportion(&case.rule_set, amount, case.scale, &bases)
            .unwrap_or_else(|overflow| panic!("{name}: {overflow}"));
        let expected_payments: BTreeMap<String, i64> = case
            .expected
            .payments
            .iter()
            .map(|(k, v)| (k.clone(), minor(v, case.scale)))
            .collect();
        let expected_accounts: BTreeMap<String, i64> = case
            .expected
            .accounts
            .iter()
            .map(|(k, v)| (k.clone(), minor(v, case.scale)))
            .collect();
        assert_eq!(
            plan.payments(),
            expected_payments,
            "{name}: {}",
            case.description
        );
        assert_eq!(
            plan.account_payments(),
            expected_accounts,
            "{name}: accounts"
        );
        assert_eq!(
            plan.residue,
            minor(&case.expected.residue, case.scale),
            "{name}: residue"
        );
        let placed: i64 =
            plan.payments().values().sum::<i64>() + plan.account_payments().values().sum::<i64>();
        assert_eq!(
            placed + plan.residue,
            amount,
            "{name}: every minor unit is placed"
        );
    }
}
