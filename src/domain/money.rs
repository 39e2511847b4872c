//! Units (ISO 4217 currencies and declared non-monetary units) and exact amounts.
//!
//! An [`Amount`] is a positive count of a unit's minor units. It is parsed from a
//! decimal string, never rounded, and all arithmetic on it is checked.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The largest amount a single posting may carry, in minor units (10^15, i.e.
/// 10 trillion EUR). Bounding postings keeps every balance and every sum far
/// inside `i64`, so sums computed by the database cannot overflow in practice
/// and balances are still checked on every write.
pub const AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000_000;

/// Longest decimal string accepted for an amount (and for any other decimal
/// a request carries, such as a rule set's percentages and weights): anything
/// longer cannot be below [`AMOUNT_MINOR_MAX`] at any scale we support, even
/// with leading zeros, and is refused before parsing.
pub const AMOUNT_TEXT_LENGTH_MAX: usize = 40;

/// The shape of a decimal string on the wire: digits, optionally a point and
/// more digits; no sign, exponent, spaces or separators. Stated in the
/// OpenAPI document as the `pattern` of decimal fields.
pub const DECIMAL_TEXT_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?$";

/// An arithmetic result that does not fit the exact integer or decimal that
/// must hold it. Every operation on money, weights, rates, quantities and
/// shares is checked and reports this instead of wrapping, saturating or
/// panicking; the API answers it with 422 `arithmetic_overflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is too large to compute exactly")]
pub struct Overflow(pub &'static str);

/// Formats a signed count of minor units of any width as a decimal string
/// with exactly `scale` decimals (`-12.50`), as `Decimal` would, but for
/// every `i128`: sums of many postings may pass the 96 bits a `Decimal`
/// holds, and formatting must never fail.
pub fn format_minor_wide(minor: i128, scale: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let sign = if minor < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// Non-monetary units the service declares, with their fixed scales. Codes are
/// upper case so they can never collide with how a currency is spelt differently.
pub const DECLARED_UNITS: &[(&str, u32)] = &[("HOUR", 2), ("DAY", 2), ("ITEM", 0), ("KG", 3)];

/// Whether a unit is a currency or a declared non-monetary unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Currency,
    NonMonetary,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Currency => "currency",
            UnitKind::NonMonetary => "non_monetary",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "currency" => Some(UnitKind::Currency),
            "non_monetary" => Some(UnitKind::NonMonetary),
            _ => None,
        }
    }
}

/// A unit of account: its code and the number of decimals of its minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unit {
    code: String,
    scale: u32,
    kind: UnitKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("`{0}` is neither an ISO 4217 currency with a minor unit nor a declared unit")]
    Unknown(String),
}

impl Unit {
    /// Looks a code up among ISO 4217 currencies (scale from the `iso_currency`
    /// crate) and the declared non-monetary units. Codes are case-sensitive:
    /// `EUR`, not `eur`.
    pub fn lookup(code: &str) -> Result<Self, UnitError> {
        if let Some(&(declared, scale)) = DECLARED_UNITS.iter().find(|(c, _)| *c == code) {
            return Ok(Unit {
                code: declared.to_owned(),
                scale,
                kind: UnitKind::NonMonetary,
            });
        }
        let currency = iso_currency::Currency::from_code(code)
            .filter(|currency| currency.code() == code)
            .ok_or_else(|| UnitError::Unknown(code.to_owned()))?;
        // Precious metals, testing codes and the like have no minor unit: they
        // cannot be represented as integer minor units, so they are refused.
        let scale = currency
            .exponent()
            .ok_or_else(|| UnitError::Unknown(code.to_owned()))?;
        Ok(Unit {
            code: code.to_owned(),
            scale: u32::from(scale),
            kind: UnitKind::Currency,
        })
    }

    /// Rebuilds a unit as it was first recorded. The stored scale wins over the
    /// current tables, so a unit's scale never changes once used.
    pub fn from_stored(code: String, scale: u32, kind: UnitKind) -> Self {
        Unit { code, scale, kind }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    pub fn kind(&self) -> UnitKind {
        self.kind
    }

    /// Formats a signed count of minor units (a balance) as a decimal string
    /// with exactly this unit's scale, e.g. `-12.50`.
    pub fn format_minor(&self, minor: i64) -> String {
        format_minor_wide(i128::from(minor), self.scale)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("`{0}` is not a decimal number such as \"1250.00\"")]
    Malformed(String),
    #[error("`{text}` has more decimals than {unit} allows ({scale})")]
    Precision {
        text: String,
        unit: String,
        scale: u32,
    },
    #[error("amounts must be greater than zero, got `{0}`")]
    NotPositive(String),
    #[error("`{0}` exceeds the largest amount a posting may carry")]
    TooLarge(String),
}

impl AmountError {
    /// The stable problem code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AmountError::Malformed(_) => "amount_malformed",
            AmountError::Precision { .. } => "amount_precision",
            AmountError::NotPositive(_) => "amount_not_positive",
            AmountError::TooLarge(_) => "amount_too_large",
        }
    }
}

/// A strictly positive amount of some unit, held as minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// Parses a decimal string (`"1250.00"`, `"12.5"`, `"3"`) as a positive
    /// amount of `unit`. More decimals than the unit's scale are refused, not
    /// rounded, even when they are zeros; signs, exponents, spaces and
    /// separators are refused as malformed.
    pub fn parse(text: &str, unit: &Unit) -> Result<Self, AmountError> {
        let malformed = || AmountError::Malformed(text.to_owned());
        if text.len() > AMOUNT_TEXT_LENGTH_MAX {
            return Err(AmountError::TooLarge(text.to_owned()));
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (digits, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(malformed());
        }
        let decimals = fraction.map_or(0, str::len);
        if decimals > unit.scale as usize {
            return Err(AmountError::Precision {
                text: text.to_owned(),
                unit: unit.code.clone(),
                scale: unit.scale,
            });
        }
        let value =
            Decimal::from_str(digits).map_err(|_| AmountError::TooLarge(text.to_owned()))?;
        if negative || value.is_zero() {
            return Err(AmountError::NotPositive(text.to_owned()));
        }
        Self::from_decimal(value, unit).ok_or_else(|| AmountError::TooLarge(text.to_owned()))
    }

    /// Converts an exact decimal to minor units, or `None` when it does not fit.
    fn from_decimal(value: Decimal, unit: &Unit) -> Option<Self> {
        let factor = Decimal::from_i128_with_scale(10_i128.checked_pow(unit.scale)?, 0);
        let minor = value.checked_mul(factor)?;
        if !minor.fract().is_zero() {
            return None;
        }
        let minor = i64::try_from(minor.mantissa() / 10_i128.checked_pow(minor.scale())?).ok()?;
        Self::from_minor(minor)
    }

    /// An amount of `minor` minor units, if it is positive and within bounds.
    pub fn from_minor(minor: i64) -> Option<Self> {
        (minor > 0 && minor <= AMOUNT_MINOR_MAX).then_some(Amount(minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// The amount as a decimal string with exactly `unit`'s scale.
    pub fn format(self, unit: &Unit) -> String {
        unit.format_minor(self.0)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} minor units", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Unit {
        Unit::lookup("EUR").expect("EUR is ISO 4217")
    }

    #[test]
    fn iso_scales_come_from_the_currency_table() {
        assert_eq!(eur().scale(), 2);
        assert_eq!(Unit::lookup("JPY").expect("JPY").scale(), 0);
        assert_eq!(Unit::lookup("KWD").expect("KWD").scale(), 3);
        assert_eq!(
            Unit::lookup("HOUR").expect("HOUR").kind(),
            UnitKind::NonMonetary
        );
    }

    #[test]
    fn unknown_lowercase_and_metal_codes_are_refused() {
        for code in ["eur", "EURO", "", "XAU", "XXX", "ZZZ"] {
            assert!(Unit::lookup(code).is_err(), "{code} must be refused");
        }
    }

    #[test]
    fn parse_table() {
        let jpy = Unit::lookup("JPY").expect("JPY");
        let cases: &[(&str, &Unit, Result<i64, &str>)] = &[
            ("1250.00", &eur(), Ok(125_000)),
            ("12.5", &eur(), Ok(1_250)),
            ("3", &eur(), Ok(300)),
            ("0.01", &eur(), Ok(1)),
            ("007.10", &eur(), Ok(710)),
            ("100", &jpy, Ok(100)),
            ("100.0", &jpy, Err("amount_precision")),
            ("1.001", &eur(), Err("amount_precision")),
            ("1.000", &eur(), Err("amount_precision")),
            ("0", &eur(), Err("amount_not_positive")),
            ("0.00", &eur(), Err("amount_not_positive")),
            ("-5.00", &eur(), Err("amount_not_positive")),
            ("10000000000000.01", &eur(), Err("amount_too_large")),
            (
                "99999999999999999999999999999999",
                &eur(),
                Err("amount_too_large"),
            ),
            ("1e3", &eur(), Err("amount_malformed")),
            ("+1", &eur(), Err("amount_malformed")),
            (" 1", &eur(), Err("amount_malformed")),
            ("1,00", &eur(), Err("amount_malformed")),
            (".5", &eur(), Err("amount_malformed")),
            ("5.", &eur(), Err("amount_malformed")),
            ("", &eur(), Err("amount_malformed")),
            ("NaN", &eur(), Err("amount_malformed")),
        ];
        for (text, unit, expected) in cases {
            let got = Amount::parse(text, unit)
                .map(Amount::minor)
                .map_err(|e| e.code());
            assert_eq!(got, *expected, "parsing {text:?} as {}", unit.code());
        }
    }

    #[test]
    fn sums_past_a_decimal_are_formatted() {
        assert_eq!(
            format_minor_wide(i128::MAX, 2),
            "1701411834604692317316873037158841057.27"
        );
        assert_eq!(
            format_minor_wide(i128::MIN, 0),
            "-170141183460469231731687303715884105728"
        );
        assert_eq!(format_minor_wide(-5, 2), "-0.05");
        assert_eq!(format_minor_wide(0, 3), "0.000");
    }

    #[test]
    fn the_maximum_is_accepted_and_one_more_is_not() {
        assert_eq!(
            Amount::parse("10000000000000.00", &eur()).map(Amount::minor),
            Ok(AMOUNT_MINOR_MAX)
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in 1..=AMOUNT_MINOR_MAX, code in prop::sample::select(vec!["EUR", "JPY", "KWD", "HOUR"])) {
            let unit = Unit::lookup(code).expect("known unit");
            let amount = Amount::from_minor(minor).expect("in range");
            let text = amount.format(&unit);
            prop_assert_eq!(Amount::parse(&text, &unit), Ok(amount));
            let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
            prop_assert_eq!(decimals, unit.scale() as usize);
        }

        #[test]
        fn one_decimal_too_many_is_always_refused(minor in 1..=AMOUNT_MINOR_MAX, extra in 1u8..=9) {
            let unit = eur();
            let text = format!("{}{extra}", Amount::from_minor(minor).expect("in range").format(&unit));
            prop_assert_eq!(Amount::parse(&text, &unit).map_err(|e| e.code()), Err("amount_precision"));
        }

        /// The wide formatter prints what `Decimal` printed, for every i64
        /// and every scale a decimal has.
        #[test]
        fn wide_formatting_matches_decimal(minor in any::<i64>(), scale in 0_u32..=28) {
            prop_assert_eq!(format_minor_wide(i128::from(minor), scale), Decimal::new(minor, scale).to_string());
        }

        #[test]
        fn wide_formatting_matches_decimal_up_to_96_bits(minor in -(1_i128 << 96) + 1..(1_i128 << 96), scale in 0_u32..=4) {
            prop_assert_eq!(format_minor_wide(minor, scale), Decimal::from_i128_with_scale(minor, scale).to_string());
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,50}") {
            let _ = Amount::parse(&text, &eur());
        }
    }
}
